"""ROC AUC with DeLong's variance: one model (CI) and two models on the same rows (paired test).

The gate's promotion rule reads the *lower* bound of these intervals, so the estimates must be
exact with ties, must refuse input on which they are undefined, and must be cheap enough to run
on every slice of a large holdout. Definitions and oracles: the project's STATISTICS.md.

Method (DeLong, DeLong & Clarke-Pearson 1988; fast form by Sun & Xu 2014). With m positives,
n negatives and midranks Tz (all scores pooled), Tx (among positives), Ty (among negatives):

    V10_i = (Tz_i - Tx_i) / n        (share of negatives a positive beats, ties count 1/2)
    V01_j = 1 - (Tz_j - Ty_j) / m    (share of positives that beat a negative, ties 1/2)
    AUC = mean(V10) = mean(V01),     Var(AUC) = var(V10, ddof=1) / m + var(V01, ddof=1) / n

The midranks equal ``scipy.stats.rankdata(method="average")``, but no rank is computed: a
component depends only on the row's score and label, so one sort reduces the rows to the
score table (:mod:`mlgate.metrics.score_table`: per distinct score, its positives and
negatives) and the components follow from its cumulative counts, O(distinct scores).

Exact arithmetic. Doubled midranks are integers, so each component is an integer count over a
fixed denominator: ``V10_i = k10_i / (2n)`` with ``k10_i = 2 * (negatives below) + (negatives
tied)``, and ``AUC = sum(k10) / (2mn)``, the Mann-Whitney U doubled. Every sum (the AUC's, a
paired difference's, the sums of squares of the variance) is an exact integer
(:mod:`mlgate.metrics.exact`) and each figure is rounded once at the end; the paired test is
a function of a dozen such sums over rows (:class:`PairedSums`), which partitions add. So a
difference between two equal AUCs is exactly 0, and no figure depends on the order of the
rows: a permuted holdout gives the same bits, which a floating-point mean of components does
not (its last bits follow the summation order).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from decimal import Decimal
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from mlgate.metrics.exact import exact_dot, exact_sum, weighted_sum_squares
from mlgate.metrics.score_table import (
    ScoreTable,
    score_table,
    table_and_rows,
    table_k_values,
)

__all__ = [
    "AucResult",
    "PairedAucResult",
    "PairedSums",
    "UndefinedAucError",
    "delong_paired",
    "midrank_components",
    "paired_from_sums",
    "paired_sums",
    "roc_auc_delong",
    "roc_auc_from_table",
    "subset_order",
    "sums_from_components",
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


# --------------------------------------------------------------------------- checks


def _check_classes(n_pos: int, n_neg: int) -> tuple[int, int]:
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


def subset_order(order: NDArray[np.intp], mask: NDArray[np.bool_]) -> NDArray[np.intp]:
    """An argsort of ``score[mask]`` from an argsort ``order`` of ``score``, in O(N), no sort.

    The rows of a slice keep their relative order within the sorted whole, so one sort per
    model serves every slice; tied scores may come out in another order than a fresh argsort
    would give, which midranks do not see.
    """
    position = np.cumsum(mask) - 1
    return position[order[mask[order]]]


def _sum_squares(k: NDArray[np.int64]) -> int:
    """sum(k**2) exactly, as a Python int (see :func:`mlgate.metrics.exact.exact_dot`)."""
    return exact_dot(k, k)


def _variance_from_sums(m: int, n: int, s10: int, sq10: int, s01: int, sq01: int) -> float:
    """DeLong's ``var(V10)/m + var(V01)/n`` from exact sums of the doubled components.

    ``V10 = k10 / (2n)``, and ``m * sum(k10^2) - sum(k10)^2 = m (m - 1) var(k10)``; the two
    terms are added as fractions and rounded once, so the result does not depend on the order
    of the rows or on how their sums were split across partitions.
    """
    num10 = m * sq10 - s10 * s10
    num01 = n * sq01 - s01 * s01
    variance = Fraction(num10, m * m * (m - 1) * 4 * n * n) + Fraction(
        num01, n * n * (n - 1) * 4 * m * m
    )
    return float(variance)


def _row_components(
    table: ScoreTable, y: NDArray[np.bool_], row_index: NDArray[np.intp]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``(k10 of each positive, k01 of each negative)`` in input order: the table's values
    at each row's score (the join an engine does by score)."""
    k10, k01 = table_k_values(table)
    return k10[row_index[y]], k01[row_index[~y]]


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
    table, y, row_index = table_and_rows(y_true, y_score)
    n_pos, n_neg = _check_classes(table.total_pos, table.total_neg)
    k10, k01 = _row_components(table, y, row_index)
    return k10 / (2.0 * n_neg), k01 / (2.0 * n_pos)


