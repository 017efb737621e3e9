"""The validate stage on Spark: the local engine's failure table and validated rows, exactly.

* Source: a Parquet file or a directory of them (no CSV: pandas infers a CSV column's type
  from the whole file, which a reader of chunks cannot reproduce; see :func:`source_files`).
  Every row carries its global position (files by name, then ``_metadata.row_index``) so
  failure rows are numbered as the local engine numbers them, whatever the partitioning.
* Row checks: each partition, sorted by position, is converted to pandas with the same
  pyarrow call as the local reader (after casting Spark's types back to the file's), given
  the whole table's dtypes, and checked with the contract's row checks in chunks.
* Dataset checks: row count, null counts, means and shares in one aggregation; duplicate ids
  by one groupBy. :mod:`mlgate.data.contract_batches` orders the merged failure table.
* Validated rows: each partition writes one Parquet part named by its first row's position,
  encoded as the local engine's single file; the range partitioning makes name order row
  order. pyarrow (not Spark's writer) writes them so the types are the local file's (Spark
  would write timestamps as microseconds, and nullable everything).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlgate.data.contract_batches import (
    KEY_COLUMNS,
    DatasetCheck,
    SplitContract,
    as_table_dtypes,
    merge_cases,
    null_sensitive_columns,
)
from mlgate.data.contract_failures import show_value
from mlgate.data.ingest import SUFFIXES, parquet_files, target_label
from mlgate.errors import DataError
from mlgate.spark.row_groups import PartWriter, RowGroup, map_row_groups, row_groups

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

POS = "_mlgate_pos"
CHUNK_ROWS = 200_000  # rows per pandera call: its per-call overhead stays small, memory too
CASES_SCHEMA = pa.schema(
    [("column", pa.string()), ("check", pa.string()), ("failure_case", pa.string())]
    + [("index", pa.int64())]
    + [(name, pa.int64()) for name in KEY_COLUMNS]
)


@dataclass(frozen=True)
class SparkValidation:
    passed: bool
    n_rows: int
    n_columns: int
    failure_cases: pd.DataFrame
    positives: int


@dataclass(frozen=True)
class _Task:
    """What each partition's task needs (pickled to the executors)."""

    split: SplitContract
    arrow_schema: pa.Schema
    nulls: dict[str, bool]
    na_values: tuple[str, ...]
    target: str
    positive_label: Any
    id_column: str
    out_dir: str | None


def source_files(source: str) -> list[Path]:
    """The Parquet file(s) of ``data.source``; DataError naming it for anything else."""
    path = Path(source)
    if path.is_dir():
        return parquet_files(path)
    if SUFFIXES.get(path.suffix.lower()) != "parquet":
        raise DataError(
            f"data.source {source}: compute.engine spark reads Parquet (a .parquet file or a "
            f"directory of them), not '{path.suffix}': pandas types a CSV column from the "
            "whole file, which no chunked reader reproduces. Convert it once (e.g. "
            "pandas.read_csv(...).to_parquet(...)) or set compute.engine: local"
        )
    if not path.exists():
        raise DataError(f"data source {path} does not exist (params.yaml: data.source)")
    return [path]


def _layout(files: list[Path]) -> tuple[pa.Schema, list[int]]:
    schema = pq.read_schema(files[0])
    counts = []
    for file in files:
        try:
            meta = pq.ParquetFile(file)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"data source {file} is not a readable Parquet file: {exc}") from exc
        if not meta.schema_arrow.equals(schema):
            raise DataError(
                f"data source {file.parent}: {file.name} is typed differently from "
                f"{files[0].name}; every file of a directory source must have the same schema"
            )
        counts.append(meta.metadata.num_rows)
    return schema, counts


def read_source(spark: SparkSession, files: list[Path], counts: list[int]) -> DataFrame:
    """The source with each row's global position in column ``POS``."""
    from pyspark.sql import functions as F

    starts = [0, *accumulate(counts)][:-1]
    offsets = spark.createDataFrame(
        [(f.name, int(s)) for f, s in zip(files, starts, strict=True)],
        "_mlgate_file string, _mlgate_offset long",
    )
    frame = spark.read.parquet(*[str(f.resolve()) for f in files])
    names = [_col(c) for c in frame.columns]
    frame = frame.select(
        *names,
        F.col("_metadata.file_name").alias("_mlgate_file"),
        F.col("_metadata.row_index").alias("_mlgate_row"),
    )
    frame = frame.join(F.broadcast(offsets), "_mlgate_file")
    return frame.select(*names, (F.col("_mlgate_offset") + F.col("_mlgate_row")).alias(POS))


