"""The promotion decision: every rule is a named check; the candidate is promoted only if all pass.

Fail closed: evidence that is missing, unreadable or stale arrives here as a :class:`Missing`
and turns into a failed check naming it. ``decide`` never raises on a rejection.

The champion's scores are its committed predictions when its dvc.lock proves they were made on
these exact rows (:mod:`mlgate.gate.champion_scores`), else the champion's model re-scores the
rows. The statistics of each rule (what it decides, which error it controls) live in
:mod:`mlgate.gate.statistics` and docs/statistics.md; the rule modules word the reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgate.gate.champion_rules import champion_checks
from mlgate.gate.checks import Check, Missing
from mlgate.gate.compare import ChampionEvidence
from mlgate.gate.floors import evidence_checks, floor_checks
from mlgate.gate.record import comparison_record
from mlgate.gate.serving_rules import serving_checks
from mlgate.gate.statistics import spent_alpha
from mlgate.params import GateParams


def _no_champion(rules: GateParams) -> Check:
    allowed = rules.first_model == "promote_if_floors_pass"
    return Check(
        "champion",
        allowed,
        "no champion: nothing to compare with; first model "
        + (
            "promoted if every absolute rule passes"
            if allowed
            else "rejected (gate.first_model: reject)"
        ),
    )


def _against_champion(
    rules: GateParams,
    champion: ChampionEvidence,
    *,
    leakage: Check | None,
    alpha: float,
    earlier_decisions: int,
    holdout_reuse: Mapping[str, Any] | None,
) -> tuple[list[Check], dict[str, Any] | None]:
    """The checks against a found champion, and the comparison record (None if no comparison)."""
    found = champion.champion
    checks = [
        Check(
            "champion",
            True,
            f"champion {found.ref} ({found.commit[:10]}) found via {found.source}",
        )
    ]
    checks += champion_checks(rules, champion, alpha)
    if leakage is not None:
        checks.append(leakage)
    reuse_error = (holdout_reuse or {}).get("error")
    if rules.holdout_reuse.spend_alpha and reuse_error:
        # Spending needs the count; an unknown count would spend as if this were the first.
        reason = f"holdout reuse count unknown ({reuse_error}), alpha spending on"
        checks.append(Check("holdout_reuse_known", False, reason))
    if isinstance(champion.comparison, Missing):
        return checks, None
    comparison = comparison_record(rules, champion.comparison, alpha, earlier_decisions)
    if not isinstance(champion.committed_metrics, Missing):
        comparison["champion_committed_roc_auc"] = champion.committed_metrics.get("roc_auc")
    return checks, comparison


def _verdict(
    checks: list[Check],
    *,
    holdout: Any,
    champion_info: dict[str, Any] | None,
    comparison: dict[str, Any] | None,
    reuse: dict[str, Any],
) -> dict[str, Any]:
    """The JSON-ready decision: ``promote`` true only if every check passed."""
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
        "holdout_reuse": reuse,
        "checks": [c.to_dict() for c in checks],
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
    (:mod:`mlgate.gate.leakage`), applied when there is a champion. ``earlier_decisions``: how
    many decisions were already taken on this holdout (:mod:`mlgate.gate.holdout_reuse`),
    recorded with ``holdout_reuse`` (how it was counted) under ``holdout_reuse`` in the
    decision; with ``gate.holdout_reuse.spend_alpha`` the superiority test's alpha shrinks.
    """
    alpha = spent_alpha(
        rules.superiority_alpha, earlier_decisions, rules.holdout_reuse.spend_alpha
    )
    checks = evidence_checks(rules, validation, behavioral, stale)
    checks += floor_checks(rules, holdout, slices)
    checks += serving_checks(rules, serving)
    comparison: dict[str, Any] | None = None
    champion_info: dict[str, Any] | None = None
    if champion is None:
        checks.append(_no_champion(rules))
    elif isinstance(champion, Missing):
        checks.append(Check("champion", False, champion.reason))
    else:
        champion_info = champion.champion.to_dict()
        found, comparison = _against_champion(
            rules,
            champion,
            leakage=leakage,
            alpha=alpha,
            earlier_decisions=earlier_decisions,
            holdout_reuse=holdout_reuse,
        )
        checks += found
    reuse = {"earlier_decisions": earlier_decisions, **(holdout_reuse or {})}
    return _verdict(
        checks, holdout=holdout, champion_info=champion_info, comparison=comparison, reuse=reuse
    )
