"""Spark evaluate writes the local engine's metrics, whatever the partitioning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.evaluation import curves, holdout_metrics, slice_metrics
from mlgate.scoring import predict_scores
from mlgate.spark.evaluate import evaluate
from tests.spark.conftest import ID, OPTIONS, TARGET, Case, write_partitioned

pytestmark = pytest.mark.spark


def _local(case: Case, min_samples: int) -> tuple[dict, dict, dict]:
    y = case.holdout[TARGET].to_numpy()
    scores = predict_scores(case.model, case.holdout)
    overall = holdout_metrics(y, scores, **OPTIONS)
    per_slice = slice_metrics(
        case.holdout, y, scores, case.slices, min_samples=min_samples, **OPTIONS
    )
    return overall, per_slice, curves(y, scores, calibration_bins=10, threshold=0.5)


@pytest.mark.parametrize("partitions", [1, 3, 7])
@pytest.mark.parametrize("which", ["default_case", "adversarial_case"])
def test_metrics_equal_local(spark, request, tmp_path: Path, which: str, partitions: int) -> None:  # type: ignore[no-untyped-def]
    case: Case = request.getfixturevalue(which)
    holdout = write_partitioned(spark, case.holdout, tmp_path, partitions)
    predictions = tmp_path / "predictions.parquet"
    done = evaluate(
        spark,
        case.model,
        case.slices,
        holdout=holdout,
        predictions=str(predictions),
        target=TARGET,
        id_column=ID,
        min_samples=30,
        options=OPTIONS,
    )
    overall, per_slice, local_curves = _local(case, 30)
    assert done.overall == overall
    assert done.slices == per_slice
    if which == "adversarial_case":  # every kind of slice outcome is exercised
        assert per_slice["tiny"]["skipped"] and per_slice["one_class"]["skipped"]
        assert per_slice["empty"]["n"] == 0 and not per_slice["spend_missing"]["skipped"]
    for name in ("roc", "precision_recall", "calibration"):
        pd.testing.assert_frame_equal(
            done.curves[name].reset_index(drop=True), local_curves[name].reset_index(drop=True)
        )
    confusion = done.curves["confusion"].value_counts().sort_index()
    assert confusion.equals(local_curves["confusion"].value_counts().sort_index())
    written = pd.read_parquet(predictions).sort_values(ID, ignore_index=True)
    expected = case.holdout[[ID, TARGET]].rename(columns={TARGET: "label"})
    expected["score"] = predict_scores(case.model, case.holdout)
    expected = expected.sort_values(ID, ignore_index=True)
    assert np.array_equal(written[ID], expected[ID])
    assert np.array_equal(written["label"], expected["label"])
    assert np.array_equal(written["score"], expected["score"])  # bit for bit
    assert sorted(p.name for p in predictions.iterdir())[0] == "part-00000.parquet"


def test_bad_slice_fails_at_the_driver_with_the_local_error(
    spark, default_case: Case, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from mlgate.errors import DataError
    from mlgate.slices import parse_slices

    bad = parse_slices(
        {"typo": {"column": "tenure_month", "op": "<", "value": 6}}, where="evaluate.slices"
    )
    holdout = write_partitioned(spark, default_case.holdout, tmp_path, 2)
    with pytest.raises(DataError, match=r"evaluate\.slices\.typo: column 'tenure_month'"):
        evaluate(
            spark,
            default_case.model,
            bad,
            holdout=holdout,
            predictions=str(tmp_path / "p.parquet"),
            target=TARGET,
            id_column=ID,
            min_samples=30,
            options=OPTIONS,
        )
    assert not (tmp_path / "p.parquet").exists()


def test_a_local_file_with_nanosecond_timestamps_is_read(
    spark, default_case: Case, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The local split writes one file, its dates as TIMESTAMP(NANOS), which Spark refuses."""
    frame = default_case.holdout.astype({"signup_date": "datetime64[ns]"})
    single = tmp_path / "holdout.parquet"
    frame.to_parquet(single, index=False)
    done = evaluate(
        spark,
        default_case.model,
        default_case.slices,
        holdout=str(single),
        predictions=str(tmp_path / "p.parquet"),
        target=TARGET,
        id_column=ID,
        min_samples=30,
        options=OPTIONS,
    )
    assert done.overall == _local(default_case, 30)[0]
