"""The drift report on Spark equals the local engine's, float for float."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.data.generate import generate
from mlgate.drift.reference import _local_report
from mlgate.params import DriftParams, FeaturesParams, load_params
from mlgate.spark.drift import spark_drift_report
from tests.conftest import small_generate_params

pytestmark = pytest.mark.spark

FEATURES: FeaturesParams = load_params("params.yaml").features
CFG = DriftParams()


def _write(frame: pd.DataFrame, path: Path, pieces: int) -> str:
    """A file (1 piece) or a dataset directory of ``pieces`` files."""
    if pieces == 1:
        frame.to_parquet(path, index=False)
        return str(path)
    path.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), pieces)):
        frame.iloc[rows].to_parquet(path / f"part-{i:05d}.parquet", index=False)
    return str(path)


def _both(spark, tmp_path, reference, current, pieces=3):  # type: ignore[no-untyped-def]
    ref = _write(reference, tmp_path / "ref.parquet", 1)
    cur = _write(current, tmp_path / "cur.parquet", pieces)
    local = _local_report(ref, cur, FEATURES, CFG)
    assert spark_drift_report(spark, ref, cur, FEATURES, CFG) == local
    return local


@pytest.mark.parametrize("pieces", [1, 3, 7])
def test_default_data_with_a_shift(spark, tmp_path, pieces) -> None:  # type: ignore[no-untyped-def]
    reference = generate(small_generate_params(n_rows=3_000, seed=1))
    shifted = small_generate_params(n_rows=2_000, seed=2)
    current = generate(shifted).assign(monthly_spend=lambda f: f["monthly_spend"] * 1.3)
    report = _both(spark, tmp_path, reference, current, pieces)
    assert report["features"]["monthly_spend"]["drifted"]
    assert report["features"]["signup_date"]["distance"] is not None


def test_heavy_ties_nan_and_one_sided_categories(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    reference = generate(small_generate_params(n_rows=3_000, seed=3))
    current = generate(small_generate_params(n_rows=2_500, seed=4))
    # Ties: three values for most rows; a constant column; NaN on both sides.
    reference["monthly_spend"] = reference["monthly_spend"].round(-2)
    current["monthly_spend"] = current["monthly_spend"].round(-2)
    reference.loc[::7, "monthly_spend"] = np.nan
    current.loc[::3, "monthly_spend"] = np.nan
    reference["support_tickets"] = 2
    # A category only the current data has, one only the reference has, missing categories.
    current.loc[::5, "region"] = "atlantis"
    reference.loc[::11, "contract_type"] = "lifetime"
    current.loc[::13, "city"] = None
    report = _both(spark, tmp_path, reference, current)
    assert report["features"]["support_tickets"]["distance"] is None  # constant reference
    assert report["features"]["monthly_spend"]["n_bins_used"] <= 5


def test_nan_only_current_column_and_negative_zero(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    reference = generate(small_generate_params(n_rows=1_000, seed=5))
    current = generate(small_generate_params(n_rows=800, seed=6))
    current["monthly_spend"] = np.nan
    reference["tenure_months"] = -0.0  # groups with 0.0 in Spark, in np.unique too
    reference.loc[::2, "tenure_months"] = 1.5
    report = _both(spark, tmp_path, reference, current)
    assert report["features"]["monthly_spend"]["distance"] is None


def test_a_local_engine_reference_with_ns_timestamps(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mlgate.spark.compat import spark_readable

    reference = generate(small_generate_params(n_rows=1_000, seed=7))
    reference["signup_date"] = reference["signup_date"].astype("datetime64[ns]")
    current = generate(small_generate_params(n_rows=900, seed=8))
    ref = _write(reference, tmp_path / "ref.parquet", 1)
    cur = _write(current, tmp_path / "cur.parquet", 2)
    readable = spark_readable(ref, tmp_path / "us")
    assert readable != ref  # copied with microseconds
    assert spark_readable(cur, tmp_path / "unused") == cur
    local = _local_report(ref, cur, FEATURES, CFG)
    assert spark_drift_report(spark, readable, cur, FEATURES, CFG) == local


@pytest.mark.parametrize("batch_rows", [1, 7, 1_000])
def test_values_packed_per_arrow_batch_arrive_whole_and_in_order(
    spark, tmp_path, batch_rows
) -> None:  # type: ignore[no-untyped-def]
    """The driver receives each Arrow batch's values packed per feature: with 1-row batches
    every value is its own packet, with 7 a batch straddles two features' values."""
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    before = spark.conf.get(key)
    spark.conf.set(key, str(batch_rows))
    try:
        reference = generate(small_generate_params(n_rows=1_500, seed=5))
        current = generate(small_generate_params(n_rows=1_200, seed=6))
        _both(spark, tmp_path, reference, current)
    finally:
        spark.conf.set(key, before)


def test_columns_spark_converts_itself_match_pandas(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """String categories and plain numbers skip pandas; every type and null pattern that
    decides between the two paths, against the local report."""
    reference = generate(small_generate_params(n_rows=1_200, seed=9))
    current = generate(small_generate_params(n_rows=1_000, seed=10))
    # An integer column with nulls (pandas: float64 with NaN; Spark: a null double).
    current["tenure_months"] = current["tenure_months"].astype("Int64")
    current.loc[::4, "tenure_months"] = pd.NA
    # Narrow number types, a float32 column, a boolean category and blank strings.
    current["support_tickets"] = current["support_tickets"].astype("int8")
    current["monthly_spend"] = current["monthly_spend"].astype("float32")
    current.loc[::6, "region"] = ""
    # Timestamps before 1970 and within a day of it (floored days), a null timestamp.
    current.loc[1, "signup_date"] = pd.Timestamp("1969-12-31 23:00")
    current.loc[2, "signup_date"] = pd.Timestamp("1970-01-01 00:00:01")
    current.loc[3, "signup_date"] = pd.Timestamp("1969-12-30 00:00")
    current.loc[4, "signup_date"] = pd.NaT
    # A numeric feature stored as text goes through pandas (pd.to_numeric coerces it), on
    # one side only: the same feature then takes a different path on each side.
    reference["support_tickets"] = reference["support_tickets"].astype(str)
    reference.loc[::9, "support_tickets"] = "n/a"
    _both(spark, tmp_path, reference, current)
