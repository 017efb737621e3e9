"""The GitHub Actions workflow: valid against GitHub's schema, key steps present and working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = REPO_ROOT / ".github/workflows/mlgate.yml"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return workflow["jobs"][job]["steps"]


def _index(steps: list[dict[str, Any]], needle: str) -> int:
    """Position of the first step whose `uses` or `run` contains ``needle``."""
    for i, step in enumerate(steps):
        if needle in str(step.get("uses", "")) + str(step.get("run", "")):
            return i
    raise AssertionError(f"no step contains {needle!r}")


def _run_step(step: dict[str, Any], cwd: Path, env: dict[str, str]) -> None:
    full_env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", **env}
    proc = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    env["_stdout"] = proc.stdout


def test_schema_validates_offline() -> None:
    proc = subprocess.run(
        [
            str(VENV_BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_triggers(workflow: dict[str, Any]) -> None:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(on) == {"pull_request", "schedule", "workflow_dispatch"}
    assert on["schedule"][0]["cron"].split()[4] == "1"  # weekly, on Mondays


def test_gate_job_has_key_steps_in_order(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["gate"]
    assert "pull_request" in job["if"]
    assert job["permissions"]["pull-requests"] == "write"
    steps = job["steps"]
    checkout = steps[_index(steps, "actions/checkout")]
    assert checkout["with"]["fetch-depth"] == 0 and checkout["with"]["fetch-tags"] is True
    python = steps[_index(steps, "actions/setup-python")]
    assert python["with"]["python-version"] == "${{ env.PYTHON_VERSION }}"
    assert workflow["env"]["PYTHON_VERSION"] == "3.11"
    order = [
        _index(steps, "make .venv/.installed"),
        _index(steps, "dvc remote list"),
        _index(steps, "dvc repro"),
        _index(steps, "mlgate check"),
        _index(steps, "iterative/setup-cml"),
        _index(steps, "cml comment create report.md"),
    ]
    assert order == sorted(order)
    pull = steps[_index(steps, "dvc remote list")]["run"]
    assert "dvc pull" in pull and "else" in pull and "echo" in pull
    comment = steps[_index(steps, "cml comment create report.md")]
    assert "always()" in comment["if"]  # posted even when the gate rejects
    assert comment["env"]["REPO_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    last = steps[-1]
    assert last["if"] == "steps.gate.outputs.exit_code != '0'" and "exit 1" in last["run"]


def test_gate_job_never_trusts_the_pull_requests_dvc_lock(workflow: dict[str, Any]) -> None:
    # A forged lock must not let `dvc repro` skip the stages that produce the evidence.
    steps = _steps(workflow, "gate")
    repro = [str(s.get("run", "")) for s in steps if "dvc repro" in str(s.get("run", ""))]
    assert repro == ["dvc repro --force"]


# Exit codes 0 and 1 need a verified pipeline run: tests/e2e/test_team_flow.py runs these
# steps for a better, a worse and a forged candidate.
@pytest.mark.parametrize("has_decision", [True, False])
def test_gate_step_captures_the_exit_code(
    workflow: dict[str, Any], tmp_path: Path, has_decision: bool
) -> None:
    if has_decision:  # a promote decision nothing backs: read, not verified
        (tmp_path / "metrics").mkdir()
        checks = [{"name": "holdout_auc_floor", "passed": True}]
        decision = {"promote": True, "decision": "promote", "n_checks": 1, "n_failed": 0}
        (tmp_path / "metrics/gate.json").write_text(
            json.dumps({**decision, "failed": [], "checks": checks})
        )
    step = _steps(workflow, "gate")[_index(_steps(workflow, "gate"), "mlgate check")]
    output = tmp_path / "github_output"
    _run_step(step, tmp_path, {"GITHUB_OUTPUT": str(output)})  # the step itself succeeds
    assert output.read_text().strip() == "exit_code=2"


def test_retrain_job_is_scheduled_and_opens_the_report(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["retrain"]
    assert "schedule" in job["if"] and "workflow_dispatch" in job["if"]
    steps = job["steps"]
    order = [
        _index(steps, "dvc repro"),
        _index(steps, "mlgate check"),
        _index(steps, "metrics/drift.json"),
        _index(steps, "cml comment create"),
        _index(steps, "cml pr create"),
    ]
    assert order == sorted(order)
    assert "GITHUB_STEP_SUMMARY" in steps[_index(steps, "metrics/drift.json")]["run"]


@pytest.mark.parametrize("retrain", [True, False])
def test_drift_step_surfaces_retrain_recommended(
    workflow: dict[str, Any], tmp_path: Path, retrain: bool
) -> None:
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/drift.json").write_text(
        json.dumps(
            {
                "has_reference": True,
                "retrain_recommended": retrain,
                "max_psi": 0.31,
                "max_psi_feature": "tenure_months",
                "drifted_features": ["tenure_months"] if retrain else [],
            }
        )
    )
    (tmp_path / "report.md").write_text("# mlgate report\n")
    steps = _steps(workflow, "retrain")
    env = {"GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_STEP_SUMMARY": str(tmp_path / "sum")}
    _run_step(steps[_index(steps, "metrics/drift.json")], tmp_path, env)
    assert (tmp_path / "out").read_text() == f"retrain_recommended={str(retrain).lower()}\n"
    summary = (tmp_path / "sum").read_text()
    assert f"**retrain_recommended: {str(retrain).lower()}**" in summary
    assert "max PSI 0.3100 (tenure_months)" in summary and "# mlgate report" in summary
    assert ("::warning" in env["_stdout"]) is retrain
