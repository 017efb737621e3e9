"""Report sections other than the gate's evidence: decision, subjects, behavioral tests,
drift, data validation, plots and the list of all checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgate.report_format import Unavailable, _esc, _missing, _num, _num_vs, _ok, _rate, _table


def failed_checks(decision: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [c for c in decision.get("checks", []) if isinstance(c, dict) and not c.get("passed")]


def decision_section(gate: dict[str, Any] | Unavailable) -> list[str]:
    if isinstance(gate, Unavailable):
        return [
            "## Decision: ❓ UNKNOWN",
            "",
            f"_No decision: {_esc(gate.reason)}_. Treat this as a rejection "
            "(`mlgate check` exits 2).",
            "",
        ]
    promote = gate.get("promote") is True
    lines = [f"## Decision: {'✅ PROMOTE' if promote else '❌ REJECT'}", ""]
    lines += [f"> {_esc(gate.get('summary', ''))}", ""]
    failed = failed_checks(gate)
    n_checks = gate.get("n_checks", len(gate.get("checks", [])))
    if failed:
        lines += [f"**Failed checks** ({len(failed)} of {n_checks}):", ""]
        lines += _table(
            ["check", "reason", "value", "threshold"],
            [
                [
                    f"`{_esc(c.get('name'))}`",
                    _esc(c.get("reason", "")),
                    *_num_vs(c.get("value"), c.get("threshold")),
                ]
                for c in failed
            ],
        )
    else:
        lines += [f"All {n_checks} checks passed.", ""]
    return lines


def subjects_section(inputs: Mapping[str, Any]) -> list[str]:
    """One line naming the candidate and one the champion (commit, version)."""
    lines = []
    holdout, train, split = inputs.get("holdout"), inputs.get("train"), inputs.get("split")
    parts = []
    if isinstance(holdout, dict) and holdout.get("model_sha256"):
        parts.append(f"model `{str(holdout['model_sha256'])[:12]}`")
    if isinstance(train, dict):
        parts.append(f"{_esc(train.get('estimator', '?'))} on {_num(train.get('n_train'))} rows")
    if isinstance(split, dict):
        parts.append(f"holdout {_num(split.get('n_holdout'))} rows")
    lines.append("**Candidate:** " + (", ".join(parts) if parts else "_unknown_") + "  ")
    champion = inputs.get("champion")
    if isinstance(champion, Unavailable):
        lines.append(f"**Champion:** _record missing: {_esc(champion.reason)}_")
    elif not isinstance(champion, dict) or not champion.get("found"):
        why = champion.get("error") if isinstance(champion, dict) else None
        lines.append("**Champion:** none" + (f" ({_esc(why)})" if why else ""))
    else:
        version = f", {_esc(champion['version'])}" if champion.get("version") else ""
        commit = str(champion.get("commit", ""))[:10]
        lines.append(
            f"**Champion:** `{_esc(champion.get('ref'))}` (commit `{commit}`{version}, "
            f"via {_esc(champion.get('source'))})"
        )
    return lines + [""]


def all_checks_section(gate: Any) -> list[str]:
    lines = ["## All checks", ""]
    if isinstance(gate, Unavailable):
        return lines + _missing("gate decision", gate)
    rows = [
        [_ok(c.get("passed")), f"`{_esc(c.get('name'))}`", _esc(c.get("reason", ""))]
        for c in gate.get("checks", [])
        if isinstance(c, dict)
    ]
    return lines + _table(["result", "check", "reason"], rows)


def behavioral_section(behavioral: Any) -> list[str]:
    lines = ["## Behavioral tests", ""]
    if isinstance(behavioral, Unavailable):
        return lines + _missing("behavioral results", behavioral)
    lines += [
        f"{_num(behavioral.get('n_passed'))} passed, {_num(behavioral.get('n_failed'))} failed, "
        f"{_num(behavioral.get('n_skipped'))} skipped of {_num(behavioral.get('n_tests'))}; "
        "a test passes when its failure rate is at most its allowed rate.",
        "",
    ]
    if behavioral.get("reason"):
        lines += [f"_{_esc(behavioral['reason'])}_", ""]
    rows = []
    for test in behavioral.get("tests", []):
        if not isinstance(test, dict):
            continue
        result = (
            f"⏭ skipped: {_esc(test.get('skip_reason', ''))}"
            if test.get("skipped")
            else _ok(test.get("passed"))
        )
        rows.append(
            [
                f"`{_esc(test.get('name'))}`",
                _esc(str(test.get("type", "")).upper()),
                _esc(test.get("description", "")),
                _num(test.get("rows_tested")),
                _num(test.get("failures")),
                _rate(test.get("failure_rate")),
                _rate(test.get("threshold")),
                result,
            ]
        )
    if rows:
        lines += _table(
            [
                "test",
                "type",
                "expectation",
                "rows tested",
                "failures",
                "failure rate",
                "allowed",
                "result",
            ],
            rows,
        )
    return lines


def drift_section(drift: Any) -> list[str]:
    lines = ["## Drift", ""]
    if isinstance(drift, Unavailable):
        return lines + _missing("drift report", drift)
    retrain = drift.get("retrain_recommended") is True
    lines += [f"**Retrain recommended: {'yes' if retrain else 'no'}**", ""]
    if not drift.get("has_reference"):
        return lines + [f"_No reference data: {_esc(drift.get('reason', 'unknown'))}_", ""]
    reference = drift.get("reference") or {}
    lines += [
        "Population stability index (PSI) per feature between the champion's training data "
        f"(`{_esc(reference.get('ref', '?'))}`, {_num(drift.get('n_reference'))} rows) and the "
        f"candidate's ({_num(drift.get('n_current'))} rows); a feature drifted when PSI > "
        f"{_num(drift.get('threshold'))}. *Expected PSI by chance* is PSI's mean with no shift "
        "at these sample sizes; the *distance* does not grow with small samples (normed "
        "Wasserstein for numeric features, Jensen-Shannon for categorical ones).",
        "",
    ]
    rows = []
    for name, feature in (drift.get("features") or {}).items():
        rows.append(
            [
                f"`{_esc(name)}`",
                _esc(feature.get("kind", "")),
                _num(feature.get("psi")),
                _num(feature.get("expected_psi_no_shift")),
                f"{_num(feature.get('distance'))} ({_esc(feature.get('distance_name', ''))})",
                "⚠️ yes" if feature.get("drifted") else "no",
            ]
        )
    lines += _table(
        ["feature", "kind", "PSI", "expected PSI (chance)", "distance", "drifted"], rows
    )
    return lines


def validation_section(validation: Any) -> list[str]:
    lines = ["## Data validation", ""]
    if isinstance(validation, Unavailable):
        return lines + _missing("validation summary", validation)
    passed = validation.get("passed") is True
    lines += [
        f"{'✅ passed' if passed else '❌ failed'}: {_num(validation.get('n_rows'))} rows × "
        f"{_num(validation.get('n_columns'))} columns of `{_esc(validation.get('source', '?'))}` "
        f"against `{_esc(validation.get('contract', '?'))}`; "
        f"{_num(validation.get('n_failed_checks', 0))} failed check(s).",
        "",
    ]
    rows = []
    for item in validation.get("failures", []):
        examples = ", ".join(
            f"{'-' if e.get('row') is None else e.get('row')}: {e.get('value')}"
            for e in item.get("examples", [])
        )
        rows.append(
            [
                f"`{_esc(item.get('column'))}`",
                _esc(item.get("check", "")),
                _num(item.get("failing_rows")),
                _esc(examples),
            ]
        )
    if rows:
        lines += _table(["column", "check", "failing rows", "examples (row: value)"], rows)
    return lines


def plots_section(plots: Mapping[str, str | None]) -> list[str]:
    lines = ["## Plots", ""]
    for title, link in plots.items():
        lines += [f"![{title}]({link})" if link else f"_{title}: image missing_", ""]
    return lines
