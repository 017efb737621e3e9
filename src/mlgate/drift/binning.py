"""Input checks and bins for PSI: reference-quantile cut points (numeric) and category bins.

See :mod:`mlgate.drift` for the binning rules.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

MISSING = "<missing>"
UNSEEN = "<unseen>"


# --------------------------------------------------------------------------- validation


def check_epsilon(epsilon: float) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real):
        raise ValueError(f"epsilon must be a number in (0, 1), got {epsilon!r}")
    if not (0.0 < float(epsilon) < 1.0):
        raise ValueError(f"epsilon must be in (0, 1), got {epsilon!r}")
    return float(epsilon)


def check_n_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    return int(n_bins)


def as_float_array(values: Any, side: str) -> np.ndarray:
    if isinstance(values, pd.Series | pd.Index):
        if not (
            pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
        ):
            raise ValueError(f"{side} must be numeric, got dtype {values.dtype}")
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{side} must be numeric: {exc}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{side} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{side} is empty; expected at least one row")
    return arr


def sorted_valid(values: np.ndarray, side: str, *, owned: bool = False) -> tuple[np.ndarray, int]:
    """Sorted non-missing values and the number of NaNs (np.sort puts NaN last).

    ``owned``: ``values`` is a private copy and may be sorted in place (saves a copy).
    """
    if owned:
        values.sort()
        ordered = values
    else:
        ordered = np.sort(values)
    n_valid = int(np.searchsorted(ordered, np.nan, side="left"))
    valid = ordered[:n_valid]
    if n_valid and (np.isinf(valid[0]) or np.isinf(valid[-1])):
        raise ValueError(f"{side} contains infinite values; expected finite numbers or NaN")
    return valid, values.size - n_valid


# --------------------------------------------------------------------------- bins


def quantile_cuts(ref_sorted: np.ndarray, n_bins: int) -> np.ndarray:
    n = ref_sorted.size
    if n == 0:
        return np.empty(0)
    k = np.arange(1, n_bins, dtype=np.int64)
    # inverted-CDF quantile k/B: the ceil(k n / B)-th smallest value, in exact integers.
    cuts = np.unique(ref_sorted[(k * n + n_bins - 1) // n_bins - 1])
    # A cut at the maximum would leave an empty top bin in the reference: drop it.
    return cuts[cuts < ref_sorted[-1]]


def bin_counts(sorted_values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    # Right-closed bins: values <= cuts[0], (cuts[0], cuts[1]], ..., > cuts[-1].
    ends = np.searchsorted(sorted_values, cuts, side="right")
    return np.diff(ends, prepend=0, append=sorted_values.size).astype(np.int64)


def edge_label(lo: float, hi: float) -> str:
    return f"({lo:.6g}, {hi:.6g}]"


def as_series(values: Any, side: str) -> pd.Series:
    series = (
        values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
    )
    if series.ndim != 1:
        raise ValueError(f"{side} must be one-dimensional")
    if len(series) == 0:
        raise ValueError(f"{side} is empty; expected at least one row")
    return series


def value_counts(series: pd.Series) -> pd.Series:
    counts = series.value_counts(dropna=True, sort=False)
    # A categorical dtype reports its unused categories with count 0: they were never seen.
    counts = counts[counts > 0]
    # Plain object index, so a category matches across str/object/categorical dtypes.
    return pd.Series(counts.to_numpy(dtype=np.int64), index=pd.Index(counts.index, dtype=object))


def category_order(value: Any) -> tuple[str, str]:
    return (str(value), repr(value))
