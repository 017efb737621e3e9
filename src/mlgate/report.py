"""The Markdown report: what was decided and why, readable raw and as rendered by CML.

Order follows what a reviewer needs first: the decision and the checks that failed, then the
candidate against the champion metric by metric, slices, behavioral tests, drift, data
validation, and finally the plots (relative links, which CML uploads with the comment).

Pure: :func:`build_report` takes the parsed metric files (or an :class:`Unavailable` saying
why one could not be read) and returns text. A missing input becomes a visible line in its
section, never an exception. No timestamps, so the same inputs give the same bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlgate import paths
from mlgate.errors import ArtifactError

# Files the report stage reads, by the key build_report expects.
INPUTS = {
    "gate": paths.GATE,
    "holdout": paths.HOLDOUT_METRICS,
    "slices": paths.SLICES,
    "behavioral": paths.BEHAVIORAL,
    "drift": paths.DRIFT,
    "validation": paths.VALIDATION,
    "champion": paths.CHAMPION,
    "train": paths.TRAIN_METRICS,
    "split": paths.SPLIT,
}
PLOTS = {
    "ROC curve": paths.ROC_PNG,
    "Calibration": paths.CALIBRATION_PNG,
    "Slices": paths.SLICES_PNG,
}
# Metrics compared candidate vs champion, in display order; direction comes from the name.
METRICS = (
    "roc_auc",
    "pr_auc",
    "brier_loss",
    "log_loss",
    "calibration_error",
    "precision_score",
    "recall_score",
    "f1_score",
)
_CHECK_NAME = re.compile(r"^(?P<rule>[a-z_]+)\[(?P<item>.+)\]$")


@dataclass(frozen=True)
class Unavailable:
    """An input that could not be read, and why (shown in its section)."""

    reason: str


# --------------------------------------------------------------------------- decision file


def validate_decision(data: Any, *, source: str) -> dict[str, Any]:
    """Return ``data`` if it is a gate decision; ArtifactError (exit code 2) otherwise."""
    if not isinstance(data, dict):
        raise ArtifactError(f"{source} is not a gate decision: expected a JSON object")
    if not isinstance(data.get("promote"), bool):
        raise ArtifactError(
            f"{source} is not a gate decision: expected a boolean 'promote' key "
            "(written by the `gate` stage; run `dvc repro`)"
        )
    if not isinstance(data.get("checks", []), list):
        raise ArtifactError(f"{source}: 'checks' must be a list")
    return data


def failed_checks(decision: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [c for c in decision.get("checks", []) if isinstance(c, dict) and not c.get("passed")]


# --------------------------------------------------------------------------- formatting


def _esc(value: Any) -> str:
    # A pipe would end a table cell and a newline the row; both can come from user data.
    text = str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _num(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:.{digits}f}"
    return _esc(value)


def _num_vs(value: Any, bound: Any) -> tuple[str, str]:
    """Both numbers with enough decimals to tell them apart: 0.73996 vs 0.74000, not 0.7400."""
    digits = 4
    if isinstance(value, float) and isinstance(bound, int | float) and not isinstance(bound, bool):
        while digits < 17 and value != bound and _num(value, digits) == _num(float(bound), digits):
            digits += 1
        return _num(value, digits), _num(float(bound), digits)
    return _num(value), _num(bound)


def _signed(value: Any, digits: int = 4) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:+.{digits}f}"
    return "—"


def _p(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.3g}"
    return "—"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _rate(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.2%}"
    return "—"


def _ci(low: Any, high: Any, signed: bool = False) -> str:
    fmt = _signed if signed else _num
    if low is None and high is None:
        return "—"
    return f"[{fmt(low)}, {fmt(high)}]"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _missing(what: str, item: Unavailable) -> list[str]:
    return [f"_{what} missing: {_esc(item.reason)}_", ""]


def _ok(passed: Any) -> str:
    return "✅ pass" if passed is True else "❌ fail" if passed is False else "—"


def _lower_is_better(metric: str) -> bool:
    return metric.endswith(("_loss", "_error"))


# --------------------------------------------------------------------------- sections


def _decision(gate: dict[str, Any] | Unavailable) -> list[str]:
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


def _subjects(inputs: Mapping[str, Any]) -> list[str]:
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


def _comparison(gate: Any, holdout: Any) -> list[str]:
    lines = ["## Candidate vs champion", ""]
    if isinstance(holdout, Unavailable):
        return lines + _missing("holdout metrics", holdout)
    comparison = gate.get("comparison") if isinstance(gate, dict) else None
    champ = comparison.get("champion_metrics_same_rows", {}) if comparison else {}
    if comparison:
        lines += [
            f"Both models scored on the same {_num(comparison.get('n'))} holdout rows; the "
            "ROC AUC difference is DeLong's paired test "
            f"(two-sided p = {_p(comparison.get('p_value'))}, H0: delta = 0). "
            "Delta = candidate − champion. "
            f"Champion scores: {_esc(comparison.get('champion_scores', 're-scored'))}.",
            "",
            *_promotion_rule(comparison),
        ]
    else:
        lines += [
            "_No paired comparison (no champion, or its evidence is missing): the candidate "
            "is judged by the absolute floors only._",
            "",
        ]
    rows = []
    for metric in METRICS:
        cand = holdout.get(metric)
        if cand is None and metric not in champ:
            continue
        better = "lower" if _lower_is_better(metric) else "higher"
        cand_ci, delta_ci = "—", "—"
        if metric == "roc_auc":
            cand_ci = _ci(holdout.get("roc_auc_ci_low"), holdout.get("roc_auc_ci_high"))
            if comparison:
                delta_ci = _ci(
                    comparison.get("auc_delta_ci_low"),
                    comparison.get("auc_delta_ci_high"),
                    signed=True,
                )
        champ_value = champ.get(metric)
        delta = (
            cand - champ_value
            if isinstance(cand, int | float) and isinstance(champ_value, int | float)
            else None
        )
        if metric == "roc_auc" and comparison:
            delta = comparison.get("auc_delta", delta)
        rows.append(
            [
                f"`{metric}`",
                better,
                _num(cand),
                cand_ci,
                _num(champ_value),
                _signed(delta),
                delta_ci,
            ]
        )
    lines += _table(
        ["metric", "better", "candidate", "CI (candidate)", "champion", "delta", "CI (delta)"],
        rows,
    )
    if comparison and comparison.get("champion_committed_roc_auc") is not None:
        lines += [
            "Champion's ROC AUC as committed with it (its own holdout): "
            f"{_num(comparison['champion_committed_roc_auc'])}.",
            "",
        ]
    reuse = gate.get("holdout_reuse") if isinstance(gate, dict) else None
    if isinstance(reuse, dict):
        spending = (comparison or {}).get("holdout_reuse")
        lines += [_reuse_line(reuse, spending if isinstance(spending, dict) else None), ""]
    return lines


def _reuse_line(reuse: Mapping[str, Any], spending: Mapping[str, Any] | None) -> str:
    """Each decision on the same holdout is another chance of a lucky promotion: say how many,
    and how much of the superiority test's alpha this decision could spend (``spending``)."""
    alpha = (
        ""
        if spending is None
        else f" Alpha spending {'on' if spending.get('spend_alpha') else 'off'} (alpha "
        f"{_p(spending.get('alpha'))}, used {_p(spending.get('alpha_used'))})."
    )
    if reuse.get("error"):
        return f"Holdout reuse: unknown ({_esc(reuse['error'])}).{alpha}"
    scanned = f"{_num(reuse.get('commits_scanned'))} commits scanned" + (
        f", stopped at the limit of {_num(reuse.get('scan_limit'))}" if reuse.get("capped") else ""
    )
    return (
        f"Holdout reuse: {_num(reuse.get('earlier_decisions'))} earlier decision(s) on this "
        f"holdout (other candidate models; {scanned}).{alpha}"
    )


