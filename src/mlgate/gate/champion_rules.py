"""Rules against the champion: its committed metrics exist, the candidate is materially and
(optionally) significantly better, no metric is worse beyond its non-inferiority margin, and no
slice regressed (:mod:`mlgate.gate.slice_rules`). The statistics live in
:mod:`mlgate.gate.statistics`; this module words the checks."""

from __future__ import annotations

from typing import Any

from mlgate.gate.checks import Check, Missing
from mlgate.gate.compare import ChampionEvidence, Comparison
from mlgate.gate.floors import auc_value
from mlgate.gate.slice_rules import slice_regression_checks, slice_results
from mlgate.gate.statistics import POWER, show_vs, show_vs_sig, superiority
from mlgate.metrics import PairedAucResult
from mlgate.params import GateParams


def lower_is_better(metric: str) -> bool:
    """Direction from the name (scikit-learn convention); unknown suffixes are an error."""
    if metric.endswith(("_loss", "_error")):
        return True
    if metric.endswith(("_auc", "_score")):
        return False
    raise ValueError(
        f"metric '{metric}': cannot tell its direction; expected a name ending in "
        "_loss/_error (lower is better) or _auc/_score (higher is better)"
    )


def _committed_check(committed: dict[str, Any] | Missing) -> Check:
    if isinstance(committed, Missing):
        return Check("champion_metrics", False, committed.reason)
    committed_auc = auc_value(committed.get("roc_auc"))
    if committed_auc is None:
        return Check(
            "champion_metrics",
            False,
            "champion's committed metrics/holdout.json has no roc_auc in [0, 1]",
        )
    return Check(
        "champion_metrics",
        True,
        f"champion's committed holdout ROC AUC {committed_auc:.4f}",
        committed_auc,
    )


def superiority_details(rules: GateParams, p: PairedAucResult, alpha: float) -> dict[str, Any]:
    s = superiority(p.diff, p.std_error, alpha=alpha, min_delta=rules.min_delta)
    return {
        "rule": (
            f"promote only if the one-sided {1 - alpha:.4g} lower bound of the paired AUC "
            "delta is > 0 (superiority) and the delta is >= min_delta (materiality)"
            if rules.require_superiority
            else "promote if the paired AUC delta is >= min_delta (point estimate; no error "
            "control: gate.require_superiority is false)"
        ),
        "auc_delta": p.diff,
        "std_error": p.std_error,
        "alpha": rules.superiority_alpha,
        "alpha_used": alpha,
        "lower_bound": s.lower_bound,
        "p_value": s.p_value,
        "p_value_sidedness": "one-sided, H0: true delta <= 0",
        "p_value_two_sided": p.p_value,
        "p_value_two_sided_sidedness": "two-sided, H0: true delta = 0",
        "min_delta": rules.min_delta,
        "min_detectable_gain": s.min_detectable_gain,
        "power": POWER,
        "shown": s.shown,
        "material": s.material,
    }


def _improvement_checks(rules: GateParams, p: PairedAucResult, alpha: float) -> list[Check]:
    d = superiority_details(rules, p, alpha)
    se_text = (
        f"paired SE {p.std_error:.5f}; gain detectable with {POWER:.0%} power at this n: "
        f"{d['min_detectable_gain']:+.4f}"
    )
    delta, floor = show_vs(p.diff, rules.min_delta)
    checks = [
        Check(
            "auc_improvement",
            d["material"],
            f"materiality: paired AUC delta {delta} {'>=' if d['material'] else '<'} "
            f"min_delta {floor}; {se_text}",
            p.diff,
            rules.min_delta,
            details=d,
        )
    ]
    if rules.require_superiority:
        low, zero = show_vs(d["lower_bound"], 0.0)
        p_one, alpha_text = show_vs_sig(d["p_value"], alpha)
        checks.append(
            Check(
                "auc_superiority",
                d["shown"],
                f"superiority: one-sided {1 - alpha:.4g} lower bound of the delta {low} "
                f"{'>' if d['shown'] else '<='} {zero} (one-sided p {p_one} vs alpha "
                f"{alpha_text}, H0: delta <= 0; two-sided p {p.p_value:.3g}); {se_text}",
                d["lower_bound"],
                0.0,
                details=d,
            )
        )
    return checks


def _non_inferiority_checks(rules: GateParams, comparison: Comparison) -> list[Check]:
    checks = []
    for metric, margin in sorted(rules.non_inferiority.items()):
        name = f"non_inferiority[{metric}]"
        try:
            lower = lower_is_better(metric)
        except ValueError as exc:
            checks.append(Check(name, False, str(exc), None, margin))
            continue
        cand, champ = comparison.candidate.get(metric), comparison.champion.get(metric)
        if not isinstance(cand, int | float) or not isinstance(champ, int | float):
            checks.append(
                Check(
                    name,
                    False,
                    f"'{metric}' missing for {'candidate' if cand is None else 'champion'}",
                    None,
                    margin,
                )
            )
            continue
        worsening = (cand - champ) if lower else (champ - cand)
        worse, bound = show_vs(worsening, margin)
        checks.append(
            Check(
                name,
                worsening <= margin,
                f"{metric} {cand:.4f} vs champion {champ:.4f} on the same rows "
                f"(worse by {worse}, margin {bound}; point estimate)",
                worsening,
                margin,
            )
        )
    return checks


def champion_checks(rules: GateParams, evidence: ChampionEvidence, alpha: float) -> list[Check]:
    checks = [_committed_check(evidence.committed_metrics)]
    comparison = evidence.comparison
    if isinstance(comparison, Missing):
        checks.append(Check("paired_comparison", False, comparison.reason))
        return checks
    checks += _improvement_checks(rules, comparison.paired, alpha)
    checks += _non_inferiority_checks(rules, comparison)
    checks.extend(slice_regression_checks(rules, slice_results(rules, comparison.slices)))
    return checks
