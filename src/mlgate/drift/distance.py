"""Distances whose scale does not depend on bins or sample size: normed Wasserstein
(numeric) and Jensen-Shannon (categorical)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.spatial.distance import jensenshannon

from mlgate.drift.binning import as_float_array, sorted_valid
from mlgate.drift.psi import PsiResult, psi_categorical

# Caps the temporaries of the Wasserstein sweep (a few arrays of this many int64/float64).
_CHUNK = 1 << 20


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


def normed_wasserstein_sorted(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> float | None:
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
    ref_sorted, _ = sorted_valid(as_float_array(reference, "reference"), "reference")
    cur_sorted, _ = sorted_valid(as_float_array(current, "current"), "current")
    return normed_wasserstein_sorted(ref_sorted, cur_sorted)


def js_from_result(result: PsiResult) -> float:
    return float(jensenshannon(result.reference_share, result.current_share, base=2))


def jensen_shannon_distance(reference: Any, current: Any) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) on the bins of :func:`psi_categorical`."""
    return js_from_result(psi_categorical(reference, current))