def _promotion_rule(comparison: Mapping[str, Any]) -> list[str]:
    """The rule that decided, with its SE, sidedness and power (gate.json's ``superiority``)."""
    sup = comparison.get("superiority")
    if not isinstance(sup, dict):
        return []
    alpha, power = sup.get("alpha_used"), sup.get("power")
    level = f"{1 - alpha:.4g}" if isinstance(alpha, float) and _is_number(alpha) else "?"
    return [
        f"**Rule:** {_esc(sup.get('rule', '?'))}. Paired SE of the delta "
        f"{_num(sup.get('std_error'), 5)}; one-sided {level} lower bound "
        f"{_signed(sup.get('lower_bound'))}; one-sided p {_p(sup.get('p_value'))} "
        f"({_esc(sup.get('p_value_sidedness', ''))}) vs alpha {_p(alpha)}; min_delta "
        f"{_num(sup.get('min_delta'))}. Gain this holdout detects with "
        f"{f'{power:.0%}' if _is_number(power) else '?'} power: "
        f"{_signed(sup.get('min_detectable_gain'))}.",
        "",
    ]


def _regression_cell(check: dict[str, Any] | None) -> str:
    if check is None:
        return "—"
    details = check.get("details")
    if not isinstance(details, dict):
        return _ok(check.get("passed"))
    if details.get("may_block") is False:
        return "reported only (too small)"
    return f"{_ok(check.get('passed'))} (p_Holm {_p(details.get('p_holm'))})"


