"""Scored rows reduced to exact counts per (slice bitmask, score, label), then per slice.

One groupBy serves the holdout and every slice: rows of the same slice membership, score and
label are interchangeable for every metric mlgate reports, so the driver receives one row per
distinct (membership, score, label) and splits it into per-slice tables with numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

Counts = tuple[np.ndarray, np.ndarray, np.ndarray]  # scores, labels (bool), counts (int64)


def score_counts(scored: DataFrame, score: str) -> pd.DataFrame:
    """Columns ``slices``, ``score``, ``label``, ``count`` at the driver (through Arrow)."""
    grouped = scored.groupBy("slices", score, "label").count()
    frame: pd.DataFrame = grouped.withColumnRenamed(score, "score").toPandas()  # type: ignore[assignment]
    return frame.astype({"slices": "int64", "score": "float64", "label": "int8", "count": "int64"})


def slice_counts(counts: pd.DataFrame, bit: int | None) -> Counts:
    """The (score, label) counts of the rows in slice number ``bit`` (None: every row)."""
    if bit is not None:
        counts = counts[(counts["slices"].to_numpy() >> bit) & 1 == 1]
    summed = counts.groupby(["score", "label"], sort=True)["count"].sum()
    scores = summed.index.get_level_values("score").to_numpy(dtype=np.float64)
    labels = summed.index.get_level_values("label").to_numpy() == 1
    return scores, labels, summed.to_numpy(dtype=np.int64)


def class_sizes(counts: Counts) -> tuple[int, int]:
    """(rows, positives) of one slice's counts."""
    _, labels, n = counts
    return int(n.sum()), int(n[labels].sum())
