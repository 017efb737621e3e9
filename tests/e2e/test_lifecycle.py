"""A model's life in a temporary repo: run, promote, change a param, gate again, roll back.

Three pipeline runs on 4,000 rows: a logistic regression (the first model, promoted), a
slightly different one judged against it with a lenient improvement rule (promoted), and a
stricter AUC floor that the same model fails (rejected; only gate and report rerun, which
keeps the test short). The registry moves with `mlgate promote` / `mlgate rollback` and the
pipeline's own champion stage must agree with it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest

from .conftest import VENV_BIN, PipelineRepo

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def mlgate(repo: PipelineRepo, *args: str) -> subprocess.CompletedProcess[str]:
    proc = repo.run(VENV_BIN / "mlgate", *args, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def tags(repo: PipelineRepo) -> set[str]:
    return set(repo.git("tag").stdout.split())


def test_promote_gate_rollback_lifecycle(pipeline_factory: Callable[..., PipelineRepo]) -> None:
    repo = pipeline_factory("lifecycle", {"train.estimator": "logistic_regression"})

    # ---- run 1: no champion yet; the first model is promoted if every floor passes
    repo.repro()
    first = repo.commit("first model")
    gate = repo.metrics("gate")
    assert gate["promote"] is True, gate["summary"]
    report = (repo.path / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# mlgate report\n\n## Decision: ✅ PROMOTE")
    assert "**Champion:** none" in report and "![ROC curve](plots/roc.png)" in report
    assert mlgate(repo, "check").returncode == 0

    promoted = mlgate(repo, "promote")
    assert promoted.returncode == 0, promoted.stderr
    assert tags(repo) == {"churn-model@v0.0.1", "churn-model#prod#1"}
    status = mlgate(repo, "status")
    assert f"churn-model v0.0.1 at commit {first[:10]}" in status.stdout
    assert "churn-model#prod#1" in status.stdout

    # `dvc exp show --json` carries the decision from metrics/summary.json (the DVC metric)
    rows = json.loads(repo.dvc("exp", "show", "--json").stdout)
    decisions = {
        (
            r["data"]["metrics"]["metrics/summary.json"]["data"]["decision"],
            r["data"]["metrics"]["metrics/summary.json"]["data"]["promote"],
        )
        for r in rows
    }
    assert decisions == {("promote", True)}

    # ---- run 2: a param change, judged against v0.0.1 on the same holdout rows
    # A lenient rule (point delta only): a small C change is not *shown* better than v0.0.1.
    repo.set_params(
        {
            "train.hyperparams.logistic_regression.C": 0.3,
            "gate.min_delta": -0.02,
            "gate.require_superiority": False,
        }
    )
    repo.repro()
    second = repo.commit("C=0.3")
    gate = repo.metrics("gate")
    assert gate["champion"]["commit"] == first
    assert gate["comparison"]["n"] > 1_000  # paired on the holdout
    promoted = mlgate(repo, "promote")
    assert (promoted.returncode == 0) is gate["promote"], promoted.stderr
    assert gate["promote"] is True, gate["summary"]
    assert {"churn-model@v0.0.2", "churn-model#prod#2"} <= tags(repo)
    assert "**Champion:** `churn-model#prod#1`" in (repo.path / "report.md").read_text()

    # ---- run 3: a stricter floor (a gate param): only gate and report rerun
    repo.set_params({"gate.min_auc": 0.95})
    proc = repo.repro()
    assert "Running stage 'train'" not in proc.stdout
    third = repo.commit("stricter AUC floor")
    gate = repo.metrics("gate")
    assert gate["promote"] is False and gate["failed"] == ["holdout_auc_floor"]
    assert gate["champion"]["commit"] == second
    check = mlgate(repo, "check")
    assert check.returncode == 1 and "holdout_auc_floor" in check.stdout
    before = tags(repo)
    refused = mlgate(repo, "promote")
    assert refused.returncode == 1 and "the gate rejected" in refused.stderr
    assert tags(repo) == before

    # ---- rollback: v0.0.2 -> v0.0.1, and the pipeline's champion stage agrees
    rolled = mlgate(repo, "rollback")
    assert rolled.returncode == 0, rolled.stderr
    assert "v0.0.2 -> v0.0.1" in rolled.stdout
    status = mlgate(repo, "status")
    assert f"churn-model v0.0.1 at commit {first[:10]}" in status.stdout
    assert "mlgate rollback" in status.stdout
    repo.repro("champion/dvc.yaml")
    assert repo.metrics("champion")["commit"] == first

    # the rejected commit stays refused against the restored champion too
    again = mlgate(repo, "promote", "--rev", third)
    assert again.returncode == 1 and "the gate rejected" in again.stderr