def _all_checks(gate: Any) -> list[str]:
    lines = ["## All checks", ""]
    if isinstance(gate, Unavailable):
        return lines + _missing("gate decision", gate)
    rows = [
        [_ok(c.get("passed")), f"`{_esc(c.get('name'))}`", _esc(c.get("reason", ""))]
        for c in gate.get("checks", [])
        if isinstance(c, dict)
    ]
    return lines + _table(["result", "check", "reason"], rows)


def _checks_by_item(gate: Any, rule: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    if not isinstance(gate, dict):
        return found
    for check in gate.get("checks", []):
        match = _CHECK_NAME.match(str(check.get("name", ""))) if isinstance(check, dict) else None
        if match and match["rule"] == rule:
            found[match["item"]] = check
    return found


def _slices(slices: Any, gate: Any) -> list[str]:
    lines = ["## Slices", ""]
    if isinstance(slices, Unavailable):
        return lines + _missing("slice metrics", slices)
    entries = slices.get("slices") or {}
    floors = _checks_by_item(gate, "slice_auc_floor")
    regressions = _checks_by_item(gate, "slice_regression")
    comparison = gate.get("comparison") if isinstance(gate, dict) else None
    paired = (comparison or {}).get("slices") or {}
    lines += [
        "Floor: a slice fails when its ROC AUC is shown below `gate.min_slice_auc` (CI upper "
        "bound below it). Regression: one-sided test that the slice dropped by more than "
        "`gate.slice_margin` against the champion on the same rows, Holm-adjusted across the "
        "slices that may block: those whose test catches a drop of 2 x margin with 80 % power. "
        "*Detectable drop*: the drop each slice's test catches with 80 % power at its size.",
        "",
    ]
    rows, skipped = [], []
    for name, entry in entries.items():
        if not isinstance(entry, dict):
            continue
        if entry.get("skipped"):
            skipped.append(
                f"- `{_esc(name)}` ({_esc(entry.get('predicate', ''))}): "
                f"{_esc(entry.get('skip_reason', 'skipped'))}"
            )
            continue
        pair = paired.get(name) or {}
        floor, regression = floors.get(name), regressions.get(name)
        rows.append(
            [
                f"`{_esc(name)}`",
                _esc(entry.get("predicate", "")),
                _num(entry.get("n")),
                _num(entry.get("n_positive")),
                f"{_num(entry.get('roc_auc'))} "
                f"{_ci(entry.get('roc_auc_ci_low'), entry.get('roc_auc_ci_high'))}",
                _num(pair.get("auc_champion")),
                _signed(pair.get("auc_delta")),
                _num(pair.get("min_detectable_drop")),
                _ok(floor.get("passed")) if floor else "—",
                _regression_cell(regression),
            ]
        )
    if rows:
        lines += _table(
            [
                "slice",
                "predicate",
                "n",
                "positives",
                "candidate AUC [CI]",
                "champion AUC",
                "delta",
                "detectable drop",
                "floor",
                "regression (Holm)",
            ],
            rows,
        )
    else:
        lines += ["_No slice was evaluated._", ""]
    if skipped:
        lines += [
            f"Skipped (fewer than {_num(slices.get('min_samples'))} rows or one class only):",
            "",
            *skipped,
            "",
        ]
    return lines


def _behavioral(behavioral: Any) -> list[str]:
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


def _drift(drift: Any) -> list[str]:
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


def _validation(validation: Any) -> list[str]:
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


def _plots(plots: Mapping[str, str | None]) -> list[str]:
    lines = ["## Plots", ""]
    for title, link in plots.items():
        lines += [f"![{title}]({link})" if link else f"_{title}: image missing_", ""]
    return lines


# --------------------------------------------------------------------------- entry point


def build_report(
    inputs: Mapping[str, dict[str, Any] | Unavailable], *, plots: Mapping[str, str | None]
) -> str:
    """Markdown for ``inputs`` (keys of :data:`INPUTS`) and ``plots`` (title -> link or None).

    A key absent from ``inputs`` counts as unavailable.
    """
    full = {k: inputs.get(k, Unavailable(f"{INPUTS[k]} was not provided")) for k in INPUTS}
    gate = full["gate"]
    lines = ["# mlgate report", ""]
    lines += _decision(gate)
    lines += _subjects(full)
    lines += _comparison(gate, full["holdout"])
    lines += _slices(full["slices"], gate)
    lines += _behavioral(full["behavioral"])
    lines += _drift(full["drift"])
    lines += _validation(full["validation"])
    lines += _plots(plots)
    lines += _all_checks(gate)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"
