"""The gate's comparison on Spark: candidate and champion scored in one pass over the holdout.

Everything :func:`mlgate.gate.compare.compare` computes from rows comes here from exact
tables: both models' holdout metrics (:func:`mlgate.evaluation.table_metrics`), the paired
DeLong test overall and per slice (:func:`mlgate.metrics.paired_from_sums` on sums whose
cross terms Spark adds up, :mod:`mlgate.spark.paired`) and the champion's own SE per slice.
The result is the local engine's :class:`~mlgate.gate.compare.Comparison`, bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlgate.evaluation import table_metrics
from mlgate.gate.compare import Comparison, SliceComparison, too_few
from mlgate.metrics.auc import paired_from_sums, roc_auc_from_table
from mlgate.metrics.score_table import ScoreTable, table_from_counts
from mlgate.slices import Predicate
from mlgate.spark.counts import class_sizes, score_counts, slice_counts
from mlgate.spark.paired import ALL_ROWS, cross_sums, paired_sums_of
from mlgate.spark.scored import scored_holdout

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Tables = dict[int, tuple[ScoreTable, ScoreTable]]


def _tables(
    spark_counts: tuple[Any, Any], n_slices: int, min_samples: int
) -> tuple[Tables, dict[int, SliceComparison]]:
    """Both models' tables per group tested, and why each untested slice is not."""
    counts_a, counts_b = spark_counts
    tables: Tables = {}
    skipped: dict[int, SliceComparison] = {}
    for group in (ALL_ROWS, *range(n_slices)):
        bit = None if group == ALL_ROWS else group
        mine = slice_counts(counts_a, bit)
        n, n_pos = class_sizes(mine)
        reason = None if group == ALL_ROWS else too_few(n, n_pos, min_samples)
        if reason is not None:
            skipped[group] = SliceComparison(n, None, reason)
            continue
        tables[group] = (table_from_counts(*mine), table_from_counts(*slice_counts(counts_b, bit)))
    return tables, skipped


def _slice(
    group: int, tables: Tables, skipped: dict[int, SliceComparison], paired: Any
) -> SliceComparison:
    if group in skipped:
        return skipped[group]
    table_a, table_b = tables[group]
    alone = roc_auc_from_table(table_b)
    return SliceComparison(table_a.total, paired, champion_se=alone.std_error)


def compare_on_spark(
    spark: SparkSession,
    holdout: str,
    candidate: Any,
    champion: Any,
    slices: Mapping[str, Predicate],
    *,
    target: str,
    min_samples: int,
    confidence: float,
    threshold: float,
    calibration_bins: int,
    champion_scores: str,
) -> Comparison:
    """:func:`mlgate.gate.compare.compare` for the rows of ``holdout`` (file or dataset)."""
    models = {"a": candidate, "b": champion}
    with scored_holdout(spark, holdout, models, target=target, slices=slices) as scored:
        counts = score_counts(scored, "a"), score_counts(scored, "b")
        tables, skipped = _tables(counts, len(slices), min_samples)
        cross = cross_sums(scored, tables)
    paired = {
        group: paired_from_sums(
            paired_sums_of(a, b, cross.get((group, 1), 0), cross.get((group, 0), 0)),
            confidence=confidence,
        )
        for group, (a, b) in tables.items()
    }
    options: dict[str, Any] = {
        "threshold": threshold,
        "confidence": confidence,
        "calibration_bins": calibration_bins,
    }
    whole_a, whole_b = tables[ALL_ROWS]
    return Comparison(
        paired=paired[ALL_ROWS],
        candidate=table_metrics(whole_a, **options),
        champion=table_metrics(whole_b, **options),
        slices={
            name: _slice(group, tables, skipped, paired.get(group))
            for group, name in enumerate(slices)
        },
        champion_scores=champion_scores,
    )
