"""The gate's own evidence through `dvc repro` and `dvc exp run` in a real git + DVC repository:
row order, NaN scores, a champion that trained on the holdout, and holdout reuse.

One session repo: a first model committed and promoted with GTO (the champion), then a candidate
(fewer boosting rounds) reproduced in the work tree. ``gate.serving.required`` is off so that
gate.json holds no latency measurement and can be compared byte for byte.
"""

from __future__ import annotations

import io

import gto.api
import numpy as np
import pandas as pd
import pytest
import yaml

from mlgate.model import load_model, save_model
from mlgate.scoring import predict_scores
from tests.e2e.conftest import PipelineRepo

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

HGB = "train.hyperparams.hist_gradient_boosting.max_iter"
OUTPUTS = ("metrics/gate.json", "metrics/holdout.json", "metrics/slices.json")


@pytest.fixture(scope="session")
def evidence_repo(pipeline_factory) -> tuple[PipelineRepo, str]:
    repo = pipeline_factory("evidence", params={"gate.serving.required": False})
    repo.repro()
    champion = repo.commit("first model: the champion")
    gto.api.register(str(repo.path), "churn-model", champion)
    gto.api.assign(str(repo.path), "churn-model", "prod", ref=champion)
    repo.set_params({HGB: 100})
    repo.repro()  # the candidate, not committed
    return repo, champion


@pytest.fixture
def repo(evidence_repo, tmp_path) -> PipelineRepo:
    return evidence_repo[0].clone(tmp_path / "repo")


def _check(gate: dict, name: str) -> dict:
    return next(c for c in gate["checks"] if c["name"] == name)


def _ids(repo: PipelineRepo, rel: str) -> set:
    return set(pd.read_parquet(repo.path / rel, columns=["customer_id"])["customer_id"])


# ------------------------------------------------------------------ row order


def _permute_holdout(repo: PipelineRepo, original: bytes, seed: int) -> dict[str, bytes]:
    """The same holdout rows in another order, recorded as the split's output, reproduced."""
    frame = pd.read_parquet(io.BytesIO(original))
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    shuffled.to_parquet(repo.path / "data/holdout.parquet", index=False)
    repo.dvc("commit", "--force", "split")
    out = repo.repro()
    assert "Running stage 'evaluate'" in out.stdout and "Running stage 'gate'" in out.stdout
    return repo.snapshot(OUTPUTS)


def test_permuted_holdout_gives_byte_identical_decision_and_metrics(repo):
    original = repo.read_bytes("data/holdout.parquet")
    first = _permute_holdout(repo, original, seed=1)
    second = _permute_holdout(repo, original, seed=2)
    assert repo.read_bytes("data/holdout.parquet") != original  # the rows did move
    for path in OUTPUTS:
        assert first[path] == second[path], path
    gate = repo.metrics("gate")
    assert gate["comparison"] is not None and gate["comparison"]["champion_scores"].startswith(
        "re-scored"
    )


# ------------------------------------------------------------------ NaN scores


def _nan_champion(repo: PipelineRepo) -> tuple[str, int]:
    """Commit, on a side branch, a champion whose model scores some rows NaN (one leaf of its
    first tree), recorded by `dvc commit` as its train output; promote it; return to main."""
    repo.git("checkout", "--quiet", "-b", "nan-champion")
    models = repo.path / "models"
    model, meta = load_model(models / "model.joblib", models / "model.json")
    nodes = model.steps[-1][1]._predictors[0][0].nodes
    nodes["value"][np.flatnonzero(nodes["is_leaf"])[0]] = np.nan
    created_from = yaml.safe_load((models / "model.json").read_text())["created_from"]
    save_model(model, models / "model.joblib", models / "model.json", metadata=created_from)
    holdout = pd.read_parquet(repo.path / "data/holdout.parquet")
    n_nan = int(np.isnan(predict_scores(model, holdout)).sum())
    repo.dvc("commit", "--force", "train")
    sha = repo.commit("a champion whose model gives NaN")
    gto.api.register(str(repo.path), "churn-model", sha)
    gto.api.assign(str(repo.path), "churn-model", "prod", ref=sha)
    repo.git("checkout", "--quiet", "main")
    repo.dvc("checkout", "--force")
    return sha, n_nan


