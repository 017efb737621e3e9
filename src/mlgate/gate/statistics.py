"""The statistical rules of the gate, as pure functions of DeLong results (docs/statistics.md).

Each rule states which error it controls, so every default has an error rate that holds on any
data (normal approximation of DeLong's statistic), not just on the data it was tuned on:

* **Promotion** (:func:`superiority`): the candidate's AUC must be *shown* higher than the
  champion's - one-sided lower confidence bound of the paired delta above 0 at level
  ``alpha`` - and the point delta must reach ``min_delta`` (materiality). A candidate that is
  not better is promoted at most ``alpha`` of the time whatever the paired SE.
* **Slices** (:func:`slice_tests`): a slice blocks when it is shown to have dropped by more than
  the margin (one-sided, Holm across the slices that may block), so false alarms stay under
  ``slice_alpha`` family-wise. Only slices large enough that the test catches a drop of twice
  the margin at least 80 % of the time may block; the others are reported with the drop they
  could detect (their floor still applies).
* **Floors** (:func:`holdout_floor`, :func:`slice_floor`): the holdout must show it is above
  its floor (CI lower bound); a slice fails its floor when shown below it (CI upper bound).
* **Holdout reuse** (:func:`spent_alpha`): optionally, the k-th decision on one holdout tests at
  ``alpha / (k (k + 1))``, which sums to ``alpha`` over any number of decisions.

The benchmark benchmarks/gate_calibration.py calls these same functions on simulated data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scipy.stats import norm

from mlgate.metrics import PairedAucResult, holm_adjusted

POWER = 0.80  # the power every "minimum detectable" figure is stated at
Z_POWER = float(norm.ppf(POWER))


def z_one_sided(alpha: float) -> float:
    """Critical value of a one-sided test at level ``alpha``: P(Z > z) = alpha."""
    return float(norm.isf(alpha))


def spent_alpha(alpha: float, earlier_decisions: int, spend: bool) -> float:
    """The one-sided level for the (earlier_decisions + 1)-th decision on the same holdout.

    Spending: the k-th decision gets alpha / (k (k + 1)); sum_k 1 / (k (k + 1)) = 1, so by the
    union bound the chance that *any* decision on this holdout promotes a candidate that is
    not better stays under ``alpha``, however many there are and however they depend.
    """
    if earlier_decisions < 0:
        raise ValueError(f"earlier_decisions must be >= 0, got {earlier_decisions}")
    if not spend:
        return alpha
    k = earlier_decisions + 1
    return alpha / (k * (k + 1))


@dataclass(frozen=True)
class Superiority:
    """The promotion rule on the paired AUC delta, with everything needed to audit it."""

    diff: float
    std_error: float
    alpha: float  # one-sided level actually used
    lower_bound: float  # diff - z(alpha) * SE: one-sided (1 - alpha) lower confidence bound
    p_value: float  # one-sided, H0: true delta <= 0
    shown: bool  # lower_bound > 0
    material: bool  # diff >= min_delta
    min_detectable_gain: float  # true gain promoted with 80 % probability at this SE


def superiority(diff: float, std_error: float, *, alpha: float, min_delta: float) -> Superiority:
    """Superiority at one-sided ``alpha`` plus materiality (point delta >= ``min_delta``).

    Both conditions are thresholds on the same estimate, ``diff > z SE`` and
    ``diff >= min_delta``, so the gain promoted with probability 80 % is
    ``max(min_delta, z SE) + z_0.8 SE`` (normal approximation, SE taken as known).
    """
    z = z_one_sided(alpha)
    # SE 0: every pair of rows ranks the same way, so the sign of diff is certain
    p_value = float(norm.sf(diff / std_error)) if std_error > 0 else float(diff <= 0)
    lower = diff - z * std_error
    return Superiority(
        diff=diff,
        std_error=std_error,
        alpha=alpha,
        lower_bound=lower,
        p_value=p_value,
        shown=lower > 0,
        material=diff >= min_delta,
        min_detectable_gain=max(min_delta, z * std_error) + Z_POWER * std_error,
    )


@dataclass(frozen=True)
class SliceTest:
    """One slice's regression test: may it block, and did it?"""

    diff: float
    std_error: float  # paired SE of the slice delta (what the test uses)
    planning_se: float  # the champion's own SE in the slice (what decides "may block")
    p_value: float  # one-sided, H0: true delta >= -margin (no drop beyond the margin)
    p_holm: float | None  # Holm-adjusted over the slices that may block; None if reported only
    may_block: bool
    blocks: bool
    level: float  # Bonferroni level alpha / k used for the power statement
    min_detectable_drop: float  # drop caught with 80 % probability at `level`
    power_at_twice_margin: float


