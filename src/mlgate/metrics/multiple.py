"""Holm's step-down correction for testing many slices at once.

Testing k slices each at level alpha makes a false alarm somewhere likely; Holm (1979) keeps the
family-wise error rate at alpha with no assumption about how the tests depend on each other, and
never rejects less than Bonferroni. Both functions take p-values in any order and answer in
that same order.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["holm", "holm_adjusted"]


def _as_p_values(p_values: ArrayLike) -> NDArray[np.float64]:
    p = np.asarray(p_values)
    if p.ndim != 1:
        raise ValueError(f"p_values must be 1-D, got an array of shape {p.shape}")
    if p.dtype == np.bool_ or p.dtype.kind not in "iuf":
        if p.size == 0:
            return np.empty(0)
        raise ValueError(f"p_values must be numbers in [0, 1], got dtype {p.dtype}")
    p = p.astype(np.float64, copy=False)
    bad = ~((p >= 0.0) & (p <= 1.0))  # also catches NaN: a skipped slice has no p-value
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"p_values must be in [0, 1] (no NaN); found {int(bad.sum())} other value(s), "
            f"first {p[first].item()!r} at index {first}"
        )
    return p


def holm(p_values: ArrayLike, *, alpha: float = 0.05) -> NDArray[np.bool_]:
    """Which hypotheses Holm's procedure rejects at family-wise level ``alpha``, in input order.

    Sort the k p-values ascending, p(1) <= ... <= p(k); walk up from i = 1 and reject H(i) while
    p(i) <= alpha / (k - i + 1); stop at the first that fails (it and every larger p-value are
    kept). Ties are walked in input order, which cannot change the outcome because a tied
    p-value faces a threshold at least as large as its predecessor's. An empty input gives an
    empty result. Equivalent to ``holm_adjusted(p_values) <= alpha``.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    p = _as_p_values(p_values)
    k = p.shape[0]
    order = np.argsort(p, kind="stable")
    thresholds = alpha / (k - np.arange(k))  # alpha / (k - i + 1) for 1-based i
    passes = p[order] <= thresholds
    # number of leading passes: the step-down stops at the first failure
    n_rejected = k if passes.all() else int(np.argmin(passes))
    rejected = np.zeros(k, dtype=np.bool_)
    rejected[order[:n_rejected]] = True
    return rejected


def holm_adjusted(p_values: ArrayLike) -> NDArray[np.float64]:
    """Holm-adjusted p-values, in input order: reject H_i at level alpha iff adjusted_i <= alpha.

    adjusted(i) = min(1, max_{j <= i} (k - j + 1) * p(j)) over the ascending order; the running
    maximum keeps the adjusted values in the same order as the raw ones (a step-down can only
    reject a larger p-value after every smaller one). Same values as statsmodels'
    ``multipletests(method="holm")``.
    """
    p = _as_p_values(p_values)
    k = p.shape[0]
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, np.maximum.accumulate((k - np.arange(k)) * p[order]))
    adjusted = np.empty(k)
    adjusted[order] = scaled
    return adjusted
