"""PSI of one feature, numeric or categorical, and its expectation under no shift."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlgate.drift.binning import (
    MISSING,
    UNSEEN,
    as_float_array,
    as_series,
    bin_counts,
    category_order,
    check_epsilon,
    check_n_bins,
    edge_label,
    quantile_cuts,
    sorted_valid,
    value_counts,
)


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


def numeric_from_bin_counts(
    cuts: np.ndarray,
    ref_counts: np.ndarray,
    cur_counts: np.ndarray,
    missing: tuple[int, int],
    epsilon: float,
) -> PsiResult:
    """PSI from the value bins' counts (right-closed bins between ``cuts``) and the missing
    counts (reference, current): the one place numeric bins become a result, for both
    engines."""
    edges = np.concatenate(([-np.inf], cuts, [np.inf]))
    labels = [edge_label(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    if missing[0] or missing[1]:
        ref_counts = np.append(ref_counts, missing[0])
        cur_counts = np.append(cur_counts, missing[1])
        labels.append(MISSING)
    return _from_counts(ref_counts, cur_counts, labels, epsilon, edges=edges)


def numeric_from_sorted(
    ref_sorted: np.ndarray,
    ref_missing: int,
    cur_sorted: np.ndarray,
    cur_missing: int,
    n_bins: int,
    epsilon: float,
) -> PsiResult:
    cuts = quantile_cuts(ref_sorted, n_bins)
    return numeric_from_bin_counts(
        cuts,
        bin_counts(ref_sorted, cuts),
        bin_counts(cur_sorted, cuts),
        (ref_missing, cur_missing),
        epsilon,
    )


def psi_numeric(
    reference: Any, current: Any, *, n_bins: int = 10, epsilon: float = 1e-4
) -> PsiResult:
    """PSI of a numeric feature on reference-quantile bins (see the module docstring).

    ``n_bins`` is the number of quantile bins asked for; ties can merge them, so the result's
    ``n_bins`` (which also counts a ``<missing>`` bin) may differ.
    """
    n_bins = check_n_bins(n_bins)
    epsilon = check_epsilon(epsilon)
    ref_sorted, ref_missing = sorted_valid(as_float_array(reference, "reference"), "reference")
    cur_sorted, cur_missing = sorted_valid(as_float_array(current, "current"), "current")
    return numeric_from_sorted(ref_sorted, ref_missing, cur_sorted, cur_missing, n_bins, epsilon)


def psi_categorical(reference: Any, current: Any, *, epsilon: float = 1e-4) -> PsiResult:
    """PSI of a categorical feature: a bin per reference category, ``<unseen>``, ``<missing>``.

    Bins follow the categories sorted by their string form, so the result does not depend on
    row order.
    """
    epsilon = check_epsilon(epsilon)
    ref = as_series(reference, "reference")
    cur = as_series(current, "current")
    ref_vc = value_counts(ref)
    cur_vc = value_counts(cur)
    missing = (len(ref) - int(ref_vc.sum()), len(cur) - int(cur_vc.sum()))
    return categorical_from_counts(ref_vc, cur_vc, missing, epsilon)


def categorical_from_counts(
    ref_vc: pd.Series, cur_vc: pd.Series, missing: tuple[int, int], epsilon: float
) -> PsiResult:
    """PSI from per-category counts (index: category, no zero counts) and the missing counts
    (reference, current): the one place categorical bins become a result, for both engines."""
    categories = tuple(sorted(ref_vc.index, key=category_order))
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
    if missing[0] or missing[1]:
        ref_counts = np.append(ref_counts, missing[0])
        cur_counts = np.append(cur_counts, missing[1])
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
