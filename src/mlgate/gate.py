"""The promotion decision: every rule is a named check; the candidate is promoted only if all pass.

Fail closed: evidence that is missing, unreadable or stale arrives here as a :class:`Missing`
and turns into a failed check naming it. ``decide`` never raises on a rejection.

Comparisons with the champion are *paired*: both models are scored on the candidate's holdout
rows, so the shared sampling noise cancels (DeLong's paired test). The champion's scores are
its committed predictions when its dvc.lock proves they were made on these exact rows
(:mod:`mlgate.champion_scores`), else the champion's model re-scores the rows.
The statistics of each rule (what it decides, which error it controls) live in
:mod:`mlgate.gate_rules` and docs/statistics.md; this module applies them to the evidence and
words the reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlgate.champion import Champion
from mlgate.evaluation import holdout_metrics
from mlgate.gate_rules import (
    POWER,
    SliceTest,
    holdout_floor,
    show_vs,
    slice_floor,
    slice_tests,
    spent_alpha,
    superiority,
)
from mlgate.metrics import (
    PairedAucResult,
    UndefinedAucError,
    delong_paired,
    roc_auc_delong,
    subset_order,
)
from mlgate.params import GateParams
from mlgate.slices import Predicate


@dataclass(frozen=True)
class Missing:
    """Evidence that could not be obtained, and why (becomes a failed check)."""

    reason: str


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    reason: str
    value: Any = None
    threshold: Any = None
    # Structured figures behind the reason (rule, SE, p values with their sidedness...), so
    # readers such as the report never parse the reason text.
    details: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "passed": self.passed,
            "value": self.value,
            "threshold": self.threshold,
            "reason": self.reason,
        }
        if self.details is not None:
            out["details"] = self.details
        return out


@dataclass(frozen=True)
class SliceComparison:
    n: int
    paired: PairedAucResult | None
    skip_reason: str | None = None
    # The champion's own DeLong SE in the slice: decides whether the slice may block.
    champion_se: float | None = None


@dataclass(frozen=True)
class Comparison:
    """Candidate and champion scored on the same holdout rows."""

    paired: PairedAucResult
    candidate: dict[str, Any]
    champion: dict[str, Any]
    slices: dict[str, SliceComparison] = field(default_factory=dict)
    # Where the champion's scores came from: its committed predictions or a re-scoring (why).
    champion_scores: str = "re-scored"


@dataclass(frozen=True)
class ChampionEvidence:
    champion: Champion
    committed_metrics: dict[str, Any] | Missing
    comparison: Comparison | Missing


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


def compare(
    frame: pd.DataFrame,
    y_true: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    slices: Mapping[str, Predicate],
    *,
    min_samples: int,
    confidence: float,
    threshold: float,
    calibration_bins: int,
    champion_scores: str = "re-scored",
) -> Comparison:
    """Paired DeLong test overall and per slice, plus every metric of both on the same rows."""
    y = np.asarray(y_true).astype(bool)
    options: dict[str, Any] = {
        "threshold": threshold,
        "confidence": confidence,
        "calibration_bins": calibration_bins,
    }

    def one_slice(predicate: Predicate) -> SliceComparison:
        mask = predicate.mask(frame)
        n, n_pos = int(mask.sum()), int(y[mask].sum())
        if n < min_samples or n_pos < 2 or n - n_pos < 2:
            return SliceComparison(n, None, f"{n} rows, {n_pos} positive: too few")
        champion_order = subset_order(orders[1], mask)
        try:
            paired = delong_paired(
                y[mask],
                candidate[mask],
                champion[mask],
                confidence=confidence,
                presorted=(subset_order(orders[0], mask), champion_order),
            )
            alone = roc_auc_delong(y[mask], champion[mask], presorted=champion_order)
        except UndefinedAucError as exc:
            return SliceComparison(n, None, str(exc))
        return SliceComparison(n, paired, champion_se=alone.std_error)

    # The pieces are independent and mostly numpy gathers and sorts, which release the GIL:
    # two threads share them (1e6 rows: 0.9 s -> 0.55 s). Each result is what it would be alone.
    with ThreadPoolExecutor(2) as pool:
        # One sort per model serves the whole holdout and every slice (subset_order).
        sorts = [pool.submit(np.argsort, scores) for scores in (candidate, champion)]
        orders = sorts[0].result(), sorts[1].result()
        overall = pool.submit(
            delong_paired, y, candidate, champion, confidence=confidence, presorted=orders
        )
        metrics = [
            pool.submit(holdout_metrics, y, scores, **options, order=order)
            for scores, order in ((candidate, orders[0]), (champion, orders[1]))
        ]
        per_slice = dict(zip(slices, pool.map(one_slice, slices.values()), strict=True))
        return Comparison(
            paired=overall.result(),
            candidate=metrics[0].result(),
            champion=metrics[1].result(),
            slices=per_slice,
            champion_scores=champion_scores,
        )


def _f(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _evidence_checks(
    rules: GateParams, validation: Any, behavioral: Any, stale: list[str] | Missing
) -> list[Check]:
    checks = []
    if rules.require_validation:
        if isinstance(validation, Missing):
            checks.append(Check("validation_passed", False, validation.reason))
        else:
            ok = validation.get("passed") is True
            checks.append(
                Check(
                    "validation_passed",
                    ok,
                    "data passed its contract"
                    if ok
                    else "metrics/validation.json does not say passed: true",
                    validation.get("passed"),
                    True,
                )
            )
    if rules.require_behavioral:
        if isinstance(behavioral, Missing):
            checks.append(Check("behavioral_passed", False, behavioral.reason))
        else:
            ok = behavioral.get("passed") is True
            failed = [
                t["name"]
                for t in behavioral.get("tests", [])
                if isinstance(t, dict) and t.get("passed") is False
            ]
            checks.append(
                Check(
                    "behavioral_passed",
                    ok,
                    "every behavioral test passed"
                    if ok
                    else f"behavioral tests failed: {', '.join(failed) or '?'}",
                    behavioral.get("passed"),
                    True,
                )
            )
    if isinstance(stale, Missing):
        checks.append(Check("evidence_fresh", False, stale.reason))
    else:
        checks.append(
            Check(
                "evidence_fresh",
                not stale,
                "outputs match dvc.lock"
                if not stale
                else f"outputs differ from dvc.lock: {', '.join(stale)}",
                len(stale),
                0,
            )
        )
    return checks


def _auc_value(value: Any) -> float | None:
    """A ROC AUC read from a metrics file, or None unless it is a number in [0, 1].

    ``true`` is an int to Python and NaN compares false; neither may pass a floor.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0.0 <= value <= 1.0 else None