def _auc_result(u2: int, variance: float, n_pos: int, n_neg: int, confidence: float) -> AucResult:
    z_crit = _z_quantile(confidence)
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


def roc_auc_from_table(table: ScoreTable, *, confidence: float = 0.95) -> AucResult:
    """ROC AUC with DeLong's variance and CI from a score table alone (see
    :func:`roc_auc_delong`, which is this function on the table of its rows).

    Each positive at score ``s`` has the component ``k10(s)``, so the sums over positives are
    ``sum_s n_pos(s) k10(s)`` and ``sum_s n_pos(s) k10(s)^2`` - exact integers at any size.
    """
    _z_quantile(confidence)  # a bad confidence is reported before anything about the rows
    n_pos, n_neg = _check_classes(table.total_pos, table.total_neg)
    u2, sq10, s01, sq01 = table_sums(table)
    variance = _variance_from_sums(n_pos, n_neg, u2, sq10, s01, sq01)
    return _auc_result(u2, variance, n_pos, n_neg, confidence)


def table_sums(table: ScoreTable) -> tuple[int, int, int, int]:
    """(sum k10, sum k10^2) over the positives and (sum k01, sum k01^2) over the negatives of
    ``table``'s rows: exact integers, the single-model terms of DeLong's (paired) variance."""
    k10, k01 = table_k_values(table)
    return (
        exact_dot(table.n_pos, k10),
        weighted_sum_squares(table.n_pos, k10),
        exact_dot(table.n_neg, k01),
        weighted_sum_squares(table.n_neg, k01),
    )


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
    _z_quantile(confidence)  # a bad confidence is reported before anything about the rows
    table = score_table(y_true, y_score, presorted)
    return roc_auc_from_table(table, confidence=confidence)


# --------------------------------------------------------------------------- paired


