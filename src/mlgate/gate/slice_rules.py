"""Slice regressions against the champion: each slice's one-sided test of a drop beyond
``gate.slice_margin``, Holm-adjusted over the slices large enough to block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgate.gate.checks import Check
from mlgate.gate.compare import SliceComparison
from mlgate.gate.statistics import POWER, SliceTest, show_vs, show_vs_sig, slice_tests
from mlgate.params import GateParams


def slice_results(
    rules: GateParams, slices: Mapping[str, SliceComparison]
) -> dict[str, SliceTest]:
    tested = {k: v for k, v in slices.items() if v.paired is not None}
    return slice_tests(
        {k: v.paired for k, v in tested.items() if v.paired is not None},
        {k: v.champion_se if v.champion_se is not None else 0.0 for k, v in tested.items()},
        margin=rules.slice_margin,
        alpha=rules.slice_alpha,
    )


def slice_details(rules: GateParams, t: SliceTest) -> dict[str, Any]:
    return {
        "rule": (
            "blocks when shown to drop by more than slice_margin: one-sided test, "
            "Holm-adjusted over the slices that may block"
            if t.may_block
            else "reported only: too small to catch a drop of 2 x slice_margin with "
            f"{POWER:.0%} power"
        ),
        "may_block": t.may_block,
        "auc_delta": t.diff,
        "std_error": t.std_error,
        "champion_std_error": t.planning_se,
        "p_value": t.p_value,
        "p_value_sidedness": f"one-sided, H0: true delta >= -{rules.slice_margin}",
        "p_holm": t.p_holm,
        "alpha": rules.slice_alpha,
        "power_level": t.level,
        "min_detectable_drop": t.min_detectable_drop,
        "power_at_twice_margin": t.power_at_twice_margin,
    }


def slice_regression_checks(rules: GateParams, tests: Mapping[str, SliceTest]) -> list[Check]:
    checks = []
    for name, t in tests.items():
        detect = (
            f"detects a drop of {t.min_detectable_drop:.4f} with {POWER:.0%} power "
            f"(at 2 x margin: {t.power_at_twice_margin:.0%})"
        )
        if t.may_block:
            assert t.p_holm is not None
            # The compared numbers with the digits that tell them apart (0.0500004 vs 0.05).
            holm, alpha = show_vs_sig(t.p_holm, rules.slice_alpha)
            reason = (
                f"slice '{name}' delta {t.diff:+.4f} (paired SE {t.std_error:.4f}); one-sided p "
                f"(H0: drop <= {rules.slice_margin}) {t.p_value:.3g}, Holm-adjusted "
                f"{holm} {'<=' if t.blocks else '>'} alpha {alpha}; {detect}"
            )
        else:
            drop, twice = show_vs(t.min_detectable_drop, 2 * rules.slice_margin)
            reason = (
                f"slice '{name}' reported only (delta {t.diff:+.4f}, one-sided p "
                f"{t.p_value:.3g}): its detectable drop {drop} > 2 x margin {twice} "
                f"({detect}); its floor still applies"
            )
        checks.append(
            Check(
                f"slice_regression[{name}]",
                not t.blocks,
                reason,
                t.diff,
                -rules.slice_margin,
                details=slice_details(rules, t),
            )
        )
    return checks
