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

Exact arithmetic. Doubled midranks are integers, so each component is an integer count over a
fixed denominator: ``V10_i = k10_i / (2n)`` with ``k10_i = 2 * (negatives below) + (negatives
tied)``, and ``AUC = sum(k10) / (2mn)``, the Mann-Whitney U doubled. Every sum (the AUC's, a
paired difference's, the sums of squares of the variance) is an exact integer and each figure
is rounded once at the end. So a difference between two equal AUCs is exactly 0, and no
figure depends on the order of the rows: a permuted holdout gives the same bits, which a
floating-point mean of components does not (its last bits follow the summation order).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

__all__ = [
    "AucResult",
    "PairedAucResult",
    "UndefinedAucError",
    "canonical_rows",
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


def _doubled_midranks_sorted(sorted_values: NDArray[np.float64]) -> NDArray[np.int64]:
    """2 x the 1-based midranks of an already sorted array, O(N), as exact integers.

    A tied run covering 0-based positions [s, e) holds ranks s+1 .. e, mean (s + e + 1) / 2;
    doubling keeps every midrank an integer, so the counts below are exact.
    """
    n = sorted_values.shape[0]
    starts_mask = np.empty(n, dtype=np.bool_)
    starts_mask[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=starts_mask[1:])
    starts = np.flatnonzero(starts_mask)
    ends = np.append(starts[1:], n)  # exclusive
    return np.repeat(starts + ends + 1, ends - starts).astype(np.int64, copy=False)


def subset_order(order: NDArray[np.intp], mask: NDArray[np.bool_]) -> NDArray[np.intp]:
    """An argsort of ``score[mask]`` from an argsort ``order`` of ``score``, in O(N), no sort.

    The rows of a slice keep their relative order within the sorted whole, so one sort per
    model serves every slice; tied scores may come out in another order than a fresh argsort
    would give, which midranks do not see.
    """
    position = np.cumsum(mask) - 1
    return position[order[mask[order]]]


def canonical_rows(
    y: NDArray[np.bool_], score: NDArray[np.float64], order: NDArray[np.intp]
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """The same (label, score) pairs in one fixed order: positives, then negatives, each by
    ascending score. ``order`` is ``np.argsort(score)``.

    Floating-point sums depend on the order of their terms; a mean loss computed over these
    rows is the same to the last bit whatever order the holdout's rows came in (within a class,
    tied scores are equal terms), at the cost of two gathers instead of a sort.
    """
    sorted_score, sorted_y = score[order], y[order]
    n_pos = int(np.count_nonzero(sorted_y))
    labels = np.zeros(y.shape[0], dtype=np.bool_)
    labels[:n_pos] = True
    return labels, np.concatenate([sorted_score[sorted_y], sorted_score[~sorted_y]])


def _checked_order(score: NDArray[np.float64], order: ArrayLike | None) -> NDArray[np.intp]:
    if order is None:
        return np.argsort(score)  # stability is irrelevant: tied values share one midrank
    order = np.asarray(order)
    if order.shape != score.shape or not np.all(np.diff(score[order]) >= 0):
        raise ValueError("presorted order does not sort the scores; expected np.argsort(score)")
    return order


def _counts(
    y: NDArray[np.bool_], score: NDArray[np.float64], n_pos: int, order: NDArray[np.intp]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """DeLong's components as integer numerators, in input order: ``(k10, k01)``.

    ``k10[i] = 2 * (negatives below positive i) + (negatives tied with it)``, so
    ``V10_i = k10[i] / (2n)``; ``k01[j] = 2 * (positives above negative j) + (positives tied)``,
    so ``V01_j = k01[j] / (2m)``. They are the doubled midrank differences of Sun & Xu.
    """
    z_sorted = score[order]
    is_pos = y[order]
    t_z = _doubled_midranks_sorted(z_sorted)
    sorted_k = np.empty(y.shape[0], dtype=np.int64)
    sorted_k[is_pos] = t_z[is_pos] - _doubled_midranks_sorted(z_sorted[is_pos])
    sorted_k[~is_pos] = 2 * n_pos - (t_z[~is_pos] - _doubled_midranks_sorted(z_sorted[~is_pos]))
    # back to input order: the k-th positive (negative) of the input gets its own count,
    # which the paired test needs to line up model A and model B row by row
    counts = np.empty(y.shape[0], dtype=np.int64)
    counts[order] = sorted_k
    return counts[y], counts[~y]


_INT64_MAX = int(np.iinfo(np.int64).max)


def _sum_squares(k: NDArray[np.int64]) -> int:
    """sum(k**2) exactly, as a Python int: int64 partial sums small enough not to overflow."""
    biggest = int(np.abs(k).max())
    if biggest > 3_000_000_000:  # k*k itself would overflow int64: beyond 1.5e9 rows a class
        return sum(int(v) * int(v) for v in k.tolist())
    squares = k * k
    per_chunk = max(1, _INT64_MAX // max(biggest * biggest, 1))
    return sum(
        int(squares[i : i + per_chunk].sum()) for i in range(0, squares.shape[0], per_chunk)
    )


def _var_numerator(k: NDArray[np.int64]) -> tuple[int, int]:
    """``(sum(k), len(k) * sum(k**2) - sum(k)**2)``: the sum, and len(k)**2 * (len(k) - 1) /
    len(k) times the sample variance (ddof=1) of ``k``, both exact; 0 iff ``k`` is constant."""
    total = int(k.sum())  # exact: |sum| <= m * 2n stays far inside int64 below 4e9 rows
    return total, k.shape[0] * _sum_squares(k) - total * total


def _variance(
    k10: NDArray[np.int64], k01: NDArray[np.int64], n_pos: int, n_neg: int
) -> tuple[int, float]:
    """(sum of k10, DeLong variance ``var(V10)/m + var(V01)/n``) from exact integer sums.

    ``var(V10) = var(k10) / (2n)^2`` and ``var(k) = num / (m (m - 1))``; the two terms are added
    as fractions and rounded once, so the result does not depend on the order of the rows.
    """
    m, n = n_pos, n_neg
    s10, num10 = _var_numerator(k10)
    _, num01 = _var_numerator(k01)
    variance = Fraction(num10, m * m * (m - 1) * 4 * n * n) + Fraction(
        num01, n * n * (n - 1) * 4 * m * m
    )
    return s10, float(variance)


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
    k10, k01 = _counts(y, score, n_pos, np.argsort(score))
    return k10 / (2.0 * n_neg), k01 / (2.0 * n_pos)


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
    k10, k01 = _counts(y, score, n_pos, _checked_order(score, presorted))
    u2, variance = _variance(k10, k01, n_pos, n_neg)
    auc = u2 / (2 * n_pos * n_neg)  # int / int: correctly rounded, whatever the row order
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
    k10_a, k01_a = _counts(y, a, n_pos, _checked_order(a, order_a))
    k10_b, k01_b = _counts(y, b, n_pos, _checked_order(b, order_b))

    # Every figure comes from exact integer sums: equal AUCs give a difference of exactly 0,
    # and no figure depends on the order of the rows.
    pairs = 2 * n_pos * n_neg
    auc_a, auc_b = int(k10_a.sum()) / pairs, int(k10_b.sum()) / pairs
    u2_diff, variance = _variance(k10_a - k10_b, k01_a - k01_b, n_pos, n_neg)
    diff = u2_diff / pairs
    std_error = math.sqrt(variance)

    if variance > 0.0:
        z = diff / std_error
        p_value = float(min(1.0, 2.0 * norm.sf(abs(z))))
    elif u2_diff == 0:  # constant, zero component differences: every pair ranked alike
        z, p_value = 0.0, 1.0
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