def _exact_int(value: object, name: str) -> int:
    """A sum as a Python int; floats are refused (above 2**53 they are not exact)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)  # Spark returns sums of decimal(38, 0) columns as Decimal
    raise ValueError(f"PairedSums.{name} must be an exact integer, got {value!r}")


@dataclass(frozen=True)
class PairedSums:
    """Exact integer sums over rows from which the paired DeLong test follows (Python ints).

    With ``k10_a`` (``k10_b``) the doubled component of a positive under model A (B) - see
    :func:`mlgate.metrics.score_table.table_k_values`, computed on the table of *all* rows -
    ``sum_k10_a = sum k10_a``, ``sumsq_k10_a = sum k10_a^2``, ``cross_k10 = sum k10_a * k10_b``,
    over the positives; the ``k01`` fields likewise over the negatives. Every field is a sum
    over rows, so sums of disjoint partitions add (``+``) to the sums of their union.
    ``sum_k10_x == sum_k01_x`` (both are twice the Mann-Whitney U of model x), which
    :func:`paired_from_sums` checks.
    """

    n_pos: int
    n_neg: int
    sum_k10_a: int
    sum_k10_b: int
    sumsq_k10_a: int
    sumsq_k10_b: int
    cross_k10: int
    sum_k01_a: int
    sum_k01_b: int
    sumsq_k01_a: int
    sumsq_k01_b: int
    cross_k01: int

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _exact_int(getattr(self, f.name), f.name))

    def __add__(self, other: PairedSums) -> PairedSums:
        if not isinstance(other, PairedSums):
            return NotImplemented
        return PairedSums(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def sums_from_components(
    k10_a: NDArray[np.int64],
    k10_b: NDArray[np.int64],
    k01_a: NDArray[np.int64],
    k01_b: NDArray[np.int64],
) -> PairedSums:
    """The paired sums of some rows: the components of their positives (``k10_*``) and of
    their negatives (``k01_*``) under both models, row by row. Exact at any size."""
    return PairedSums(
        n_pos=k10_a.shape[0],
        n_neg=k01_a.shape[0],
        sum_k10_a=exact_sum(k10_a),
        sum_k10_b=exact_sum(k10_b),
        sumsq_k10_a=exact_dot(k10_a, k10_a),
        sumsq_k10_b=exact_dot(k10_b, k10_b),
        cross_k10=exact_dot(k10_a, k10_b),
        sum_k01_a=exact_sum(k01_a),
        sum_k01_b=exact_sum(k01_b),
        sumsq_k01_a=exact_dot(k01_a, k01_a),
        sumsq_k01_b=exact_dot(k01_b, k01_b),
        cross_k01=exact_dot(k01_a, k01_b),
    )


def paired_sums(
    y_true: ArrayLike,
    score_a: ArrayLike,
    score_b: ArrayLike,
    *,
    presorted: tuple[ArrayLike, ArrayLike] | None = None,
) -> PairedSums:
    """The paired sums of two models' scores on the same rows (local engine).

    ``presorted``: the argsorts of ``score_a`` and ``score_b`` (checked). ``ValueError`` on
    malformed input, as :func:`roc_auc_delong`.
    """
    order_a, order_b = (None, None) if presorted is None else presorted
    table_a, y, rows_a = table_and_rows(y_true, score_a, order_a, name="score_a")
    table_b, _, rows_b = table_and_rows(y, score_b, order_b, name="score_b")
    k10_a, k01_a = _row_components(table_a, y, rows_a)
    k10_b, k01_b = _row_components(table_b, y, rows_b)
    return sums_from_components(k10_a, k10_b, k01_a, k01_b)


def _check_sums(sums: PairedSums) -> tuple[int, int]:
    m, n = _check_classes(sums.n_pos, sums.n_neg)
    for model in ("a", "b"):
        s10, s01 = getattr(sums, f"sum_k10_{model}"), getattr(sums, f"sum_k01_{model}")
        if s10 != s01 or not 0 <= s10 <= 2 * m * n:
            raise ValueError(
                f"inconsistent PairedSums for model {model}: sum_k10={s10} and sum_k01={s01} "
                f"must be equal and within [0, 2 * n_pos * n_neg = {2 * m * n}]; were the "
                "components joined from the table of all rows?"
            )
    return m, n


def _paired_test(diff: float, u2_diff: int, variance: float) -> tuple[float, float, float]:
    """``(std_error, z, p_value)``; the zero-variance cases as :func:`delong_paired` says."""
    std_error = math.sqrt(variance)
    if variance > 0.0:
        z = diff / std_error
        return std_error, z, float(min(1.0, 2.0 * norm.sf(abs(z))))
    if u2_diff == 0:  # constant, zero component differences: every pair ranked alike
        return std_error, 0.0, 1.0
    return std_error, math.copysign(math.inf, diff), 0.0


def paired_from_sums(sums: PairedSums, *, confidence: float = 0.95) -> PairedAucResult:
    """The paired DeLong test (see :func:`delong_paired`) from the exact sums of its rows.

    The differences ``D10 = k10_a - k10_b`` have ``sum D10 = sum_k10_a - sum_k10_b`` and
    ``sum D10^2 = sumsq_k10_a + sumsq_k10_b - 2 cross_k10``, exact integers, so the variance
    is computed without cancellation and is the same bits whichever engine summed the rows.
    ``UndefinedAucError`` with < 2 of a class; ``ValueError`` on inconsistent sums.
    """
    z_crit = _z_quantile(confidence)
    m, n = _check_sums(sums)
    u2_diff = sums.sum_k10_a - sums.sum_k10_b
    variance = _variance_from_sums(
        m,
        n,
        u2_diff,
        sums.sumsq_k10_a + sums.sumsq_k10_b - 2 * sums.cross_k10,
        sums.sum_k01_a - sums.sum_k01_b,
        sums.sumsq_k01_a + sums.sumsq_k01_b - 2 * sums.cross_k01,
    )
    pairs = 2 * m * n
    diff = u2_diff / pairs
    std_error, z, p_value = _paired_test(diff, u2_diff, variance)
    raw_low, raw_high = diff - z_crit * std_error, diff + z_crit * std_error
    ci_low, ci_high = max(raw_low, -1.0), min(raw_high, 1.0)
    return PairedAucResult(
        auc_a=sums.sum_k10_a / pairs,
        auc_b=sums.sum_k10_b / pairs,
        diff=diff,
        variance=variance,
        std_error=std_error,
        z=z,
        p_value=p_value,
        ci_low=ci_low,
        ci_high=ci_high,
        n=m + n,
        n_pos=m,
        n_neg=n,
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

    Raises ``ValueError`` / :class:`UndefinedAucError` as :func:`roc_auc_delong` does. It is
    :func:`paired_from_sums` of :func:`paired_sums`: the route a distributed engine takes too.
    """
    _z_quantile(confidence)  # a bad confidence is reported before anything about the rows
    sums = paired_sums(y_true, score_a, score_b, presorted=presorted)
    return paired_from_sums(sums, confidence=confidence)