def _floor_check(
    name: str, entry: Any, bound_key: str, floor: float, where: str, *, lower: bool
) -> Check:
    """One floor judged with its CI: ``lower`` = must show it is above (CI lower bound >= floor),
    else fails only when shown below (CI upper bound < floor)."""
    auc = _auc_value(entry.get("roc_auc")) if isinstance(entry, dict) else None
    bound = _auc_value(entry.get(bound_key)) if isinstance(entry, dict) else None
    if auc is None or bound is None:
        missing = "roc_auc" if auc is None else bound_key
        return Check(name, False, f"{where} has no {missing} in [0, 1]", None, floor)
    if lower:
        passed = holdout_floor(bound, floor)
        rule = "CI lower bound >= floor (the model must show it reaches the floor)"
        shown, floor_text = show_vs(bound, floor)
        verdict = f"CI lower bound {shown} {'>=' if passed else '<'} floor {floor_text}"
    else:
        passed = slice_floor(bound, floor)
        rule = "fails when the CI upper bound < floor (shown below the floor)"
        shown, floor_text = show_vs(bound, floor)
        verdict = f"CI upper bound {shown} {'>=' if passed else '<'} floor {floor_text}"
        if passed and auc < floor:
            verdict += " (point estimate below the floor, but not shown below it)"
    point, _ = show_vs(auc, floor)
    return Check(
        name,
        passed,
        f"{where}: ROC AUC {point}; {verdict}",
        auc,
        floor,
        details={"rule": rule, "roc_auc": auc, bound_key: bound, "floor": floor},
    )


def _floor_checks(rules: GateParams, holdout: Any, slices: Any) -> list[Check]:
    if isinstance(holdout, Missing):
        checks = [Check("holdout_auc_floor", False, holdout.reason, None, rules.min_auc)]
    else:
        checks = [
            _floor_check(
                "holdout_auc_floor",
                holdout,
                "roc_auc_ci_low",
                rules.min_auc,
                "metrics/holdout.json",
                lower=True,
            )
        ]
    if isinstance(slices, Missing) or not isinstance(slices.get("slices"), dict):
        reason = (
            slices.reason
            if isinstance(slices, Missing)
            else "metrics/slices.json has no 'slices' mapping"
        )
        checks.append(Check("slice_auc_floor", False, reason, None, rules.min_slice_auc))
        return checks
    for name, entry in slices["slices"].items():
        if isinstance(entry, dict) and entry.get("skipped") is True:
            continue
        checks.append(
            _floor_check(
                f"slice_auc_floor[{name}]",
                entry,
                "roc_auc_ci_high",
                rules.min_slice_auc,
                f"metrics/slices.json: slice '{name}'",
                lower=False,
            )
        )
    return checks