def _p_drop(diff: float, std_error: float, margin: float) -> float:
    if std_error > 0:
        return float(norm.cdf((diff + margin) / std_error))
    return 0.0 if diff < -margin else 1.0


def slice_tests(
    results: Mapping[str, PairedAucResult],
    planning_se: Mapping[str, float],
    *,
    margin: float,
    alpha: float,
) -> dict[str, SliceTest]:
    """Per slice: one-sided test of a drop beyond ``margin``, Holm over the slices that may block.

    A slice may block when its test, at the Bonferroni level ``alpha / k`` (k = slices tested,
    the worst case of Holm's thresholds), would catch a true drop of ``2 * margin`` with
    probability >= 80 %: when ``margin + (z + z_0.8) SE_plan <= 2 * margin``. ``SE_plan`` is the
    champion's own (unpaired) DeLong SE in the slice: it depends on the slice and the champion
    only, so a candidate cannot escape the test by making the slice noisier, and it bounds the
    paired SE whenever the two models' AUC estimates correlate at 0.5 or more. Holm over the
    slices that may block keeps the family-wise false alarm <= alpha on any data.
    """
    k = len(results)
    if k == 0:
        return {}
    level = alpha / k
    z = z_one_sided(level)
    mdd = {name: margin + (z + Z_POWER) * planning_se[name] for name in results}
    may_block = [name for name in results if mdd[name] <= 2 * margin]
    p = {name: _p_drop(r.diff, r.std_error, margin) for name, r in results.items()}
    adjusted = dict(
        zip(may_block, (float(v) for v in holm_adjusted([p[n] for n in may_block])), strict=True)
    )
    out = {}
    for name, r in results.items():
        se = planning_se[name]
        # P(reject at `level` | true delta = -2 margin), at the planning SE
        power = float(norm.cdf(margin / se - z)) if se > 0 else 1.0
        p_holm = adjusted.get(name)
        out[name] = SliceTest(
            diff=r.diff,
            std_error=r.std_error,
            planning_se=se,
            p_value=p[name],
            p_holm=p_holm,
            may_block=p_holm is not None,
            blocks=p_holm is not None and p_holm <= alpha,
            level=level,
            min_detectable_drop=mdd[name],
            power_at_twice_margin=power,
        )
    return out


def holdout_floor(ci_low: float, floor: float) -> bool:
    """The holdout must *show* it reaches the floor: CI lower bound >= floor."""
    return ci_low >= floor


def slice_floor(ci_high: float, floor: float) -> bool:
    """A slice fails its floor only when *shown* below it: CI upper bound < floor."""
    return not ci_high < floor


def show_vs(value: float, bound: float, digits: int = 4) -> tuple[str, str]:
    """``value`` and ``bound`` printed with enough decimals that they differ when they do.

    0.73996 against 0.74 reads ``0.73996 vs 0.74000``, never ``0.7400 vs 0.7400``.
    """
    if math.isfinite(value) and math.isfinite(bound):
        while digits < 17 and value != bound and f"{value:.{digits}f}" == f"{bound:.{digits}f}":
            digits += 1
    return f"{value:.{digits}f}", f"{bound:.{digits}f}"


def show_vs_sig(value: float, bound: float, digits: int = 3) -> tuple[str, str]:
    """:func:`show_vs` in significant digits, for p-values against alpha.

    A Holm p of 0.0500004 against alpha 0.05 reads ``0.0500004 vs 0.05``, never ``0.05 vs 0.05``.
    """
    if math.isfinite(value) and math.isfinite(bound):
        while digits < 17 and value != bound and f"{value:.{digits}g}" == f"{bound:.{digits}g}":
            digits += 1
    return f"{value:.{digits}g}", f"{bound:.{digits}g}"
