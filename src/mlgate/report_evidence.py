"""Report sections on the gate's evidence: candidate vs champion metric by metric, and
slices (floors and Holm-adjusted regressions)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mlgate.report_format import (
    Unavailable,
    _ci,
    _esc,
    _is_number,
    _lower_is_better,
    _missing,
    _num,
    _num_vs,
    _ok,
    _p,
    _p_vs,
    _signed,
    _table,
)

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


def comparison_section(gate: Any, holdout: Any) -> list[str]:
    lines = ["## Candidate vs champion", ""]
    if isinstance(holdout, Unavailable):
        return lines + _missing("holdout metrics", holdout)
    comparison = gate.get("comparison") if isinstance(gate, dict) else None
    champ = comparison.get("champion_metrics_same_rows", {}) if comparison else {}
    lines += _comparison_intro(comparison)
    rows = [
        _metric_row(metric, holdout, comparison, champ)
        for metric in METRICS
        if not (holdout.get(metric) is None and metric not in champ)
    ]
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


def _comparison_intro(comparison: Mapping[str, Any] | None) -> list[str]:
    if not comparison:
        return [
            "_No paired comparison (no champion, or its evidence is missing): the candidate "
            "is judged by the absolute floors only._",
            "",
        ]
    return [
        f"Both models scored on the same {_num(comparison.get('n'))} holdout rows; the "
        "ROC AUC difference is DeLong's paired test "
        f"(two-sided p = {_p(comparison.get('p_value'))}, H0: delta = 0). "
        "Delta = candidate − champion. "
        f"Champion scores: {_esc(comparison.get('champion_scores', 're-scored'))}.",
        "",
        *_promotion_rule(comparison),
    ]


def _metric_row(
    metric: str,
    holdout: Mapping[str, Any],
    comparison: Mapping[str, Any] | None,
    champ: Mapping[str, Any],
) -> list[str]:
    cand = holdout.get(metric)
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
    return [
        f"`{metric}`",
        better,
        _num(cand),
        cand_ci,
        _num(champ_value),
        _signed(delta),
        delta_ci,
    ]


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
    p_text, alpha_text = _p_vs(sup.get("p_value"), alpha)
    return [
        f"**Rule:** {_esc(sup.get('rule', '?'))}. Paired SE of the delta "
        f"{_num(sup.get('std_error'), 5)}; one-sided {level} lower bound "
        f"{_signed(sup.get('lower_bound'))}; one-sided p {p_text} "
        f"({_esc(sup.get('p_value_sidedness', ''))}) vs alpha {alpha_text}; min_delta "
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
    p_holm, alpha = _p_vs(details.get("p_holm"), details.get("alpha"))
    versus = f" vs alpha {alpha}" if _is_number(details.get("alpha")) else ""
    return f"{_ok(check.get('passed'))} (p_Holm {p_holm}{versus})"


def _checks_by_item(gate: Any, rule: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    if not isinstance(gate, dict):
        return found
    for check in gate.get("checks", []):
        match = _CHECK_NAME.match(str(check.get("name", ""))) if isinstance(check, dict) else None
        if match and match["rule"] == rule:
            found[match["item"]] = check
    return found


def slices_section(slices: Any, gate: Any) -> list[str]:
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
        rows.append(_slice_row(name, entry, pair, floors.get(name), regressions.get(name)))
    lines += _slice_table(rows)
    if skipped:
        lines += [
            f"Skipped (fewer than {_num(slices.get('min_samples'))} rows or one class only):",
            "",
            *skipped,
            "",
        ]
    return lines


def _slice_row(
    name: str,
    entry: Mapping[str, Any],
    pair: Mapping[str, Any],
    floor: dict[str, Any] | None,
    regression: dict[str, Any] | None,
) -> list[str]:
    return [
        f"`{_esc(name)}`",
        _esc(entry.get("predicate", "")),
        _num(entry.get("n")),
        _num(entry.get("n_positive")),
        f"{_num(entry.get('roc_auc'))} {_slice_ci(entry, floor)}",
        _num(pair.get("auc_champion")),
        _signed(pair.get("auc_delta")),
        _num(pair.get("min_detectable_drop")),
        _ok(floor.get("passed")) if floor else "—",
        _regression_cell(regression),
    ]


def _slice_ci(entry: Mapping[str, Any], floor: dict[str, Any] | None) -> str:
    """The CI; a failed floor's upper bound with the digits that show it below the floor."""
    low, high = entry.get("roc_auc_ci_low"), entry.get("roc_auc_ci_high")
    if floor and floor.get("passed") is False and _is_number(high):
        return f"[{_num(low)}, {_num_vs(high, floor.get('threshold'))[0]}]"
    return _ci(low, high)


def _slice_table(rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["_No slice was evaluated._", ""]
    return _table(
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