def test_nan_scores_of_the_rescored_champion_are_a_failed_check_not_a_traceback(repo):
    sha, n_nan = _nan_champion(repo)
    assert n_nan > 0
    out = repo.repro()
    assert "Traceback" not in out.stdout + out.stderr
    gate = repo.metrics("gate")
    assert gate["champion"]["commit"] == sha
    assert gate["promote"] is False and "paired_comparison" in gate["failed"]
    reason = _check(gate, "paired_comparison")["reason"]
    n = len(pd.read_parquet(repo.path / "data/holdout.parquet"))
    assert f"{n_nan} of {n} holdout scores are NaN or infinite" in reason
    assert "champion model at churn-model" in reason and sha[:10] in reason


# ------------------------------------------------------------------ leakage


def test_same_split_definition_passes_the_leakage_check_without_reading_ids(repo):
    gate = repo.metrics("gate")
    check = _check(gate, "holdout_leakage")
    assert check["passed"] is True and check["value"] == 0
    assert "split definition" in check["reason"]


def test_changed_salt_fails_closed_naming_the_overlap(repo, evidence_repo):
    _, champion = evidence_repo
    champion_train = _ids(repo, "data/train.parquet")  # same salt so far: the champion's rows
    repo.set_params({"split.salt": "another-salt"})
    out = repo.repro()
    assert "Running stage 'split'" in out.stdout
    overlap = len(champion_train & _ids(repo, "data/holdout.parquet"))
    assert overlap > 0
    gate = repo.metrics("gate")
    check = _check(gate, "holdout_leakage")
    assert gate["promote"] is False and "holdout_leakage" in gate["failed"]
    assert check["value"] == overlap
    assert f"trained on {overlap} of the" in check["reason"] and "params split" in check["reason"]
    assert champion[:10] in check["reason"]

    # Without the champion's training ids nothing proves the rows are new: fail closed.
    lock = yaml.safe_load(repo.git("show", f"{champion}:dvc.lock").stdout)
    md5 = next(
        o["md5"] for o in lock["stages"]["split"]["outs"] if o["path"].endswith("train.parquet")
    )
    cached = repo.path / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    cached.chmod(0o644)
    cached.unlink()
    repo.repro("-f", "-s", "gate")
    check = _check(repo.metrics("gate"), "holdout_leakage")
    assert check["passed"] is False and check["value"] is None
    assert "cannot be read" in check["reason"] and "data/train.parquet" in check["reason"]


# ------------------------------------------------------------------ holdout reuse


def test_earlier_decisions_on_this_holdout_are_counted_and_reported(repo):
    gate = repo.metrics("gate")
    # the champion's own run judged its model on this holdout
    assert gate["holdout_reuse"]["earlier_decisions"] == 1
    repo.commit("candidate with 100 rounds")
    repo.set_params({HGB: 80})
    repo.repro()
    gate = repo.metrics("gate")
    assert gate["holdout_reuse"]["earlier_decisions"] == 2
    assert gate["holdout_reuse"]["capped"] is False
    assert "Holdout reuse: 2 earlier decision(s)" in repo.read_bytes("report.md").decode()

    # a rerun with no new commit gives the same decision, to the byte
    before = repo.read_bytes("metrics/gate.json")
    out = repo.repro("-f", "-s", "gate")
    assert "Running stage 'gate'" in out.stdout
    assert repo.read_bytes("metrics/gate.json") == before

    # experiments count too: the second sees the first one's ref
    repo.dvc("exp", "run", "-S", f"{HGB}=60")
    assert repo.metrics("gate")["holdout_reuse"]["earlier_decisions"] == 2
    repo.dvc("exp", "run", "-S", f"{HGB}=70")
    assert repo.metrics("gate")["holdout_reuse"]["earlier_decisions"] == 3
    assert len(repo.git("for-each-ref", "refs/exps").stdout.split("\n")) >= 2
