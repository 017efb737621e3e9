"""The gate's comparison on Spark equals the local one: paired sums, tests, metrics, slices."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.gate.compare import compare
from mlgate.metrics.auc import paired_sums
from mlgate.metrics.score_table import score_table
from mlgate.scoring import predict_scores
from mlgate.spark.gate import compare_on_spark
from mlgate.spark.paired import ALL_ROWS, cross_sums, paired_sums_of
from mlgate.spark.scored import read_rows, score_rows
from tests.spark.conftest import TARGET, Case, fit_model, write_partitioned

pytestmark = pytest.mark.spark


def _champion(case: Case, adversarial: bool) -> object:
    # Another model on other rows: ties of its own under the adversarial data.
    train = case.holdout.iloc[::-1].reset_index(drop=True)
    if adversarial:
        return fit_model(train, estimator="hist_gradient_boosting", max_iter=4, max_leaf_nodes=3)
    return fit_model(train, estimator="logistic_regression", max_iter=200)


@pytest.mark.parametrize("partitions", [1, 3, 7])
@pytest.mark.parametrize("which", ["default_case", "adversarial_case"])
def test_comparison_equals_local(
    spark, request, tmp_path: Path, which: str, partitions: int
) -> None:  # type: ignore[no-untyped-def]
    case: Case = request.getfixturevalue(which)
    champion = _champion(case, which == "adversarial_case")
    holdout = write_partitioned(spark, case.holdout, tmp_path, partitions)
    options = {"min_samples": 30, "confidence": 0.9, "threshold": 0.4, "calibration_bins": 7}
    y = case.holdout[TARGET].to_numpy()
    a = predict_scores(case.model, case.holdout)
    b = predict_scores(champion, case.holdout)
    local = compare(case.holdout, y, a, b, case.slices, **options, champion_scores="x")
    on_spark = compare_on_spark(
        spark,
        holdout,
        case.model,
        champion,
        case.slices,
        target=TARGET,
        **options,
        champion_scores="x",
    )
    assert on_spark == local
    tested = [s.paired is not None for s in local.slices.values()]
    assert any(tested) and (which == "default_case" or not all(tested))


def test_paired_sums_equal_local_exactly(spark, adversarial_case: Case, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case = adversarial_case
    champion = _champion(case, True)
    holdout = write_partitioned(spark, case.holdout, tmp_path, 3)
    scored = score_rows(
        read_rows(spark, holdout, tmp_path / "scratch"),
        {"a": case.model, "b": champion},
        target=TARGET,
        slices={},
    )
    y = case.holdout[TARGET].to_numpy()
    a = predict_scores(case.model, case.holdout)
    b = predict_scores(champion, case.holdout)
    tables = {ALL_ROWS: (score_table(y, a), score_table(y, b))}
    assert len(tables[ALL_ROWS][0].scores) < 100  # heavy ties: the case this test is about
    cross = cross_sums(scored, tables)
    got = paired_sums_of(*tables[ALL_ROWS], cross[(ALL_ROWS, 1)], cross[(ALL_ROWS, 0)])
    assert got == paired_sums(y, a, b)
