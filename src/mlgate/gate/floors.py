"""Absolute rules: the upstream stages passed, the evidence is fresh, and the ROC AUC floors of
the holdout and of every slice hold, each judged with its confidence interval."""

from __future__ import annotations

from typing import Any

from mlgate.gate.checks import Check, Missing
from mlgate.gate.statistics import holdout_floor, show_vs, slice_floor
from mlgate.params import GateParams


def evidence_checks(
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


def auc_value(value: Any) -> float | None:
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
    auc = auc_value(entry.get("roc_auc")) if isinstance(entry, dict) else None
    bound = auc_value(entry.get(bound_key)) if isinstance(entry, dict) else None
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


def floor_checks(rules: GateParams, holdout: Any, slices: Any) -> list[Check]:
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