def _col(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _equals(column: str, arrow_type: pa.DataType | None, value: Any) -> Column:
    """1 where the column equals ``value`` as pandas compares them, else 0 (null included).

    pandas compares across types without error ("1" == 1 is False); Spark in ANSI mode would
    raise or cast, so values of another kind never match here either.
    """
    from pyspark.sql import functions as F

    text = arrow_type is not None and (
        pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    )
    numeric = arrow_type is not None and (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_boolean(arrow_type)
    )
    if arrow_type is None or (text != isinstance(value, str)) or (not text and not numeric):
        return F.lit(0)
    if pa.types.is_boolean(arrow_type) and not isinstance(value, bool):
        return F.when(_col(column).cast("int") == F.lit(value), 1).otherwise(0)
    return F.when(_col(column) == F.lit(value), 1).otherwise(0)


def _aggregate(frame: DataFrame, task: _Task) -> dict[str, Any]:
    """Row count, nulls, the table checks' means and shares, positives: one Spark job."""
    from pyspark.sql import functions as F

    types = {f.name: f.type for f in task.arrow_schema}
    exprs = [F.count(F.lit(1)).alias("n")]
    for name in null_sensitive_columns(task.arrow_schema):
        exprs.append(F.sum(_col(name).isNull().cast("long")).alias(f"null:{name}"))
    for i, check in enumerate(task.split.dataset_checks):
        column = check.statistics.get("column")
        if not isinstance(column, str) or column not in types:
            continue
        if check.name == "column_mean_between":
            exprs.append(F.avg(_col(column).try_cast("double")).alias(f"check:{i}"))
        elif check.name == "value_share_between":
            hit = _equals(column, types[column], check.statistics["value"])
            exprs.append(F.sum(hit).alias(f"check:{i}"))
    if task.target in types:
        label = target_label(_pandas_kind(types[task.target]), task.positive_label)
        exprs.append(F.sum(_equals(task.target, types[task.target], label)).alias("positives"))
    return frame.agg(*exprs).collect()[0].asDict()


def _pandas_kind(arrow_type: pa.DataType) -> Any:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype()
    return None


def _frame_check_cases(aggregates: dict[str, Any], task: _Task) -> pd.DataFrame:
    """The failed table-level checks as failure cases (pandera reports a failed one as
    ``False`` on the table)."""
    n = int(aggregates["n"])
    rows = []
    for i, check in enumerate(task.split.dataset_checks):
        if check.column is not None:
            continue
        if not _frame_check_passed(check, aggregates.get(f"check:{i}"), n):
            rows.append(_case("<table>", check, show_value(False), None))
    return pd.DataFrame(rows)


def _frame_check_passed(check: DatasetCheck, value: Any, n: int) -> bool:
    stats = check.statistics
    if check.name == "min_rows":
        return n >= stats["min_value"]
    if value is None or (check.name == "value_share_between" and n == 0):
        return False  # the column is missing (or the table empty)
    mean = float(value) / n if check.name == "value_share_between" else float(value)
    return bool(stats["min_value"] <= mean <= stats["max_value"])


def _case(column: str, check: DatasetCheck, shown: str, index: int | None) -> dict[str, Any]:
    keys = dict(zip(KEY_COLUMNS, check.key, strict=True))
    case = {"column": column, "check": check.identifier, "failure_case": shown, "index": index}
    return case | keys


def _duplicate_cases(frame: DataFrame, task: _Task, nulls: dict[str, bool]) -> pd.DataFrame:
    """Rows whose value of a ``unique_values`` column occurs more than once (nulls aside, as
    pandera leaves nulls out of a check), as failure cases in row order."""
    from pyspark.sql import functions as F

    types = {f.name: f.type for f in task.arrow_schema}
    rows: list[dict[str, Any]] = []
    for check in task.split.dataset_checks:
        if check.column is None or check.column not in types:
            continue
        column = _col(check.column)
        # Values held by more than one row, by a count per value (a fixed-width hash
        # aggregate; collecting positions per value would fall back to sorting every key),
        # then the rows holding them by a semi join, which adaptive execution skips when
        # there are none.
        repeated = (
            frame.where(column.isNotNull())
            .groupBy(column.alias("_mlgate_v"))
            .count()
            .where(F.col("count") > 1)
            .select("_mlgate_v")
        )
        holders = frame.select(POS, column.alias("_mlgate_v"))
        table = (
            holders.join(repeated, "_mlgate_v", "left_semi")
            .orderBy(POS)
            .select(POS, "_mlgate_v")
            .toArrow()
            .rename_columns([POS, check.column])
        )
        values = table.select([check.column]).cast(
            pa.schema([task.arrow_schema.field(check.column)])
        )
        shown = as_table_dtypes(values.to_pandas(), nulls)[check.column]
        for pos, value in zip(table.column(POS).to_pylist(), shown, strict=True):
            rows.append(_case(check.column, check, show_value(value), int(pos)))
    return pd.DataFrame(rows)


def _as_local_frame(batch: pa.RecordBatch, start: int, task: _Task) -> pd.DataFrame:
    """Rows ``start``... of the table, as the local reader gives them within the whole table."""
    from mlgate.data.ingest import _blank_to_null

    data = pa.Table.from_batches([batch]).cast(task.arrow_schema)
    frame = data.to_pandas(split_blocks=True, self_destruct=True)
    frame.index = pd.RangeIndex(start, start + len(frame))
    return as_table_dtypes(_blank_to_null(frame, task.na_values), task.nulls)


def _check_group(group: RowGroup, task: _Task) -> pa.Table | None:
    """Row checks on one row group, in chunks: its failure cases, or None; when it passes and
    ``task.out_dir`` is set, its validated rows become the part named by its position."""
    from mlgate.data.contract import validate
    from mlgate.data.contract_batches import batch_cases
    from mlgate.data.ingest import binarise_target
    from mlgate.io import parquet_options

    cases: list[pa.Table] = []
    part = None if task.out_dir is None else PartWriter(task.out_dir, group.part_name())
    start = group.start
    try:
        with pq.ParquetFile(group.path) as handle:
            for batch in handle.iter_batches(batch_size=CHUNK_ROWS, row_groups=[group.index]):
                frame = _as_local_frame(batch, start, task)
                start += len(frame)
                result = validate(frame, task.split.row_schema, max_examples=0)
                if not result.passed:
                    found = batch_cases(frame, task.split)
                    found["index"] = found["index"].astype("Int64")
                    table = pa.Table.from_pandas(found, schema=CASES_SCHEMA, preserve_index=False)
                    cases.append(table)
                elif part is not None and not cases:
                    assert result.validated is not None
                    rows = binarise_target(
                        result.validated,
                        target=task.target,
                        positive_label=task.positive_label,
                        require_positive=False,
                    )
                    options = parquet_options(rows.columns, statistics=False,
                                              plain_columns=[task.id_column])  # fmt: skip
                    part.write(pa.Table.from_pandas(rows, preserve_index=False), **options)
    except BaseException:
        if part is not None:
            part.abandon()
        raise
    if part is not None:
        part.abandon() if cases else part.commit()
    return pa.concat_tables(cases) if cases else None


def validate_source(
    spark: SparkSession,
    source: str,
    split: SplitContract,
    *,
    na_values: tuple[str, ...],
    target: str,
    positive_label: Any,
    id_column: str,
    out_dir: Path | None,
) -> SparkValidation:
    """Check ``source`` against the contract (already split); with ``out_dir``, write the
    validated rows there as Parquet parts (complete only when the result passed)."""
    files = source_files(source)
    arrow_schema, counts = _layout(files)
    frame = read_source(spark, files, counts)
    out = None if out_dir is None else str(out_dir)
    task = _Task(split, arrow_schema, {}, tuple(na_values), target, positive_label, id_column, out)
    aggregates = _aggregate(frame, task)
    nulls = {
        name: bool(aggregates[f"null:{name}"]) for name in null_sensitive_columns(arrow_schema)
    }
    task = dataclasses.replace(task, nulls=nulls)
    parts = [_frame_check_cases(aggregates, task), _duplicate_cases(frame, task, nulls)]
    found = map_row_groups(spark, row_groups(files), functools.partial(_check_group, task=task))
    tables = [t for t in found if t is not None]
    parts.append((pa.concat_tables(tables) if tables else CASES_SCHEMA.empty_table()).to_pandas())
    cases = merge_cases(parts)
    return SparkValidation(
        passed=cases.empty,
        n_rows=int(aggregates["n"]),
        n_columns=len(arrow_schema),
        failure_cases=cases,
        positives=int(aggregates.get("positives") or 0),
    )


def target_values(spark: SparkSession, source: str, target: str) -> list[Any]:
    """A few distinct values of the target column (for the no-positive-row message)."""
    frame = spark.read.parquet(*[str(f.resolve()) for f in source_files(source)])
    return [
        row[0]
        for row in frame.select(_col(target))
        .where(_col(target).isNotNull())
        .distinct()
        .limit(10)
        .collect()
    ]
