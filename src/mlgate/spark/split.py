"""The split stage on Spark: the local engine's salted hash, one task per Parquet row group.

Every id goes through :func:`mlgate.data.split.holdout_mask`, the function the local engine
calls, so each row lands on the same side by construction. Each task reads one row group with
pyarrow (:mod:`mlgate.spark.row_groups`), flags it, and writes its train rows and its holdout
rows as one part each, named by the group's position: reading a side's directory gives its
rows in the order of the input, with no shuffle. Timestamps are written in microseconds
(:func:`mlgate.spark.compat.micros`), Spark's resolution, so the Spark stages that read the
sides need no converted copy; nothing else changes type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mlgate.data.sample import parquet_files
from mlgate.data.split import check_fraction, holdout_mask, require_columns
from mlgate.errors import DataError
from mlgate.io import atomic_dataset, parquet_options
from mlgate.spark.compat import micros
from mlgate.spark.row_groups import RowGroup, map_row_groups, row_groups, write_part

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Per side: rows, sum of the target, whether the target takes two values.
Side = tuple[int, float, bool]


@dataclass(frozen=True)
class _Tally:
    """One side of one row group: rows, the target's sum, min and max."""

    rows: int = 0
    total: float = 0  # an exact int for integer targets (0/1 after validate)
    low: float | None = None
    high: float | None = None

    def __add__(self, other: _Tally) -> _Tally:
        lows = [v for v in (self.low, other.low) if v is not None]
        highs = [v for v in (self.high, other.high) if v is not None]
        return _Tally(
            self.rows + other.rows,
            self.total + other.total,
            min(lows) if lows else None,
            max(highs) if highs else None,
        )

    def side(self) -> Side:
        two = self.low is not None and self.high is not None and self.low != self.high
        return (self.rows, float(self.total), two)


@dataclass(frozen=True)
class _Task:
    id_column: str
    target: str
    fraction: float
    salt: str
    train_dir: str
    holdout_dir: str

    def __call__(self, group: RowGroup) -> tuple[int, _Tally, _Tally]:
        """(missing ids, train tally, holdout tally); writes nothing when an id is missing."""
        table = group.read()
        ids = table.column(self.id_column)
        if ids.null_count:
            return ids.null_count, _Tally(), _Tally()
        mask = holdout_mask(
            ids.to_pandas().rename(self.id_column), fraction=self.fraction, salt=self.salt
        )
        schema = micros(table.schema) or table.schema
        options = parquet_options(table.column_names)
        tallies = []
        for keep, directory in ((~mask, self.train_dir), (mask, self.holdout_dir)):
            side = table.filter(pa.array(keep)).cast(schema)
            tallies.append(_tally(side.column(self.target)))
            if side.num_rows:
                write_part(side, directory, group.part_name(), **options)
        return 0, tallies[0], tallies[1]


def _tally(target: pa.ChunkedArray) -> _Tally:
    if len(target) == target.null_count:
        return _Tally(rows=len(target))
    # Integer targets (0/1 after validate) sum exactly as Python ints, as pandas' int64 sum.
    total = pc.sum(target).as_py()
    low, high = pc.min_max(target).values()
    return _Tally(len(target), total, low.as_py(), high.as_py())


def split_source(
    spark: SparkSession,
    source: str,
    train_path: str,
    holdout_path: str,
    *,
    id_column: str,
    target: str,
    fraction: float,
    salt: str,
    check: Callable[[Side, Side], None],
) -> tuple[Side, Side]:
    """Split ``source`` into two Parquet datasets in input order, then ``check(train,
    holdout)``; only if it passes does each replace its target atomically (train first, then
    holdout: a kill between the two leaves a new train beside an old holdout, as two
    local-engine writes would)."""
    files = parquet_files(source)
    names = pq.read_schema(files[0]).names
    require_columns(names, {"data.id_column": id_column, "data.target": target}, source)
    try:
        check_fraction(fraction)  # here, not as a failed Spark task
    except ValueError as exc:
        raise DataError(f"{source}: {exc}") from exc
    groups = row_groups(files)
    with atomic_dataset(holdout_path) as holdout_tmp, atomic_dataset(train_path) as train_tmp:
        holdout_tmp.mkdir()
        train_tmp.mkdir()
        task = _Task(id_column, target, fraction, salt, str(train_tmp), str(holdout_tmp))
        results = map_row_groups(spark, groups, task)
        missing = sum(r[0] for r in results)
        if missing:
            raise DataError(
                f"{source}: id column '{id_column}' has {missing:,} missing values; "
                "every row needs an id"
            )
        train = sum((r[1] for r in results), _Tally()).side()
        holdout = sum((r[2] for r in results), _Tally()).side()
        check(train, holdout)
    return train, holdout
