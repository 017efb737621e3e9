"""Drift of every feature of two frames: PSI, expected PSI by chance, a distance, a verdict."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

from mlgate.drift.binning import check_epsilon, check_n_bins, sorted_valid
from mlgate.drift.counts import local_table, numeric_drift
from mlgate.drift.distance import js_from_result
from mlgate.drift.psi import PsiResult, expected_psi_no_shift, psi_categorical


def _check_columns(
    reference_df: pd.DataFrame,
    current_df: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
) -> list[str]:
    for side, frame in (("reference", reference_df), ("current", current_df)):
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"{side}_df must be a pandas DataFrame, got {type(frame).__name__}")
        if len(frame) == 0:
            raise ValueError(f"{side}_df is empty; expected at least one row")
    names = list(numeric) + list(categorical)
    if not names:
        raise ValueError("no features given: numeric and categorical are both empty")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"feature {name!r} is listed twice (numeric and/or categorical)")
        seen.add(name)
    for name in names:
        lacking = [
            side
            for side, frame in (("reference", reference_df), ("current", current_df))
            if name not in frame.columns
        ]
        if lacking:
            raise ValueError(f"column {name!r} is missing from the {' and '.join(lacking)} data")
    return sorted(names)


def _numeric_column(frame: pd.DataFrame, name: str, side: str) -> tuple[np.ndarray, int]:
    """Sorted non-missing values of a numeric column and its number of missing values."""
    column = frame[name]
    if not (
        pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype)
    ):
        raise ValueError(
            f"column {name!r} is listed as numeric but has dtype {column.dtype} in the {side} data"
        )
    where = f"{side} column {name!r}"
    if column.dtype == np.float64:
        # A view of the frame's data (NaN is already its missing value): sort a copy.
        return sorted_valid(column.to_numpy(), where)
    # Any other dtype converts into a fresh array, which can be sorted in place.
    return sorted_valid(column.to_numpy(dtype=np.float64, na_value=np.nan), where, owned=True)


def feature_entry(
    result: PsiResult,
    distance: float | None,
    *,
    numeric: bool,
    n_rows: tuple[int, int],
    threshold: float,
) -> dict[str, Any]:
    """One feature's entry of :func:`drift_report` (either engine)."""
    return {
        "kind": "numeric" if numeric else "categorical",
        "psi": result.psi,
        "expected_psi_no_shift": expected_psi_no_shift(result.n_bins, n_rows[0], n_rows[1]),
        "distance": None if distance is None else float(distance),
        "distance_name": "normed_wasserstein" if numeric else "jensen_shannon",
        "drifted": bool(result.psi > threshold),
        "n_bins_used": result.n_bins,
    }


def _feature_drift(
    reference_df: pd.DataFrame,
    current_df: pd.DataFrame,
    name: str,
    *,
    numeric: bool,
    n_bins: int,
    epsilon: float,
    threshold: float,
) -> dict[str, Any]:
    """One feature's entry of :func:`drift_report`, through the value-count table of
    :mod:`.counts` for a numeric feature (the Spark engine's formulation)."""
    distance: float | None
    if numeric:
        ref_sorted, ref_missing = _numeric_column(reference_df, name, "reference")
        cur_sorted, cur_missing = _numeric_column(current_df, name, "current")
        result, distance = numeric_drift(
            local_table(ref_sorted, cur_sorted),
            missing=(ref_missing, cur_missing),
            valid=(ref_sorted.size, cur_sorted.size),
            n_bins=n_bins,
            epsilon=epsilon,
        )
    else:
        result = psi_categorical(reference_df[name], current_df[name], epsilon=epsilon)
        distance = js_from_result(result)
    n_rows = (len(reference_df), len(current_df))
    return feature_entry(result, distance, numeric=numeric, n_rows=n_rows, threshold=threshold)


def check_threshold(threshold: float) -> float:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not math.isfinite(threshold)
        or threshold <= 0
    ):
        raise ValueError(f"threshold must be a positive finite number, got {threshold!r}")
    return float(threshold)


def assemble(
    features: dict[str, dict[str, Any]],
    *,
    threshold: float,
    n_bins: int,
    epsilon: float,
    n_rows: tuple[int, int],
) -> dict[str, Any]:
    """The report from the per-feature entries (keyed in name order; either engine)."""
    names = sorted(features)
    features = {name: features[name] for name in names}
    # max() keeps the first of equal maxima, and names are sorted.
    max_feature = max(names, key=lambda n: features[n]["psi"])
    drifted = [n for n in names if features[n]["drifted"]]
    return {
        "features": features,
        "max_psi": features[max_feature]["psi"],
        "max_psi_feature": max_feature,
        "drifted_features": drifted,
        "retrain_recommended": bool(drifted),
        "threshold": float(threshold),
        "n_bins": n_bins,
        "epsilon": epsilon,
        "n_reference": n_rows[0],
        "n_current": n_rows[1],
    }


def drift_report(
    reference_df: pd.DataFrame,
    current_df: pd.DataFrame,
    *,
    numeric: list[str],
    categorical: list[str],
    n_bins: int = 10,
    threshold: float = 0.2,
    epsilon: float = 1e-4,
) -> dict[str, Any]:
    """PSI and a distance per feature, which features drifted (PSI > threshold), and a verdict.

    JSON-ready and deterministic: features are keyed in name order, numbers are plain floats
    (``distance`` is None where undefined, see :func:`normed_wasserstein`), ties for the
    largest PSI go to the first name.
    """
    n_bins = check_n_bins(n_bins)
    epsilon = check_epsilon(epsilon)
    threshold = check_threshold(threshold)
    names = _check_columns(reference_df, current_df, numeric, categorical)
    numeric_set = set(numeric)
    features = {
        name: _feature_drift(
            reference_df,
            current_df,
            name,
            numeric=name in numeric_set,
            n_bins=n_bins,
            epsilon=epsilon,
            threshold=threshold,
        )
        for name in names
    }
    return assemble(
        features,
        threshold=threshold,
        n_bins=n_bins,
        epsilon=epsilon,
        n_rows=(len(reference_df), len(current_df)),
    )
