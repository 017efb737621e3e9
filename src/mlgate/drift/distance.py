"""Distances whose scale does not depend on bins or sample size: normed Wasserstein
(numeric) and Jensen-Shannon (categorical)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.distance import jensenshannon

from mlgate.drift.binning import as_float_array, sorted_valid
from mlgate.drift.counts import local_table, numeric_drift
from mlgate.drift.psi import PsiResult, psi_categorical


def normed_wasserstein_sorted(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> float | None:
    """Normed Wasserstein of two sorted NaN-free samples, through the distinct-value table
    both engines use (:mod:`.counts`)."""
    if ref_sorted.size == 0 or cur_sorted.size == 0:
        return None
    valid = (ref_sorted.size, cur_sorted.size)
    _, distance = numeric_drift(
        local_table(ref_sorted, cur_sorted), missing=(0, 0), valid=valid, n_bins=1, epsilon=0.5
    )
    return distance


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
