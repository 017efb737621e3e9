"""report.md from fixture metrics: order, every section's content, missing inputs, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlgate.errors import ArtifactError
from mlgate.report import PLOTS, build_report, validate_decision
from mlgate.report_format import Unavailable

REPO_ROOT = Path(__file__).resolve().parents[1]
ALL_PLOTS = dict(PLOTS)


def _gate(promote: bool = False) -> dict[str, Any]:
    checks = [
        {
            "name": "validation_passed",
            "passed": True,
            "value": True,
            "threshold": True,
            "reason": "data passed its contract",
        },
        {
            "name": "auc_improvement",
            "passed": promote,
            "value": 0.0012,
            "threshold": 0.005,
            "reason": "paired AUC difference +0.0012 vs min_delta 0.005",
        },
        {
            "name": "slice_auc_floor[smb]",
            "passed": True,
            "value": 0.85,
            "threshold": 0.74,
            "reason": "slice 'smb' ROC AUC 0.8500 vs floor 0.74",
        },
        {
            "name": "slice_auc_floor[monthly]",
            "passed": True,
            "value": 0.78,
            "threshold": 0.74,
            "reason": "slice 'monthly' ROC AUC 0.7800 vs floor 0.74",
        },
        {
            "name": "slice_regression[smb]",
            "passed": True,
            "value": 0.001,
            "threshold": -0.03,
            "reason": "slice 'smb' AUC 0.8500 vs champion 0.8490 (diff +0.0010); one-sided p "
            "(drop > 0.03) 0.0001, Holm-adjusted 0.0002 vs alpha 0.05",
            "details": {"may_block": True, "p_value": 0.0001, "p_holm": 0.0002},
        },
        {
            "name": "slice_regression[monthly]",
            "passed": promote,
            "value": -0.06,
            "threshold": -0.03,
            "reason": "slice 'monthly' AUC 0.7800 vs champion 0.8400 (diff -0.0600); one-sided p "
            "(drop > 0.03) 0.004, Holm-adjusted 0.008 vs alpha 0.05",
            "details": {"may_block": True, "p_value": 0.004, "p_holm": 0.008},
        },
    ]
    failed = [c for c in checks if not c["passed"]]
    return {
        "promote": promote,
        "decision": "promote" if promote else "reject",
        "summary": "all checks passed" if promote else "2 check(s) failed: ...",
        "n_checks": len(checks),
        "n_failed": len(failed),
        "failed": [c["name"] for c in failed],
        "champion": {
            "ref": "churn-model#prod#1",
            "commit": "a" * 40,
            "source": "gto",
            "version": "v0.0.1",
        },
        "comparison": {
            "auc_candidate": 0.8612,
            "auc_champion": 0.86,
            "auc_delta": 0.0012,
            "auc_delta_ci_low": -0.0031,
            "auc_delta_ci_high": 0.0055,
            "p_value": 0.58,
            "n": 1222,
            "champion_metrics_same_rows": {
                "roc_auc": 0.86,
                "pr_auc": 0.70,
                "brier_loss": 0.13,
                "log_loss": 0.39,
                "calibration_error": 0.02,
            },
            "slices": {
                "smb": {
                    "n": 1100,
                    "auc_candidate": 0.85,
                    "auc_champion": 0.849,
                    "auc_delta": 0.001,
                    "p_value": 0.9,
                },
                "monthly": {
                    "n": 600,
                    "auc_candidate": 0.78,
                    "auc_champion": 0.84,
                    "auc_delta": -0.06,
                    "p_value": 0.01,
                },
                "tiny": None,
            },
            "champion_committed_roc_auc": 0.8577,
        },
        "checks": checks,
    }


def _inputs(promote: bool = False) -> dict[str, Any]:
    return {
        "gate": _gate(promote),
        "holdout": {
            "n": 1222,
            "roc_auc": 0.8612,
            "roc_auc_ci_low": 0.84,
            "roc_auc_ci_high": 0.88,
            "pr_auc": 0.71,
            "brier_loss": 0.125,
            "log_loss": 0.385,
            "calibration_error": 0.018,
            "model_sha256": "b" * 64,
        },
        "slices": {
            "min_samples": 30,
            "slices": {
                "smb": {
                    "predicate": "is_enterprise == false",
                    "n": 1100,
                    "n_positive": 300,
                    "roc_auc": 0.85,
                    "roc_auc_ci_low": 0.82,
                    "roc_auc_ci_high": 0.88,
                    "skipped": False,
                },
                "monthly": {
                    "predicate": "contract_type == 'monthly'",
                    "n": 600,
                    "n_positive": 270,
                    "roc_auc": 0.78,
                    "roc_auc_ci_low": 0.74,
                    "roc_auc_ci_high": 0.82,
                    "skipped": False,
                },
                "tiny": {
                    "predicate": "a | b",
                    "n": 12,
                    "n_positive": 3,
                    "skipped": True,
                    "skip_reason": "12 rows < min_samples 30",
                },
            },
        },
        "behavioral": {
            "passed": False,
            "n_tests": 2,
            "n_passed": 1,
            "n_failed": 1,
            "n_skipped": 0,
            "tests": [
                {
                    "name": "tenure_lowers_churn",
                    "type": "dir",
                    "rows_tested": 500,
                    "failures": 65,
                    "failure_rate": 0.13,
                    "threshold": 0.1,
                    "passed": False,
                    "skipped": False,
                    "description": "More tenure lowers churn.",
                },
                {
                    "name": "region_invariance",
                    "type": "inv",
                    "rows_tested": 1222,
                    "failures": 0,
                    "failure_rate": 0.0,
                    "threshold": 0.05,
                    "passed": True,
                    "skipped": False,
                    "description": "Region.",
                },
            ],
        },
        "drift": {
            "has_reference": True,
            "reference": {"ref": "churn-model#prod#1"},
            "retrain_recommended": True,
            "threshold": 0.2,
            "n_reference": 2800,
            "n_current": 2790,
            "features": {
                "tenure_months": {
                    "kind": "numeric",
                    "psi": 0.31,
                    "expected_psi_no_shift": 0.0064,
                    "distance": 0.41,
                    "distance_name": "normed_wasserstein",
                    "drifted": True,
                },
                "region": {
                    "kind": "categorical",
                    "psi": 0.001,
                    "expected_psi_no_shift": 0.0011,
                    "distance": 0.01,
                    "distance_name": "jensen_shannon",
                    "drifted": False,
                },
            },
        },
        "validation": {
            "passed": True,
            "n_rows": 4000,
            "n_columns": 10,
            "contract": "contracts/churn.yaml",
            "source": "data/raw/synthetic.parquet",
            "n_failed_checks": 0,
            "failures": [],
        },
        "champion": {
            "found": True,
            "ref": "churn-model#prod#1",
            "commit": "a" * 40,
            "source": "gto",
            "version": "v0.0.1",
        },
        "train": {"estimator": "logistic_regression", "n_train": 2778},
        "split": {"n_train": 2778, "n_holdout": 1222},
    }


def _section(report: str, title: str) -> str:
    start = report.index(f"## {title}")
    end = report.find("\n## ", start + 1)
    return report[start : end if end != -1 else None]


def test_decision_and_failed_checks_come_first() -> None:
    report = build_report(_inputs(promote=False), plots=ALL_PLOTS)
    assert report.startswith("# mlgate report\n\n## Decision: ❌ REJECT\n")
    decision = _section(report, "Decision")
    assert "**Failed checks** (2 of 6)" in decision
    assert "`auc_improvement`" in decision and "`slice_regression[monthly]`" in decision
    assert "`validation_passed`" not in decision  # passed checks are not in the first table
    assert report.index("Failed checks") < report.index("## Candidate vs champion")


def test_promote_says_all_checks_passed() -> None:
    report = build_report(_inputs(promote=True), plots=ALL_PLOTS)
    assert "## Decision: ✅ PROMOTE" in report
    assert "All 6 checks passed." in report
    assert "Failed checks" not in report


def test_comparison_has_value_delta_and_ci_for_every_metric() -> None:
    section = _section(build_report(_inputs(), plots=ALL_PLOTS), "Candidate vs champion")
    assert "same 1,222 holdout rows" in section and "p = 0.58" in section
    rows = {
        line.split(" | ")[0].strip("| `"): line
        for line in section.splitlines()
        if line.startswith("| `")
    }
    assert set(rows) == {"roc_auc", "pr_auc", "brier_loss", "log_loss", "calibration_error"}
    assert rows["roc_auc"] == (
        "| `roc_auc` | higher | 0.8612 | [0.8400, 0.8800] | 0.8600 | +0.0012 | "
        "[-0.0031, +0.0055] |"
    )
    assert "| `brier_loss` | lower | 0.1250 | — | 0.1300 | -0.0050 | — |" in section
    assert "0.8577" in section  # the champion's own committed AUC


def test_no_champion_is_explained_not_hidden() -> None:
    inputs = _inputs(promote=True)
    inputs["gate"]["comparison"] = None
    inputs["champion"] = {"found": False, "error": None}
    report = build_report(inputs, plots=ALL_PLOTS)
    assert "**Champion:** none" in report
    assert "judged by the absolute floors only" in report
    assert "| `roc_auc` | higher | 0.8612 | [0.8400, 0.8800] | — | — | — |" in report


def test_slices_show_holm_results_and_skipped_reasons() -> None:
    section = _section(build_report(_inputs(), plots=ALL_PLOTS), "Slices")
    monthly = next(line for line in section.splitlines() if line.startswith("| `monthly`"))
    assert "0.7800 [0.7400, 0.8200]" in monthly and "0.8400" in monthly and "-0.0600" in monthly
    assert "❌ fail (p_Holm 0.008)" in monthly
    smb = next(line for line in section.splitlines() if line.startswith("| `smb`"))
    assert "✅ pass (p_Holm 0.0002)" in smb
    assert "- `tiny` (a \\| b): 12 rows < min_samples 30" in section  # pipe escaped


def test_behavioral_shows_failure_rates() -> None:
    section = _section(build_report(_inputs(), plots=ALL_PLOTS), "Behavioral tests")
    assert "1 passed, 1 failed, 0 skipped of 2" in section
    line = next(x for x in section.splitlines() if "`tenure_lowers_churn`" in x)
    assert "| DIR |" in line and "| 13.00% | 10.00% | ❌ fail |" in line


def test_drift_shows_psi_expected_psi_distance_and_verdict() -> None:
    section = _section(build_report(_inputs(), plots=ALL_PLOTS), "Drift")
    assert "**Retrain recommended: yes**" in section
    assert (
        "| `tenure_months` | numeric | 0.3100 | 0.0064 | 0.4100 (normed_wasserstein) | ⚠️ yes |"
    ) in section
    assert "| `region` | categorical | 0.0010 | 0.0011 | 0.0100 (jensen_shannon) | no |" in section


def test_drift_without_reference_says_why() -> None:
    inputs = _inputs()
    inputs["drift"] = {
        "has_reference": False,
        "reason": "no champion to compare with",
        "retrain_recommended": False,
    }
    section = _section(build_report(inputs, plots=ALL_PLOTS), "Drift")
    assert "**Retrain recommended: no**" in section
    assert "_No reference data: no champion to compare with_" in section


def test_validation_failures_are_tabulated() -> None:
    inputs = _inputs()
    inputs["validation"].update(
        passed=False,
        n_failed_checks=1,
        failures=[
            {
                "column": "contract_type",
                "check": "isin(['a', 'b'])",
                "failing_rows": 7,
                "examples": [{"row": 3, "value": "weekly"}, {"row": None, "value": "x|y"}],
            }
        ],
    )
    section = _section(build_report(inputs, plots=ALL_PLOTS), "Data validation")
    assert section.count("❌ failed") == 1 and "1 failed check(s)" in section
    assert "| `contract_type` | isin(['a', 'b']) | 7 | 3: weekly, -: x\\|y |" in section


def test_plots_are_relative_links_and_missing_ones_are_named() -> None:
    plots = {"ROC curve": "plots/roc.png", "Calibration": None}
    section = _section(build_report(_inputs(), plots=plots), "Plots")
    assert "![ROC curve](plots/roc.png)" in section
    assert "_Calibration: image missing_" in section


def test_every_missing_input_is_shown_never_raised() -> None:
    report = build_report({}, plots={title: None for title in PLOTS})
    assert "## Decision: ❓ UNKNOWN" in report
    for path in (
        "metrics/holdout.json",
        "metrics/slices.json",
        "metrics/behavioral.json",
        "metrics/drift.json",
        "metrics/validation.json",
        "metrics/gate.json",
    ):
        assert f"{path} was not provided" in report, path
    unreadable = {"gate": Unavailable("metrics/gate.json is not valid JSON: line 1")}
    assert "is not valid JSON: line 1" in build_report(unreadable, plots={})


def test_report_is_deterministic() -> None:
    first = build_report(_inputs(), plots=ALL_PLOTS)
    assert first == build_report(json.loads(json.dumps(_inputs())), plots=ALL_PLOTS)
    assert "2026" not in first and "UTC" not in first


@pytest.mark.parametrize("bad", [[], "promote", {"promote": "yes"}, {"decision": "promote"}])
def test_validate_decision_rejects_non_decisions(bad: Any) -> None:
    with pytest.raises(ArtifactError, match="gate.json"):
        validate_decision(bad, source="metrics/gate.json")


def test_stage_writes_report_with_missing_inputs(tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/gate.json").write_text(json.dumps(_gate(promote=True)))
    (tmp_path / "metrics/drift.json").write_text("not json")
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "stages/report.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Decision: ✅ PROMOTE" in report
    assert "drift report missing: metrics file metrics/drift.json is not valid JSON" in report
    assert "metrics/holdout.json does not exist" in report
    assert "_ROC curve: image missing_" in report
    assert "missing: metrics/holdout.json" in proc.stderr


def test_comparison_states_the_rule_se_sidedness_power_and_reuse() -> None:
    inputs = _inputs()
    inputs["gate"]["comparison"]["superiority"] = {
        "rule": "promote only if the one-sided 0.975 lower bound ... > 0",
        "std_error": 0.00244,
        "alpha_used": 0.0125,
        "lower_bound": -0.0036,
        "p_value": 0.31,
        "p_value_sidedness": "one-sided, H0: true delta <= 0",
        "min_delta": 0.005,
        "min_detectable_gain": 0.0076,
        "power": 0.8,
    }
    inputs["gate"]["comparison"]["holdout_reuse"] = {
        "earlier_decisions": 0,
        "spend_alpha": True,
        "alpha": 0.025,
        "alpha_used": 0.0125,
    }
    section = _section(build_report(inputs, plots=ALL_PLOTS), "Candidate vs champion")
    assert "two-sided p = 0.58, H0: delta = 0" in section
    assert "Paired SE of the delta 0.00244; one-sided 0.9875 lower bound -0.0036" in section
    assert "one-sided p 0.31 (one-sided, H0: true delta <= 0) vs alpha 0.0125" in section
    assert "detects with 80% power: +0.0076" in section
    assert "Holdout reuse" not in section  # no count recorded: nothing to say
    inputs["gate"]["holdout_reuse"] = {
        "earlier_decisions": 0,
        "commits_scanned": 3,
        "scan_limit": 500,
        "capped": False,
    }
    section = _section(build_report(inputs, plots=ALL_PLOTS), "Candidate vs champion")
    assert "0 earlier decision(s) on this holdout" in section
    assert "Alpha spending on (alpha 0.025, used 0.0125)" in section


def test_slice_too_small_to_block_is_marked_reported_only() -> None:
    inputs = _inputs()
    check = next(c for c in inputs["gate"]["checks"] if c["name"] == "slice_regression[monthly]")
    check["details"] = {"may_block": False, "p_holm": None}
    inputs["gate"]["comparison"]["slices"]["monthly"]["min_detectable_drop"] = 0.0912
    section = _section(build_report(inputs, plots=ALL_PLOTS), "Slices")
    monthly = next(line for line in section.splitlines() if line.startswith("| `monthly`"))
    assert "reported only (too small)" in monthly and "0.0912" in monthly


def test_failed_value_is_printed_with_enough_digits_to_see_it_fail() -> None:
    inputs = _inputs()
    inputs["gate"]["checks"].append(
        {
            "name": "holdout_auc_floor",
            "passed": False,
            "value": 0.73996,
            "threshold": 0.74,
            "reason": "CI lower bound 0.73996 < floor 0.74000",
        }
    )
    section = _section(build_report(inputs, plots=ALL_PLOTS), "Decision")
    line = next(x for x in section.splitlines() if "`holdout_auc_floor`" in x)
    assert line.endswith("| 0.73996 | 0.74000 |")


def test_a_failed_slice_floor_and_holm_p_show_the_digits_that_decide() -> None:
    # The slice table printed "0.7400" for a CI upper bound of 0.73996 and "fail" beside a
    # floor of 0.74; and a Holm p of 0.0500004 as "0.05" against alpha 0.05.
    inputs = _inputs()
    checks = inputs["gate"]["checks"]
    floor = next(c for c in checks if c["name"] == "slice_auc_floor[monthly]")
    floor.update(passed=False, threshold=0.74)
    inputs["slices"]["slices"]["monthly"].update(roc_auc=0.70, roc_auc_ci_high=0.73996)
    regression = next(c for c in checks if c["name"] == "slice_regression[monthly]")
    regression.update(passed=True)
    regression["details"].update(p_holm=0.0500004, alpha=0.05)
    section = _section(build_report(inputs, plots=ALL_PLOTS), "Slices")
    monthly = next(line for line in section.splitlines() if line.startswith("| `monthly`"))
    assert ", 0.73996]" in monthly and "❌ fail" in monthly
    assert "✅ pass (p_Holm 0.0500004 vs alpha 0.05)" in monthly
    # A passed floor keeps the usual 4 decimals.
    smb = next(line for line in section.splitlines() if line.startswith("| `smb`"))
    assert "[0.8200, 0.8800]" in smb
