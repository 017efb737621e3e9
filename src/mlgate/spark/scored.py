"""Score the holdout inside Spark: one mapInPandas pass, the models broadcast.

Each output row keeps the row's label, one score per model and a bitmask of the slices the
row belongs to. The slice predicates run on the same pandas batch the model scores, with the
local engine's own :meth:`~mlgate.slices.Predicate.mask`, so a slice holds the same rows
under both engines; the later reductions group on the bitmask instead of re-reading columns.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlgate.errors import DataError, ParamsError
from mlgate.slices import Predicate
from mlgate.spark.compat import spark_readable

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Rows per pandas batch. Spark's default (10,000) is below mlgate.scoring.TABLE_ROWS, where a
# boosted model's trees score as tables: 1e6 rows score+count in 12.5 s at 10,000 and 4.4 s at
# 100,000 (local[2]); a batch of the shipped table's columns is ~10 MB.
BATCH_ROWS = 100_000
_BATCH = "spark.sql.execution.arrow.maxRecordsPerBatch"
# Bit 63 is the sign of a long; 62 slices is far beyond any params.yaml seen so far.
MAX_SLICES = 62


def read_rows(spark: SparkSession, path: str, scratch: Path) -> DataFrame:
    """A Parquet file or a Parquet dataset directory (as Spark's writers leave it); a file the
    local engine wrote is read from a copy under ``scratch`` with nanosecond timestamps cast to
    microseconds (:func:`mlgate.spark.compat.spark_readable`). ``scratch`` must outlive the
    jobs that read the rows."""
    return spark.read.parquet(spark_readable(path, scratch))


def slice_bits(frame: pd.DataFrame, slices: Sequence[Predicate]) -> np.ndarray:
    """Per row, bit i set when slice i holds it (the predicates' own mask, null rules and all)."""
    bits = np.zeros(len(frame), dtype=np.int64)
    for i, predicate in enumerate(slices):
        bits |= predicate.mask(frame).astype(np.int64) << i
    return bits


def score_rows(
    rows: DataFrame,
    models: Mapping[str, Any],
    *,
    target: str,
    keep: Sequence[str] = (),
    slices: Mapping[str, Predicate],
) -> DataFrame:
    """``rows`` scored: columns ``keep``, ``label`` (byte 0/1), one double per model (named by
    its key) and ``slices`` (long bitmask, bit i = i-th slice of ``slices``)."""
    if len(slices) > MAX_SLICES:
        raise ParamsError(
            f"params.yaml: evaluate.slices has {len(slices)} slices; the Spark engine "
            f"supports at most {MAX_SLICES}"
        )
    from pyspark.sql.types import ByteType, DoubleType, LongType, StructField, StructType

    predicates = list(slices.values())
    _probe(rows, [target, *keep], predicates)
    spark = rows.sparkSession
    if not spark.sparkContext.getConf().contains(_BATCH):  # compute.spark.conf may set it
        spark.conf.set(_BATCH, str(BATCH_ROWS))
    shared = spark.sparkContext.broadcast(dict(models))
    fields = [rows.schema[name] for name in keep]
    fields += [StructField("label", ByteType(), False)]
    fields += [StructField(name, DoubleType(), False) for name in models]
    schema = StructType([*fields, StructField("slices", LongType(), False)])

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from mlgate.scoring import predict_scores

        loaded = shared.value
        for batch in batches:
            out = {name: batch[name] for name in keep}
            out["label"] = _labels(batch[target], target)
            for name, model in loaded.items():
                out[name] = predict_scores(model, batch)
            out["slices"] = slice_bits(batch, predicates)
            yield pd.DataFrame(out)

    return rows.mapInPandas(score, schema)


@contextmanager
def scored_holdout(
    spark: SparkSession,
    path: str,
    models: Mapping[str, Any],
    *,
    target: str,
    keep: Sequence[str] = (),
    slices: Mapping[str, Predicate],
) -> Iterator[DataFrame]:
    """:func:`score_rows` of the Parquet at ``path``, persisted: scored once, however many
    jobs read it while the context is open. On disk only: with MEMORY_AND_DISK Spark reads a
    spilled block back whole into the heap (at 3e7 holdout rows the gate's two scores ran a
    1 GiB heap out of memory), and scoring, not reading, is the cost being saved."""
    from pyspark import StorageLevel

    with tempfile.TemporaryDirectory(prefix="mlgate-spark-") as scratch:
        rows = read_rows(spark, path, Path(scratch))
        scored = score_rows(rows, models, target=target, keep=keep, slices=slices)
        scored = scored.persist(StorageLevel.DISK_ONLY)
        try:
            yield scored
        finally:
            scored.unpersist()


def _probe(rows: DataFrame, needed: Sequence[str], predicates: Sequence[Predicate]) -> None:
    """Fail at the driver, with the local engine's errors, before any row is scored: on an
    empty batch of the real schema, a missing column or a predicate the data refuses."""
    empty: pd.DataFrame = rows.limit(0).toPandas()  # type: ignore[assignment]
    lacking = [name for name in needed if name not in empty.columns]
    if lacking:
        raise DataError(
            f"holdout lacks column(s) {lacking} (data.target / data.id_column); "
            f"it has {list(empty.columns)}"
        )
    slice_bits(empty, predicates)


def _labels(column: pd.Series, target: str) -> np.ndarray:
    values = column.to_numpy()
    ok = (values == 0) | (values == 1)
    if not np.all(ok):
        bad = values[~ok][0]
        raise ValueError(f"holdout column '{target}' must hold 0/1 labels, found {bad!r}")
    return values.astype(np.int8)
