"""ROC AUC with DeLong's variance: one model (CI) and two models on the same rows (paired test).

The gate's promotion rule reads the *lower* bound of these intervals, so the estimates must be
exact with ties, must refuse input on which they are undefined, and must be cheap enough to run
on every slice of a large holdout. Definitions and oracles: the project's STATISTICS.md.

Method (DeLong, DeLong & Clarke-Pearson 1988; fast form by Sun & Xu 2014). With m positives,
n negatives and midranks Tz (all scores pooled), Tx (among positives), Ty (among negatives):

    V10_i = (Tz_i - Tx_i) / n        (share of negatives a positive beats, ties count 1/2)
    V01_j = 1 - (Tz_j - Ty_j) / m    (share of positives that beat a negative, ties 1/2)
    AUC = mean(V10) = mean(V01),     Var(AUC) = var(V10, ddof=1) / m + var(V01, ddof=1) / n

The midranks equal ``scipy.stats.rankdata(method="average")``; they are computed here from a
single sort of the pooled scores (the positives' and negatives' sub-sequences of a sorted array
are already sorted), which is about 3x faster than three ``rankdata`` calls at 1e6 rows and
keeps memory O(N).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

__all__ = [
    "AucResult",
    "PairedAucResult",
    "UndefinedAucError",
    "delong_paired",
    "midrank_components",
    "roc_auc_delong",
    "subset_order",
]


class UndefinedAucError(ValueError):
    """AUC or its variance is undefined for this input (one class, or < 2 of a class).

    A subclass of ``ValueError`` so callers that evaluate slices can catch exactly this case and
    report the slice as *skipped with a reason*, while malformed input (NaN scores, bad labels,
    mismatched lengths) still surfaces as a plain ``ValueError`` - that is a bug, not a small
    slice.
    """


@dataclass(frozen=True)
class AucResult:
    """ROC AUC of one model with its DeLong standard error and normal-theory CI.

    ``ci_clipped`` is True when the raw interval ``auc +/- z * std_error`` left [0, 1] and was
    clipped to it (see :func:`roc_auc_delong`).
    """

    auc: float
    variance: float
    std_error: float
    ci_low: float
    ci_high: float
    n: int
    n_pos: int
    n_neg: int
    ci_clipped: bool
    confidence: float


@dataclass(frozen=True)
class PairedAucResult:
    """DeLong comparison of two models scored on the same rows; ``diff = auc_a - auc_b``.

    ``variance``/``std_error`` are those of ``diff``; ``z`` and the two-sided ``p_value`` test
    ``diff == 0``; ``[ci_low, ci_high]`` is the normal-theory CI of ``diff``, clipped to [-1, 1]
    (``ci_clipped`` says whether that happened).
    """

    auc_a: float
    auc_b: float
    diff: float
    variance: float
    std_error: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float
    n: int
    n_pos: int
    n_neg: int
    ci_clipped: bool
    confidence: float


# --------------------------------------------------------------------------- validation


def _as_1d(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; expected at least one value")
    return arr


def _as_binary_labels(y_true: ArrayLike, name: str = "y_true") -> NDArray[np.bool_]:
    """Labels as a bool array; accepts bool or numbers that are all 0 or 1 (1 = positive)."""
    arr = _as_1d(y_true, name)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf":
        # object arrays (e.g. pandas nullable columns) are fine if they convert cleanly
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must hold binary labels (bool or 0/1), got dtype {arr.dtype}"
            ) from None
    bad = ~((arr == 0) | (arr == 1))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must hold binary labels (bool or 0/1); found {int(bad.sum())} other "
            f"value(s), first {arr[first].item()!r} at index {first}"
        )
    return arr == 1


def _as_finite_scores(y_score: ArrayLike, name: str = "y_score") -> NDArray[np.float64]:
    """Scores as float64; NaN/inf are refused because they have no place in a ranking."""
    arr = _as_1d(y_score, name)
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}") from None
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must be finite; found {int(bad.sum())} NaN/inf value(s), first "
            f"{arr[first].item()!r} at index {first}"
        )
    return arr


def _check_same_length(y: np.ndarray, other: np.ndarray, name: str) -> None:
    if y.shape[0] != other.shape[0]:
        raise ValueError(
            f"y_true and {name} must have the same length, got {y.shape[0]} and {other.shape[0]}"
        )


def _check_classes(y: NDArray[np.bool_]) -> tuple[int, int]:
    n_pos = int(np.count_nonzero(y))
    n_neg = int(y.shape[0] - n_pos)
    if n_pos < 2 or n_neg < 2:
        raise UndefinedAucError(
            "ROC AUC with a DeLong variance needs at least 2 positives and 2 negatives, got "
            f"n_pos={n_pos}, n_neg={n_neg}; the AUC (or its variance) is undefined here"
        )
    return n_pos, n_neg


def _z_quantile(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(norm.ppf(0.5 + confidence / 2.0))


# --------------------------------------------------------------------------- core


def _midranks_sorted(sorted_values: NDArray[np.float64]) -> NDArray[np.float64]:
    """1-based midranks of an already sorted array, O(N): tied runs share their mean rank."""
    n = sorted_values.shape[0]
    starts_mask = np.empty(n, dtype=np.bool_)
    starts_mask[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=starts_mask[1:])
    starts = np.flatnonzero(starts_mask)
    ends = np.append(starts[1:], n)  # exclusive
    # a run covering 0-based positions [s, e) holds 1-based ranks s+1 .. e, mean (s + e + 1) / 2
    run_midrank = (starts + ends + 1) / 2.0
    return np.repeat(run_midrank, ends - starts)


def subset_order(order: NDArray[np.intp], mask: NDArray[np.bool_]) -> NDArray[np.intp]:
    """An argsort of ``score[mask]`` from an argsort ``order`` of ``score``, in O(N), no sort.

    The rows of a slice keep their relative order within the sorted whole, so one sort per
    model serves every slice; tied scores may come out in another order than a fresh argsort
    would give, which midranks do not see.
    """
    position = np.cumsum(mask) - 1
    return position[order[mask[order]]]


def _checked_order(score: NDArray[np.float64], order: ArrayLike | None) -> NDArray[np.intp]:
    if order is None:
        return np.argsort(score)  # stability is irrelevant: tied values share one midrank
    order = np.asarray(order)
    if order.shape != score.shape or not np.all(np.diff(score[order]) >= 0):
        raise ValueError("presorted order does not sort the scores; expected np.argsort(score)")
    return order


def _components(
    y: NDArray[np.bool_],
    score: NDArray[np.float64],
    n_pos: int,
    n_neg: int,
    order: NDArray[np.intp],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(V10, V01) in input order from validated input and the argsort of the pooled scores."""
    z_sorted = score[order]
    is_pos = y[order]
    t_z = _midranks_sorted(z_sorted)
    sorted_components = np.empty(y.shape[0])
    sorted_components[is_pos] = (t_z[is_pos] - _midranks_sorted(z_sorted[is_pos])) / n_neg
    sorted_components[~is_pos] = 1.0 - (t_z[~is_pos] - _midranks_sorted(z_sorted[~is_pos])) / n_pos
    # back to input order: the k-th positive (negative) of the input gets its own component,
    # which the paired test needs to line up model A and model B row by row
    components = np.empty(y.shape[0])
    components[order] = sorted_components
    return components[y], components[~y]


