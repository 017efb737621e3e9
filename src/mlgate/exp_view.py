"""`mlgate exp`: the rows of `dvc exp show --json` as the headline columns a reviewer compares.

A bare `dvc exp show` prints one column per param of params.yaml and per dependency's md5
(over 200 here), and DVC 3 has no setting to hide them: it lists every dependency that is not
a param (dvc/repo/experiments/serialize.py). This view keeps per row the decision, the failed
check count, the ROC AUC with its CI, the paired delta against the champion with its CI, and
the params the row changed against its baseline commit, in one column (key=value), so the
table fits 120 columns however many params an experiment sets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlgate.summary import SUMMARY

__all__ = ["ExpRow", "HEADERS", "cells", "rows"]

HEADERS = ("experiment", "decision", "failed", "ROC AUC [CI]", "delta [CI]", "changed")
MISSING = "—"
REMOVED = object()  # a param the row's params.yaml no longer has


@dataclass(frozen=True)
class ExpRow:
    label: str
    summary: Mapping[str, Any] | None  # metrics/summary.json; None: not run, failed or queued
    changed: dict[str, Any] = field(default_factory=dict)  # param -> value vs the baseline
    error: str = ""


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, Mapping) and tree:
        return {
            k: v for key, val in tree.items() for k, v in _flat(val, f"{prefix}{key}.").items()
        }
    return {prefix.rstrip("."): tree}


def _params(state: Mapping[str, Any]) -> dict[str, Any]:
    data = state.get("data") or {}
    flat: dict[str, Any] = {}
    for path, result in sorted((data.get("params") or {}).items()):
        # params.yaml keys bare, as `dvc exp show` names them; other files' keys prefixed
        prefix = "" if path == "params.yaml" else f"{path}:"
        if data_of_file := (result or {}).get("data"):
            flat |= _flat(data_of_file, prefix)
    return flat


def _summary(state: Mapping[str, Any]) -> Mapping[str, Any] | None:
    metrics = (state.get("data") or {}).get("metrics") or {}
    found = (metrics.get(SUMMARY) or {}).get("data")
    return found if isinstance(found, Mapping) else None


def _error(state: Mapping[str, Any]) -> str:
    error = state.get("error")
    return str(error.get("msg") or error.get("type") or "error") if error else ""


def _row(state: Mapping[str, Any], label: str, base: dict[str, Any]) -> ExpRow:
    params = _params(state)
    changed = {k: v for k, v in params.items() if base.get(k, MISSING) != v}
    if params:  # a failed or queued row has none
        changed |= {k: REMOVED for k in base if k not in params}
    return ExpRow(label, _summary(state), changed, _error(state))


def rows(exp_show: Sequence[Mapping[str, Any]]) -> list[ExpRow]:
    """One row per baseline commit (and the workspace), then its experiments, indented."""
    found: list[ExpRow] = []
    for baseline in exp_show:
        base = _params(baseline)
        rev = str(baseline.get("rev", ""))
        name = baseline.get("name") or (rev if rev == "workspace" else rev[:7])
        found.append(ExpRow(name, _summary(baseline), error=_error(baseline)))
        for exp_range in baseline.get("experiments") or []:
            for state in exp_range.get("revs") or []:
                label = f"  {exp_range.get('name') or state.get('name') or ''}"
                found.append(_row(state, f"{label} {str(state.get('rev', ''))[:7]}", base))
    _compare_workspace(exp_show, found)
    return found


def _compare_workspace(exp_show: Sequence[Mapping[str, Any]], found: list[ExpRow]) -> None:
    """The workspace's changes are those against HEAD, the baseline listed after it."""
    if len(exp_show) > 1 and exp_show[0].get("rev") == "workspace":
        found[0] = _row(exp_show[0], found[0].label, _params(exp_show[1]))


def _number(value: Any, digits: int = 4, sign: str = "") -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return MISSING
    return f"{value:{sign}.{digits}f}"


def _with_ci(summary: Mapping[str, Any], key: str, sign: str = "") -> str:
    value = _number(summary.get(key), sign=sign)
    if value == MISSING:
        return MISSING
    low, high = (_number(summary.get(f"{key}_ci_{end}"), sign=sign) for end in ("low", "high"))
    return f"{value} [{low}, {high}]"


def _value(value: Any) -> str:
    if value is REMOVED:
        return "(removed)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def cells(row: ExpRow) -> tuple[str, ...]:
    """The row as the text of each HEADERS column."""
    # Spaces around "=": a narrow column wraps there, not inside a name or a value.
    changed = ", ".join(f"{k} = {_value(v)}" for k, v in row.changed.items())
    if row.summary is None:
        why = f"(no {SUMMARY}" + (f": {row.error})" if row.error else ")")
        return (row.label, MISSING, MISSING, MISSING, MISSING, f"{why} {changed}".strip())
    failed = row.summary.get("n_failed_checks")
    return (
        row.label,
        str(row.summary.get("decision") or MISSING),
        MISSING if failed is None else str(failed),
        _with_ci(row.summary, "roc_auc"),
        _with_ci(row.summary, "auc_delta", sign="+"),
        changed,
    )
