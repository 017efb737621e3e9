"""metrics/summary.json: the headline numbers, the only file DVC treats as a metric.

`dvc metrics show/diff` and `dvc exp show` list every value of every metrics file; with each
slice's confusion matrix and each serving bad-payload case that was over 300 columns. Only
what a reviewer compares across experiments is declared as a DVC metric; the detailed files
stay plain (git-tracked, `cache: false`) outputs that mlgate and the report read by path.

Keys are flat and short because they become column names. A value whose source file is
missing or unreadable is null and counted in `n_missing_inputs`, so the view never shows a
number it could not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgate import paths

__all__ = ["SOURCES", "SUMMARY", "headline"]

SUMMARY = paths.SUMMARY
SOURCES = {
    "gate": paths.GATE,
    "holdout": paths.HOLDOUT_METRICS,
    "slices": paths.SLICES,
    "behavioral": paths.BEHAVIORAL,
    "drift": paths.DRIFT,
    "serving": paths.SERVING,
}


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _slice_aucs(slices: Any) -> dict[str, Any]:
    found = _get(slices, "slices")
    if not isinstance(found, Mapping):
        return {}
    return {name: _get(s, "roc_auc") for name, s in sorted(found.items())}


def headline(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The summary from parsed metrics files (``SOURCES`` keys; None = unavailable)."""
    gate, holdout = inputs.get("gate"), inputs.get("holdout")
    comparison = _get(gate, "comparison")
    return {
        "decision": _get(gate, "decision"),
        "promote": _get(gate, "promote"),
        "n_failed_checks": _get(gate, "n_failed"),
        "roc_auc": _get(holdout, "roc_auc"),
        "roc_auc_ci_low": _get(holdout, "roc_auc_ci_low"),
        "roc_auc_ci_high": _get(holdout, "roc_auc_ci_high"),
        # Paired against the champion on the same holdout rows; null without a champion.
        "auc_delta": _get(comparison, "auc_delta"),
        "auc_delta_ci_low": _get(comparison, "auc_delta_ci_low"),
        "auc_delta_ci_high": _get(comparison, "auc_delta_ci_high"),
        "slice_auc": _slice_aucs(inputs.get("slices")),
        "behavioral_failed": _get(inputs.get("behavioral"), "n_failed"),
        "psi_max": _get(inputs.get("drift"), "max_psi"),
        "p95_single_ms": _get(inputs.get("serving"), "latency_ms", "single", "p95"),
        "p95_batch_ms": _get(inputs.get("serving"), "latency_ms", "batch", "p95"),
        # A count, not a list: DVC shows it as one column; the report stage names the files.
        "n_missing_inputs": sum(not isinstance(inputs.get(k), Mapping) for k in SOURCES),
    }
