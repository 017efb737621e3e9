"""metrics/summary.json: the headline numbers, and the only file DVC shows as a metric."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgate.summary import SOURCES, SUMMARY, headline

REPO_ROOT = Path(__file__).resolve().parents[1]
DVC_FILES = ("dvc.yaml", "champion/dvc.yaml")
# A terminal of ~200 characters holds about 25 columns of numbers; dvc exp show adds its own
# Experiment/Created columns beside the metrics.
MAX_METRIC_COLUMNS = 25

INPUTS: dict[str, Any] = {
    "gate": {
        "decision": "reject",
        "promote": False,
        "n_failed": 2,
        "comparison": {"auc_delta": -0.01, "auc_delta_ci_low": -0.03, "auc_delta_ci_high": 0.0},
    },
    "holdout": {"roc_auc": 0.86, "roc_auc_ci_low": 0.85, "roc_auc_ci_high": 0.87},
    "slices": {"slices": {"smb": {"roc_auc": 0.84}, "enterprise": {"roc_auc": 0.81}}},
    "behavioral": {"n_failed": 1},
    "drift": {"max_psi": 0.12},
    "serving": {"latency_ms": {"single": {"p95": 9.5}, "batch": {"p95": 11.0}}},
}


def _leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_leaves(v) for v in value.values())
    return 1


def test_headline_takes_each_number_from_its_file() -> None:
    out = headline(INPUTS)
    assert out == {
        "decision": "reject",
        "promote": False,
        "n_failed_checks": 2,
        "roc_auc": 0.86,
        "roc_auc_ci_low": 0.85,
        "roc_auc_ci_high": 0.87,
        "auc_delta": -0.01,
        "auc_delta_ci_low": -0.03,
        "auc_delta_ci_high": 0.0,
        "slice_auc": {"enterprise": 0.81, "smb": 0.84},
        "behavioral_failed": 1,
        "psi_max": 0.12,
        "p95_single_ms": 9.5,
        "p95_batch_ms": 11.0,
        "n_missing_inputs": 0,
    }
    assert list(out["slice_auc"]) == ["enterprise", "smb"]  # sorted: a stable column order


@pytest.mark.parametrize("gone", sorted(SOURCES))
def test_a_missing_file_gives_nulls_not_numbers(gone: str) -> None:
    out = headline({k: v for k, v in INPUTS.items() if k != gone})
    assert out["n_missing_inputs"] == 1
    full = headline(INPUTS)
    changed = {k for k in out if out[k] != full[k]} - {"n_missing_inputs"}
    assert changed  # every source feeds at least one headline number
    assert all(out[k] in (None, {}) for k in changed)


def test_no_champion_leaves_the_paired_delta_null() -> None:
    out = headline({**INPUTS, "gate": {**INPUTS["gate"], "comparison": None}})
    assert out["auc_delta"] is None and out["auc_delta_ci_low"] is None


def _declared(kind: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name in DVC_FILES:
        stages = yaml.safe_load((REPO_ROOT / name).read_text(encoding="utf-8"))["stages"]
        for stage in stages.values():
            for item in stage.get(kind, []):
                path, opts = next(iter(item.items())) if isinstance(item, dict) else (item, {})
                found.append((path, opts or {}))
    return found


def test_summary_is_the_only_dvc_metric() -> None:
    assert [path for path, _ in _declared("metrics")] == [SUMMARY]


def test_detailed_metrics_files_stay_git_tracked_outputs() -> None:
    # mlgate reads them by path, at the champion's commit too: they must stay in git.
    outs = dict(_declared("outs"))
    for path in [*SOURCES.values(), "metrics/validation.json", "metrics/champion.json"]:
        assert outs[path].get("cache") is False, path


def test_headline_fits_a_terminal_with_the_configured_slices() -> None:
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    slices = {name: {"roc_auc": 0.8} for name in params["evaluate"]["slices"]}
    out = headline({**INPUTS, "slices": {"slices": slices}})
    assert len(out["slice_auc"]) == len(slices)
    assert _leaves(out) <= MAX_METRIC_COLUMNS


def test_summary_and_report_name_shared_files_alike():
    """The report stage reads each file once for both outputs, keyed by name: a key the two
    share must mean the same file, or one output would be built from the other's file."""
    from mlgate.report import INPUTS
    from mlgate.summary import SOURCES

    shared = SOURCES.keys() & INPUTS.keys()
    assert shared and {k: SOURCES[k] for k in shared} == {k: INPUTS[k] for k in shared}
