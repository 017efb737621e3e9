"""Score the holdout inside Spark: one mapInPandas pass, the models broadcast.

Each output row keeps the row's label, one score per model and a bitmask of the slices the
row belongs to. The slice predicates run on the same pandas batch the model scores, with the
local engine's own :meth:`~mlgate.slices.Predicate.mask`, so a slice holds the same rows
under both engines; the later reductions group on the bitmask instead of re-reading columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlgate.errors import ParamsError
from mlgate.slices import Predicate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Bit 63 is the sign of a long; 62 slices is far beyond any params.yaml seen so far.
MAX_SLICES = 62


def read_rows(spark: SparkSession, path: str) -> DataFrame:
    """A Parquet file or a Parquet dataset directory (as Spark's writers leave it)."""
    return spark.read.parquet(path)


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

    spark = rows.sparkSession
    shared = spark.sparkContext.broadcast(dict(models))
    predicates = list(slices.values())
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


def _labels(column: pd.Series, target: str) -> np.ndarray:
    values = column.to_numpy()
    ok = (values == 0) | (values == 1)
    if not np.all(ok):
        bad = values[~ok][0]
        raise ValueError(f"holdout column '{target}' must hold 0/1 labels, found {bad!r}")
    return values.astype(np.int8)