def _sample_var(values: NDArray[np.float64]) -> float:
    # a constant component has variance exactly 0; np.var can return ~1e-34 from rounding of
    # the mean, and the paired test treats 0 specially
    if values.max() == values.min():
        return 0.0
    return float(np.var(values, ddof=1))


def midrank_components(
    y_true: ArrayLike, y_score: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """DeLong's structural components by the Sun & Xu midrank form, O(N log N), ties exact.

    Returns ``(v10, v01)``: ``v10[k]`` is the share of negatives that the k-th positive (in input
    order) outscores, ties counting 1/2; ``v01[k]`` the share of positives that outscore the k-th
    negative. ``mean(v10) == mean(v01) == AUC``. Higher scores mean "more positive".

    Raises ``ValueError`` for malformed input and :class:`UndefinedAucError` (a ``ValueError``)
    when there are fewer than 2 positives or 2 negatives.
    """
    y = _as_binary_labels(y_true)
    score = _as_finite_scores(y_score)
    _check_same_length(y, score, "y_score")
    n_pos, n_neg = _check_classes(y)
    return _components(y, score, n_pos, n_neg, np.argsort(score))


def roc_auc_delong(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    confidence: float = 0.95,
    presorted: ArrayLike | None = None,
) -> AucResult:
    """ROC AUC with DeLong's variance and a normal-theory confidence interval.

    ``y_true`` holds bool or 0/1 labels (1 = positive), ``y_score`` finite scores where higher
    means more likely positive. The CI is ``auc +/- z * std_error`` with
    ``z = Phi^-1(0.5 + confidence / 2)``.

    Near AUC = 1 (or 0) that interval can leave [0, 1]. **Choice: it is clipped to [0, 1] and
    ``ci_clipped`` is set**, rather than built on the logit scale. Clipping keeps the interval
    the one DeLong's method and most tools (pROC, Stata ``roctab``) report, so figures can be
    checked against them; the flag lets a report say that the upper (or lower) bound is a
    boundary, not an estimate. The gate reads the lower bound, which clipping at 1 never moves.

    Known limit: with perfectly separated classes every component is 1 (or 0), so the DeLong
    variance is 0 and the CI collapses to ``[1, 1]`` whatever the sample size. That is what the
    estimator says, but it is over-confident for small samples; callers should keep a minimum
    slice size.

    ``presorted``: ``np.argsort(y_score)`` when the caller already has it (e.g. a slice's
    order from :func:`subset_order`); checked to sort the scores, O(N).

    Raises ``ValueError`` on malformed input (not 1-D, empty, mismatched lengths, labels not
    bool/0/1, NaN/inf or non-numeric scores, confidence outside (0, 1)), and
    :class:`UndefinedAucError` (a ``ValueError``) with fewer than 2 positives or 2 negatives.
    It never returns 0.5 or NaN for such input.
    """
    z_crit = _z_quantile(confidence)
    y = _as_binary_labels(y_true)
    score = _as_finite_scores(y_score)
    _check_same_length(y, score, "y_score")
    n_pos, n_neg = _check_classes(y)
    v10, v01 = _components(y, score, n_pos, n_neg, _checked_order(score, presorted))

    auc = float(v10.mean())
    variance = _sample_var(v10) / n_pos + _sample_var(v01) / n_neg
    std_error = math.sqrt(variance)
    raw_low, raw_high = auc - z_crit * std_error, auc + z_crit * std_error
    ci_low, ci_high = max(raw_low, 0.0), min(raw_high, 1.0)
    return AucResult(
        auc=auc,
        variance=variance,
        std_error=std_error,
        ci_low=ci_low,
        ci_high=ci_high,
        n=n_pos + n_neg,
        n_pos=n_pos,
        n_neg=n_neg,
        ci_clipped=(ci_low != raw_low) or (ci_high != raw_high),
        confidence=float(confidence),
    )


def delong_paired(
    y_true: ArrayLike,
    score_a: ArrayLike,
    score_b: ArrayLike,
    *,
    confidence: float = 0.95,
    presorted: tuple[ArrayLike, ArrayLike] | None = None,
) -> PairedAucResult:
    """DeLong's test of two correlated AUCs: models A and B scored on the same rows.

    ``diff = auc_a - auc_b``. Its variance is ``var(D10, ddof=1) / m + var(D01, ddof=1) / n``
    with ``D10 = V10_A - V10_B`` and ``D01 = V01_A - V01_B`` row by row, which equals
    ``S_AA + S_BB - 2 S_AB`` of STATISTICS.md but is computed without that cancellation. The
    pairing is the point: holdout noise shared by both models cancels in the covariance.

    Two-sided ``p_value = 2 * (1 - Phi(|z|))`` (computed as ``2 * sf(|z|)``). The CI of the
    difference is ``diff +/- z_crit * std_error``, clipped to [-1, 1] (``ci_clipped``).

    Zero variance (documented choice): when both component differences are constant the DeLong
    variance is exactly 0. If also ``diff == 0`` - identical scores, or any two score vectors
    that rank the rows identically - the result is ``z = 0``, ``p_value = 1.0`` and CI
    ``[0, 0]``: there is no evidence of a difference. If ``diff != 0`` (e.g. a perfectly
    separating model against a constant one) the result is ``z = +/-inf``, ``p_value = 0.0`` and
    CI ``[diff, diff]``: on these rows every pair ranks the same way.

    ``presorted``: the argsorts of ``score_a`` and ``score_b``, as in :func:`roc_auc_delong`.

    Raises ``ValueError`` / :class:`UndefinedAucError` as :func:`roc_auc_delong` does.
    """
    z_crit = _z_quantile(confidence)
    y = _as_binary_labels(y_true)
    a = _as_finite_scores(score_a, "score_a")
    b = _as_finite_scores(score_b, "score_b")
    _check_same_length(y, a, "score_a")
    _check_same_length(y, b, "score_b")
    n_pos, n_neg = _check_classes(y)
    order_a, order_b = (None, None) if presorted is None else presorted
    v10_a, v01_a = _components(y, a, n_pos, n_neg, _checked_order(a, order_a))
    v10_b, v01_b = _components(y, b, n_pos, n_neg, _checked_order(b, order_b))

    auc_a, auc_b = float(v10_a.mean()), float(v10_b.mean())
    d10 = v10_a - v10_b
    diff = auc_a - auc_b
    variance = _sample_var(d10) / n_pos + _sample_var(v01_a - v01_b) / n_neg
    std_error = math.sqrt(variance)

    if variance > 0.0:
        z = diff / std_error
        p_value = float(min(1.0, 2.0 * norm.sf(abs(z))))
    elif not d10.any():  # the models rank every positive against every negative alike
        diff, z, p_value = 0.0, 0.0, 1.0
    else:
        z, p_value = math.copysign(math.inf, diff), 0.0
    raw_low, raw_high = diff - z_crit * std_error, diff + z_crit * std_error
    ci_low, ci_high = max(raw_low, -1.0), min(raw_high, 1.0)
    return PairedAucResult(
        auc_a=auc_a,
        auc_b=auc_b,
        diff=diff,
        variance=variance,
        std_error=std_error,
        z=z,
        p_value=p_value,
        ci_low=ci_low,
        ci_high=ci_high,
        n=n_pos + n_neg,
        n_pos=n_pos,
        n_neg=n_neg,
        ci_clipped=(ci_low != raw_low) or (ci_high != raw_high),
        confidence=float(confidence),
    )
