"""The split stage on Spark: the local engine's salted hash per Arrow batch, rows kept in order.

Every id goes through :func:`mlgate.data.split.holdout_mask`, the function the local engine
calls, so each row lands on the same side by construction. The batches go through
``mapInArrow`` rather than ``mapInPandas``: only the id column is converted to pandas, every
other column passes through as Arrow, so no type makes a round trip through pandas 3 (which
PySpark 4.3 does not fully support). Row order: each row carries its file and row index
(Spark's ``_metadata``), the output is range-sorted on them, and the part files are numbered
in that order, so reading a written dataset gives the rows in the order of the input (files in
path order, as pyarrow lists a dataset).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, StructField, StructType

from mlgate.data.split import holdout_mask
from mlgate.errors import DataError
from mlgate.io import atomic_dataset

SIDE = "__mlgate_holdout"
_FILE, _ROW = "__mlgate_file", "__mlgate_row"
# Per side: rows, sum of the target, whether the target takes two values.
Side = tuple[int, float, bool]


def _flagger(id_column: str, fraction: float, salt: str) -> Any:
    def flag(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            ids = batch.column(batch.schema.get_field_index(id_column)).to_pandas()
            mask = holdout_mask(ids.rename(id_column), fraction=fraction, salt=salt)
            yield batch.append_column(SIDE, pa.array(mask, type=pa.bool_()))

    return flag


def read_positioned(spark: SparkSession, path: str, id_column: str) -> DataFrame:
    """``path``'s rows with their position (file, row index); DataError on a missing id."""
    frame = spark.read.parquet(path).select(
        "*", F.col("_metadata.file_path").alias(_FILE), F.col("_metadata.row_index").alias(_ROW)
    )
    if frame.where(F.col(id_column).isNull()).limit(1).count():
        raise DataError(
            f"{path}: id column '{id_column}' has missing values; every row needs an id"
        )
    return frame


def flagged_rows(frame: DataFrame, id_column: str, *, fraction: float, salt: str) -> DataFrame:
    """``frame`` range-sorted on its position, with the holdout flag ``SIDE`` appended per
    Arrow batch. Sorting before the flag keeps the sort's sampling pass to two columns."""
    schema = StructType([*frame.schema.fields, StructField(SIDE, BooleanType(), False)])
    ordered = frame.orderBy(_FILE, _ROW)
    return ordered.mapInArrow(_flagger(id_column, fraction, salt), schema)


def side_summary(side: DataFrame, target: str) -> Side:
    """(rows, sum of the target, whether the target takes two values) of one written side."""
    row = side.agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.col(target).cast("double")).alias("s"),
        (F.min(target) != F.max(target)).alias("two"),
    ).first()
    if row is None or not row["n"]:
        return (0, 0.0, False)
    return (int(row["n"]), float(row["s"]), bool(row["two"]))


def write_sides(
    flagged: DataFrame,
    train_path: str,
    holdout_path: str,
    *,
    target: str,
    check: Callable[[Side, Side], None],
) -> tuple[Side, Side]:
    """Write both sides as Parquet datasets in input order, then ``check(train, holdout)``
    their summaries; only if it passes does each replace its target atomically (train first,
    then holdout: a kill between the two leaves a new train beside an old holdout, as two
    local-engine writes would). The summaries are read from the written files (two columns),
    so the flagging runs once, in the write."""
    ordered = flagged.sortWithinPartitions(SIDE, _FILE, _ROW).drop(_FILE, _ROW)
    spark = flagged.sparkSession
    with atomic_dataset(holdout_path) as holdout_tmp, atomic_dataset(train_path) as train_tmp:
        # One job writes both sides (a directory per flag value), then each moves into place.
        scratch = holdout_tmp.parent / "both"
        ordered.write.partitionBy(SIDE).parquet(str(scratch))
        parts = [scratch / f"{SIDE}=false", scratch / f"{SIDE}=true"]
        train, holdout = (
            side_summary(spark.read.parquet(str(p)), target) if p.is_dir() else (0, 0.0, False)
            for p in parts
        )
        check(train, holdout)
        parts[0].rename(train_tmp)
        parts[1].rename(holdout_tmp)
    return train, holdout
