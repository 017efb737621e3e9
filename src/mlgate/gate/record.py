"""The ``comparison`` record of gate.json: every figure of the paired comparison, overall and per
slice, with the rule details the checks used."""

from __future__ import annotations

from typing import Any

from mlgate.gate.champion_rules import superiority_details
from mlgate.gate.compare import Comparison
from mlgate.gate.slice_rules import slice_details, slice_results
from mlgate.params import GateParams

# The regression test's p value beside the slice's two-sided one in gate.json's comparison.
_RECORD_KEYS = {"p_value": "p_drop", "p_value_sidedness": "p_drop_sidedness"}


def comparison_record(
    rules: GateParams, comparison: Comparison, alpha: float, earlier_decisions: int
) -> dict[str, Any]:
    p = comparison.paired
    tests = slice_results(rules, comparison.slices)
    slices: dict[str, Any] = {}
    for k, v in comparison.slices.items():
        if v.paired is None:
            slices[k] = None
            continue
        slices[k] = {
            "n": v.n,
            "auc_candidate": v.paired.auc_a,
            "auc_champion": v.paired.auc_b,
            "auc_delta": v.paired.diff,
            "p_value": v.paired.p_value,
            "p_value_sidedness": "two-sided, H0: true delta = 0",
            **{
                _RECORD_KEYS.get(key, key): value
                for key, value in slice_details(rules, tests[k]).items()
                if key != "rule"
            },
        }
    return {
        "auc_candidate": p.auc_a,
        "auc_champion": p.auc_b,
        "auc_delta": p.diff,
        "auc_delta_se": p.std_error,
        "auc_delta_ci_low": p.ci_low,
        "auc_delta_ci_high": p.ci_high,
        "confidence": p.confidence,
        "p_value": p.p_value,
        "p_value_sidedness": "two-sided, H0: true delta = 0",
        "superiority": superiority_details(rules, p, alpha),
        "holdout_reuse": {
            "earlier_decisions": earlier_decisions,
            "spend_alpha": rules.holdout_reuse.spend_alpha,
            "alpha": rules.superiority_alpha,
            "alpha_used": alpha,
        },
        "n": p.n,
        "champion_scores": comparison.champion_scores,
        "champion_metrics_same_rows": comparison.champion,
        "slices": slices,
    }
