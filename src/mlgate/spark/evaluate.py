"""Stage `evaluate` on Spark: the holdout scored in one pass, metrics from exact score tables.

The rows are reduced to counts per (slice membership, score, label) by one groupBy; the driver
builds each slice's score table and computes its metrics with the code the local engine uses
(:func:`mlgate.evaluation.table_metrics`), so both engines write the same holdout.json and
slices.json. The predictions are written by Spark as a Parquet dataset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from mlgate.evaluation import mark_skipped, slice_skip_reason, table_metrics
from mlgate.metrics import UndefinedAucError
from mlgate.metrics.score_table import table_from_counts
from mlgate.slices import Predicate
from mlgate.spark.counts import Counts, class_sizes, score_counts, slice_counts
from mlgate.spark.curves import table_curves
from mlgate.spark.dataset import write_dataset
from mlgate.spark.scored import scored_holdout

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class Evaluation:
    overall: dict[str, Any]
    slices: dict[str, dict[str, Any]]
    curves: dict[str, pd.DataFrame]


def counts_metrics(counts: Counts, options: Mapping[str, Any]) -> dict[str, Any]:
    """holdout_metrics' dict for one slice's counts (UndefinedAucError as it raises)."""
    return table_metrics(table_from_counts(*counts), **options)


def slice_entries(
    counts: pd.DataFrame,
    slices: Mapping[str, Predicate],
    *,
    min_samples: int,
    options: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    """slices.json's entries, skipped with slice_metrics' reasons."""
    out: dict[str, dict[str, Any]] = {}
    for bit, (name, predicate) in enumerate(slices.items()):
        mine = slice_counts(counts, bit)
        n, n_pos = class_sizes(mine)
        entry: dict[str, Any] = {"predicate": predicate.describe(), "n": n, "n_positive": n_pos}
        reason = slice_skip_reason(n, n_pos, min_samples)
        if reason is None:
            try:
                entry.update(counts_metrics(mine, options))
            except UndefinedAucError as exc:
                reason = str(exc)
        out[name] = mark_skipped(entry, reason)
    return out


def evaluate(
    spark: SparkSession,
    model: Any,
    slices: Mapping[str, Predicate],
    *,
    holdout: str,
    predictions: str,
    target: str,
    id_column: str,
    min_samples: int,
    options: Mapping[str, Any],
) -> Evaluation:
    """Score ``holdout`` (file or dataset directory), write ``predictions``, return the metrics.

    ``options``: threshold, confidence, calibration_bins. UndefinedAucError when the whole
    holdout has fewer than 2 of a class."""
    models = {"score": model}
    # Scored once, read twice: by the predictions writer and by the groupBy.
    with scored_holdout(
        spark, holdout, models, target=target, keep=[id_column], slices=slices
    ) as scored:
        write_dataset(scored.select(id_column, "label", "score"), predictions)
        counts = score_counts(scored, "score")
    whole = slice_counts(counts, None)
    overall = counts_metrics(whole, options)
    per_slice = slice_entries(counts, slices, min_samples=min_samples, options=options)
    curves = table_curves(
        whole, calibration_bins=options["calibration_bins"], threshold=options["threshold"]
    )
    return Evaluation(overall, per_slice, curves)
