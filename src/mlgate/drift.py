"""Feature drift between two data sets: PSI per feature, plus a sample-size-stable distance.

PSI (population stability index) compares the share of rows per bin in the *reference*
(champion's training data) and the *current* data (candidate's):
``PSI = sum_b (a_b - e_b) * ln(a_b / e_b)`` with ``e_b``, ``a_b`` the reference and current
shares. Every term is >= 0, so PSI >= 0, and it is 0 exactly when the shares agree.

Binning is always taken from the reference, so PSI is *not* symmetric: swapping the two
data sets changes the bins and, in general, the value. Example with 2 bins: reference
0..99 and current 0..49 give cut 49, current shares (1, 0) -> PSI 4.60 (the empty bin costs
ln(0.5 / epsilon)); swapped, the cut is 24 and the shares (0.25, 0.75) -> PSI 0.275.

* Numeric: cut points are the reference quantiles at 1/B, ..., (B-1)/B by the inverted-CDF
  rule (each cut is an observed value), ``np.unique``'d, and cuts equal to the reference
  maximum dropped. Bins are right-closed, ``(edges[b], edges[b+1]]``, with ``-inf`` / ``+inf``
  at the ends, so every bin holds reference rows and values outside the reference range land
  in the outer bins. Ties merge bins: a column with k distinct values gets at most k bins, and
  a constant reference column gets one bin (its PSI can then only come from the missing bin).
* Categorical: one bin per category seen in the reference, one ``<unseen>`` bin for categories
  the reference never had (present only when the current data has such rows).
* Missing values (NaN/None/NA) are a bin of their own, ``<missing>``, present when either side
  has any: a feature whose null rate jumps has drifted even if its observed values have not.

Zero shares: a bin empty on one side would make ``ln(a/e)`` infinite. Each side's zero shares
are replaced by ``epsilon`` (default 1e-4) and that side's shares renormalised to sum to 1.
The reported shares are the raw ones; only the PSI uses the smoothed shares. Bins empty on
both sides are never created, so epsilon only matters for real one-sided bins (an unseen
category, a new null rate, a reference bin the current data no longer reaches).

Chance alone gives PSI > 0: with no shift PSI is about chi-square(B - 1) * (1/N + 1/M), so its
expectation is :func:`expected_psi_no_shift`. The report shows it beside every PSI, and also a
distance whose scale does not depend on bins, epsilon or sample size: the Wasserstein
distance divided by the reference standard deviation for numeric features (Evidently's
"normed Wasserstein", in reference standard deviations; non-missing values only) and the
Jensen-Shannon distance, base 2, in [0, 1], for categoricals (on the same bins as PSI, raw
shares; Evidently uses the natural log, range [0, 0.833]). The two disagree by design: a
location shift of 0.1 sd is a normed Wasserstein of 0.1 but a PSI of only about 0.01, while a
jump in the null rate moves PSI and leaves the Wasserstein distance untouched.

Speed: a numeric column is sorted once per side (numpy's SIMD sort beats a quantile partition
plus a binary search per row); the cut points, the bin counts and the Wasserstein distance
are all read from the sorted arrays. Categoricals use ``value_counts``. No Python loop touches
rows.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

__all__ = [
    "PsiResult",
    "drift_report",
    "expected_psi_no_shift",
    "jensen_shannon_distance",
    "normed_wasserstein",
    "psi_categorical",
    "psi_numeric",
]

MISSING = "<missing>"
UNSEEN = "<unseen>"
# Caps the temporaries of the Wasserstein sweep (a few arrays of this many int64/float64).
_CHUNK = 1 << 20


@dataclass(frozen=True, eq=False)
class PsiResult:
    """PSI of one feature with the bins it was computed on.

    ``reference_share`` / ``current_share`` are raw shares (counts / rows, summing to 1);
    ``contributions`` are the per-bin PSI terms on the epsilon-smoothed shares and sum to
    ``psi``. ``edges`` (numeric only) has ``len(edges) - 1`` value bins, bin b being
    ``(edges[b], edges[b+1]]``; a ``<missing>`` bin, if present, comes last in ``labels``.
    ``categories`` (categorical only) lists the reference categories in bin order.
    """

    psi: float
    labels: tuple[str, ...]
    reference_counts: np.ndarray
    current_counts: np.ndarray
    reference_share: np.ndarray
    current_share: np.ndarray
    contributions: np.ndarray
    epsilon: float
    edges: np.ndarray | None = None
    categories: tuple[Any, ...] | None = field(default=None)

    @property
    def n_bins(self) -> int:
        return len(self.labels)


# --------------------------------------------------------------------------- validation


def _check_epsilon(epsilon: float) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real):
        raise ValueError(f"epsilon must be a number in (0, 1), got {epsilon!r}")
    if not (0.0 < float(epsilon) < 1.0):
        raise ValueError(f"epsilon must be in (0, 1), got {epsilon!r}")
    return float(epsilon)


def _check_n_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    return int(n_bins)


def _as_float_array(values: Any, side: str) -> np.ndarray:
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


def _sorted_valid(values: np.ndarray, side: str, *, owned: bool = False) -> tuple[np.ndarray, int]:
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


# --------------------------------------------------------------------------- PSI core


def _smooth(shares: np.ndarray, epsilon: float) -> np.ndarray:
    smoothed = np.where(shares == 0.0, epsilon, shares)
    return smoothed / smoothed.sum()


def _from_counts(
    ref_counts: np.ndarray,
    cur_counts: np.ndarray,
    labels: Sequence[str],
    epsilon: float,
    **extra: Any,
) -> PsiResult:
    ref_share = ref_counts / ref_counts.sum()
    cur_share = cur_counts / cur_counts.sum()
    e = _smooth(ref_share, epsilon)
    a = _smooth(cur_share, epsilon)
    terms = (a - e) * np.log(a / e)
    return PsiResult(
        psi=float(terms.sum()),
        labels=tuple(labels),
        reference_counts=ref_counts,
        current_counts=cur_counts,
        reference_share=ref_share,
        current_share=cur_share,
        contributions=terms,
        epsilon=epsilon,
        **extra,
    )


def _quantile_cuts(ref_sorted: np.ndarray, n_bins: int) -> np.ndarray:
    n = ref_sorted.size
    if n == 0:
        return np.empty(0)
    k = np.arange(1, n_bins, dtype=np.int64)
    # inverted-CDF quantile k/B: the ceil(k n / B)-th smallest value, in exact integers.
    cuts = np.unique(ref_sorted[(k * n + n_bins - 1) // n_bins - 1])
    # A cut at the maximum would leave an empty top bin in the reference: drop it.
    return cuts[cuts < ref_sorted[-1]]


def _bin_counts(sorted_values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    # Right-closed bins: values <= cuts[0], (cuts[0], cuts[1]], ..., > cuts[-1].
    ends = np.searchsorted(sorted_values, cuts, side="right")
    return np.diff(ends, prepend=0, append=sorted_values.size).astype(np.int64)


def _edge_label(lo: float, hi: float) -> str:
    return f"({lo:.6g}, {hi:.6g}]"


def _numeric_from_sorted(
    ref_sorted: np.ndarray,
    ref_missing: int,
    cur_sorted: np.ndarray,
    cur_missing: int,
    n_bins: int,
    epsilon: float,
) -> PsiResult:
    cuts = _quantile_cuts(ref_sorted, n_bins)
    edges = np.concatenate(([-np.inf], cuts, [np.inf]))
    ref_counts = _bin_counts(ref_sorted, cuts)
    cur_counts = _bin_counts(cur_sorted, cuts)
    labels = [_edge_label(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    if ref_missing or cur_missing:
        ref_counts = np.append(ref_counts, ref_missing)
        cur_counts = np.append(cur_counts, cur_missing)
        labels.append(MISSING)
    return _from_counts(ref_counts, cur_counts, labels, epsilon, edges=edges)


def psi_numeric(
    reference: Any, current: Any, *, n_bins: int = 10, epsilon: float = 1e-4
) -> PsiResult:
    """PSI of a numeric feature on reference-quantile bins (see the module docstring).

    ``n_bins`` is the number of quantile bins asked for; ties can merge them, so the result's
    ``n_bins`` (which also counts a ``<missing>`` bin) may differ.
    """
    n_bins = _check_n_bins(n_bins)
    epsilon = _check_epsilon(epsilon)
    ref_sorted, ref_missing = _sorted_valid(_as_float_array(reference, "reference"), "reference")
    cur_sorted, cur_missing = _sorted_valid(_as_float_array(current, "current"), "current")
    return _numeric_from_sorted(ref_sorted, ref_missing, cur_sorted, cur_missing, n_bins, epsilon)


def _as_series(values: Any, side: str) -> pd.Series:
    series = (
        values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
    )
    if series.ndim != 1:
        raise ValueError(f"{side} must be one-dimensional")
    if len(series) == 0:
        raise ValueError(f"{side} is empty; expected at least one row")
    return series


def _value_counts(series: pd.Series) -> pd.Series:
    counts = series.value_counts(dropna=True, sort=False)
    # A categorical dtype reports its unused categories with count 0: they were never seen.
    counts = counts[counts > 0]
    # Plain object index, so a category matches across str/object/categorical dtypes.
    return pd.Series(counts.to_numpy(dtype=np.int64), index=pd.Index(counts.index, dtype=object))


def _category_order(value: Any) -> tuple[str, str]:
    return (str(value), repr(value))


def psi_categorical(reference: Any, current: Any, *, epsilon: float = 1e-4) -> PsiResult:
    """PSI of a categorical feature: a bin per reference category, ``<unseen>``, ``<missing>``.

    Bins follow the categories sorted by their string form, so the result does not depend on
    row order.
    """
    epsilon = _check_epsilon(epsilon)
    ref = _as_series(reference, "reference")
    cur = _as_series(current, "current")
    ref_vc = _value_counts(ref)
    cur_vc = _value_counts(cur)
    categories = tuple(sorted(ref_vc.index, key=_category_order))
    ref_counts = ref_vc.reindex(pd.Index(categories, dtype=object)).to_numpy(dtype=np.int64)
    cur_counts = cur_vc.reindex(pd.Index(categories, dtype=object), fill_value=0).to_numpy(
        dtype=np.int64
    )
    labels = [str(c) for c in categories]
    unseen = int(cur_vc.sum()) - int(cur_counts.sum())
    if unseen:
        ref_counts = np.append(ref_counts, 0)
        cur_counts = np.append(cur_counts, unseen)
        labels.append(UNSEEN)
    ref_missing = len(ref) - int(ref_vc.sum())
    cur_missing = len(cur) - int(cur_vc.sum())
    if ref_missing or cur_missing:
        ref_counts = np.append(ref_counts, ref_missing)
        cur_counts = np.append(cur_counts, cur_missing)
        labels.append(MISSING)
    return _from_counts(ref_counts, cur_counts, labels, epsilon, categories=categories)


def expected_psi_no_shift(n_bins: int, n_ref: int, n_cur: int) -> float:
    """Approximate mean PSI with no shift at all: (B - 1)(1/N + 1/M).

    Under no shift PSI is about chi-square(B - 1) scaled by (1/N + 1/M); compare a PSI with
    this before calling it drift, above all for small samples.
    """
    for name, value in (("n_bins", n_bins), ("n_ref", n_ref), ("n_cur", n_cur)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return (n_bins - 1) * (1.0 / n_ref + 1.0 / n_cur)


# --------------------------------------------------------------------------- distances


def _wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """W1 between two sorted samples, exactly, as the integral of |F^-1(t) - G^-1(t)| dt.

    Works through the data in slices of about ``_CHUNK`` steps, so the temporaries stay small
    (no full-size arrays: at 1e7 rows those page faults cost more than the arithmetic).
    """
    n, m = u.size, v.size
    if n == m:
        total = 0.0
        for start in range(0, n, _CHUNK):
            total += float(np.abs(u[start : start + _CHUNK] - v[start : start + _CHUNK]).sum())
        return total / n
    # Quantile functions are steps at t = i/n and j/m. In units of 1/(n m) those breakpoints
    # are the integers i*m and j*n (exact in int64 up to n*m < 9.2e18). On the interval ending
    # at breakpoint T, F^-1 = u[ceil(T/m) - 1] and G^-1 = v[ceil(T/n) - 1]. The breakpoints are
    # evenly spread, so a slice (lo, hi] of the T axis of this length holds about _CHUNK.
    length = n * m
    step = max(1, length * _CHUNK // (n + m))
    total, previous, lo = 0.0, 0, 0
    while lo < length:
        hi = min(length, lo + step)
        t = np.concatenate(
            (
                np.arange(lo // m + 1, hi // m + 1, dtype=np.int64) * m,
                np.arange(lo // n + 1, hi // n + 1, dtype=np.int64) * n,
            )
        )
        lo = hi
        if t.size == 0:
            continue
        t.sort()
        width = np.diff(t, prepend=previous).astype(np.float64)
        previous = int(t[-1])
        gap = np.abs(u[(t + (m - 1)) // m - 1] - v[(t + (n - 1)) // n - 1])
        total += float(np.dot(gap, width))
    return total / length


def _std(values: np.ndarray) -> float:
    """Population std (ddof 0) in two passes over slices: no full-size temporary."""
    mean = float(values.mean())
    squares = 0.0
    for start in range(0, values.size, _CHUNK):
        deviation = values[start : start + _CHUNK] - mean
        squares += float(np.dot(deviation, deviation))
    return math.sqrt(squares / values.size)


def _normed_wasserstein_sorted(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> float | None:
    if ref_sorted.size == 0 or cur_sorted.size == 0:
        return None
    std = _std(ref_sorted)
    if std == 0.0:
        return None
    return _wasserstein_sorted(ref_sorted, cur_sorted) / std


def normed_wasserstein(reference: Any, current: Any) -> float | None:
    """Wasserstein-1 distance of the non-missing values divided by the reference std (ddof 0).

    Returns None when it is undefined: a side without non-missing values, or a constant
    reference (Evidently floors the std at 0.001 instead; that makes the value depend on the
    feature's units).
    """
    ref_sorted, _ = _sorted_valid(_as_float_array(reference, "reference"), "reference")
    cur_sorted, _ = _sorted_valid(_as_float_array(current, "current"), "current")
    return _normed_wasserstein_sorted(ref_sorted, cur_sorted)


def _js_from_result(result: PsiResult) -> float:
    return float(jensenshannon(result.reference_share, result.current_share, base=2))


def jensen_shannon_distance(reference: Any, current: Any) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) on the bins of :func:`psi_categorical`."""
    return _js_from_result(psi_categorical(reference, current))


# --------------------------------------------------------------------------- report


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
        return _sorted_valid(column.to_numpy(), where)
    # Any other dtype converts into a fresh array, which can be sorted in place.
    return _sorted_valid(column.to_numpy(dtype=np.float64, na_value=np.nan), where, owned=True)


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
    """One feature's entry of :func:`drift_report`."""
    if numeric:
        ref_sorted, ref_missing = _numeric_column(reference_df, name, "reference")
        cur_sorted, cur_missing = _numeric_column(current_df, name, "current")
        result = _numeric_from_sorted(
            ref_sorted, ref_missing, cur_sorted, cur_missing, n_bins, epsilon
        )
        distance = _normed_wasserstein_sorted(ref_sorted, cur_sorted)
        kind, distance_name = "numeric", "normed_wasserstein"
    else:
        result = psi_categorical(reference_df[name], current_df[name], epsilon=epsilon)
        distance = _js_from_result(result)
        kind, distance_name = "categorical", "jensen_shannon"
    return {
        "kind": kind,
        "psi": result.psi,
        "expected_psi_no_shift": expected_psi_no_shift(
            result.n_bins, len(reference_df), len(current_df)
        ),
        "distance": None if distance is None else float(distance),
        "distance_name": distance_name,
        "drifted": bool(result.psi > threshold),
        "n_bins_used": result.n_bins,
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
    n_bins = _check_n_bins(n_bins)
    epsilon = _check_epsilon(epsilon)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not math.isfinite(threshold)
        or threshold <= 0
    ):
        raise ValueError(f"threshold must be a positive finite number, got {threshold!r}")
    names = _check_columns(reference_df, current_df, numeric, categorical)
    numeric_set = set(numeric)
    n_ref, n_cur = len(reference_df), len(current_df)

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
        "n_reference": n_ref,
        "n_current": n_cur,
    }