def _committed_check(committed: dict[str, Any] | Missing) -> Check:
    if isinstance(committed, Missing):
        return Check("champion_metrics", False, committed.reason)
    committed_auc = _auc_value(committed.get("roc_auc"))
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


def _superiority_details(rules: GateParams, p: PairedAucResult, alpha: float) -> dict[str, Any]:
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
    d = _superiority_details(rules, p, alpha)
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
        checks.append(
            Check(
                "auc_superiority",
                d["shown"],
                f"superiority: one-sided {1 - alpha:.4g} lower bound of the delta {low} "
                f"{'>' if d['shown'] else '<='} {zero} (one-sided p {d['p_value']:.3g} vs alpha "
                f"{alpha:.4g}, H0: delta <= 0; two-sided p {p.p_value:.3g}); {se_text}",
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


def _champion_checks(rules: GateParams, evidence: ChampionEvidence, alpha: float) -> list[Check]:
    checks = [_committed_check(evidence.committed_metrics)]
    comparison = evidence.comparison
    if isinstance(comparison, Missing):
        checks.append(Check("paired_comparison", False, comparison.reason))
        return checks
    checks += _improvement_checks(rules, comparison.paired, alpha)
    checks += _non_inferiority_checks(rules, comparison)
    checks.extend(_slice_regression_checks(rules, _slice_results(rules, comparison.slices)))
    return checks


def _slice_results(
    rules: GateParams, slices: Mapping[str, SliceComparison]
) -> dict[str, SliceTest]:
    tested = {k: v for k, v in slices.items() if v.paired is not None}
    return slice_tests(
        {k: v.paired for k, v in tested.items() if v.paired is not None},
        {k: v.champion_se if v.champion_se is not None else 0.0 for k, v in tested.items()},
        margin=rules.slice_margin,
        alpha=rules.slice_alpha,
    )


def _slice_details(rules: GateParams, t: SliceTest) -> dict[str, Any]:
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


def _slice_regression_checks(rules: GateParams, tests: Mapping[str, SliceTest]) -> list[Check]:
    checks = []
    for name, t in tests.items():
        detect = (
            f"detects a drop of {t.min_detectable_drop:.4f} with {POWER:.0%} power "
            f"(at 2 x margin: {t.power_at_twice_margin:.0%})"
        )
        if t.may_block:
            assert t.p_holm is not None
            reason = (
                f"slice '{name}' delta {t.diff:+.4f} (paired SE {t.std_error:.4f}); one-sided p "
                f"(H0: drop <= {rules.slice_margin}) {t.p_value:.3g}, Holm-adjusted "
                f"{t.p_holm:.3g} {'<=' if t.blocks else '>'} alpha {rules.slice_alpha}; {detect}"
            )
        else:
            reason = (
                f"slice '{name}' reported only (delta {t.diff:+.4f}, one-sided p "
                f"{t.p_value:.3g}): {detect}, short of 2 x margin {2 * rules.slice_margin:.4g}; "
                "its floor still applies"
            )
        checks.append(
            Check(
                f"slice_regression[{name}]",
                not t.blocks,
                reason,
                t.diff,
                -rules.slice_margin,
                details=_slice_details(rules, t),
            )
        )
    return checks


def _serving_checks(rules: GateParams, serving: Any) -> list[Check]:
    """The candidate behind a real API: same scores, bad payloads refused, no 5xx, fast enough."""
    cfg = rules.serving
    if not cfg.required:
        return []
    if isinstance(serving, Missing) or not isinstance(serving, dict):
        reason = serving.reason if isinstance(serving, Missing) else "serving evidence missing"
        return [Check("serving", False, reason)]
    checks = []
    diff = serving.get("parity_max_abs_diff")
    checks.append(
        Check(
            "serving_parity",
            serving.get("parity_passed") is True,
            f"API scores vs offline scores: max |diff| {diff}",
            diff,
            (serving.get("parity") or {}).get("tolerance"),
        )
    )
    errors = serving.get("n_5xx"), serving.get("n_transport_errors")
    clean = all(isinstance(v, int) and not isinstance(v, bool) and v == 0 for v in errors)
    checks.append(
        Check(
            "serving_no_5xx",
            clean,
            f"{errors[0]} 5xx and {errors[1]} transport errors",
            errors[0],
            0,
        )
    )
    cases = (serving.get("bad_payloads") or {}).get("cases") or []
    refused_badly = [
        c.get("name", "?") for c in cases if isinstance(c, dict) and c.get("passed") is False
    ]
    checks.append(
        Check(
            "serving_bad_payloads",
            serving.get("bad_payloads_passed") is True,
            "every bad payload got a clear 4xx"
            if not refused_badly
            else f"bad payloads not refused cleanly: {', '.join(refused_badly)}",
        )
    )
    checks.append(
        Check(
            "serving_model_identity",
            serving.get("served_sha256_matches") is True,
            "the server loaded the candidate model (sha256 matches)",
        )
    )
    latency = serving.get("latency_ms") or {}
    for kind, bound in (("single", cfg.max_single_p95_ms), ("batch", cfg.max_batch_p95_ms)):
        p95 = (latency.get(kind) or {}).get("p95")
        ok = isinstance(p95, int | float) and not isinstance(p95, bool) and p95 <= bound
        checks.append(
            Check(
                f"serving_latency[{kind}]",
                ok,
                f"{kind} p95 {p95} ms vs bound {bound} ms",
                p95,
                bound,
            )
        )
    return checks


# The regression test's p value beside the slice's two-sided one in gate.json's comparison.
_RECORD_KEYS = {"p_value": "p_drop", "p_value_sidedness": "p_drop_sidedness"}


def _comparison_record(
    rules: GateParams, comparison: Comparison, alpha: float, earlier_decisions: int
) -> dict[str, Any]:
    p = comparison.paired
    tests = _slice_results(rules, comparison.slices)
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
                for key, value in _slice_details(rules, tests[k]).items()
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
        "superiority": _superiority_details(rules, p, alpha),
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


def decide(
    rules: GateParams,
    *,
    validation: Any,
    holdout: Any,
    slices: Any,
    behavioral: Any,
    stale: list[str] | Missing,
    champion: ChampionEvidence | Missing | None,
    serving: Any,
    leakage: Check | None = None,
    earlier_decisions: int = 0,
    holdout_reuse: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply every rule; return the JSON-ready decision (``promote`` true only if all pass).

    ``leakage``: the check that the champion never trained on these holdout rows
    (:mod:`mlgate.leakage`), applied when there is a champion. ``earlier_decisions``: how many
    decisions were already taken on this holdout (:mod:`mlgate.holdout_reuse`), recorded with
    ``holdout_reuse`` (how it was counted) under ``holdout_reuse`` in the decision; with
    ``gate.holdout_reuse.spend_alpha`` the superiority test's alpha shrinks with it.
    """
    alpha = spent_alpha(
        rules.superiority_alpha, earlier_decisions, rules.holdout_reuse.spend_alpha
    )
    checks = _evidence_checks(rules, validation, behavioral, stale)
    checks += _floor_checks(rules, holdout, slices)
    checks += _serving_checks(rules, serving)
    comparison: dict[str, Any] | None = None
    champion_info: dict[str, Any] | None = None
    if champion is None:
        allowed = rules.first_model == "promote_if_floors_pass"
        checks.append(
            Check(
                "champion",
                allowed,
                "no champion: nothing to compare with; first model "
                + (
                    "promoted if every absolute rule passes"
                    if allowed
                    else "rejected (gate.first_model: reject)"
                ),
            )
        )
    elif isinstance(champion, Missing):
        checks.append(Check("champion", False, champion.reason))
    else:
        champion_info = champion.champion.to_dict()
        checks.append(
            Check(
                "champion",
                True,
                f"champion {champion.champion.ref} ({champion.champion.commit[:10]}) "
                f"found via {champion.champion.source}",
            )
        )
        checks += _champion_checks(rules, champion, alpha)
        if leakage is not None:
            checks.append(leakage)
        reuse_error = (holdout_reuse or {}).get("error")
        if rules.holdout_reuse.spend_alpha and reuse_error:
            # Spending needs the count; an unknown count would spend as if this were the first.
            reason = f"holdout reuse count unknown ({reuse_error}), alpha spending on"
            checks.append(Check("holdout_reuse_known", False, reason))
        if not isinstance(champion.comparison, Missing):
            comparison = _comparison_record(rules, champion.comparison, alpha, earlier_decisions)
            if not isinstance(champion.committed_metrics, Missing):
                comparison["champion_committed_roc_auc"] = champion.committed_metrics.get(
                    "roc_auc"
                )
    failed = [c for c in checks if not c.passed]
    promote = not failed
    return {
        "promote": promote,
        "decision": "promote" if promote else "reject",
        "summary": (
            "all checks passed"
            if promote
            else f"{len(failed)} check(s) failed: " + "; ".join(c.reason for c in failed)
        ),
        "auc_delta": None if comparison is None else comparison["auc_delta"],
        "n_checks": len(checks),
        "n_failed": len(failed),
        "failed": [c.name for c in failed],
        "champion": champion_info,
        "candidate": None
        if isinstance(holdout, Missing)
        else {
            k: holdout.get(k)
            for k in ("roc_auc", "roc_auc_ci_low", "roc_auc_ci_high", "model_sha256")
        },
        "comparison": comparison,
        "holdout_reuse": {"earlier_decisions": earlier_decisions, **(holdout_reuse or {})},
        "checks": [c.to_dict() for c in checks],
    }
