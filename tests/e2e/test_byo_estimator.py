"""Bring your own estimator through `dvc repro`: a RandomForest by import path, then a class
in a module of the repository's own, each to a decided gate."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ..test_estimators import USER_MODULE
from .conftest import VENV_BIN, PipelineRepo

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

FOREST = "sklearn.ensemble.RandomForestClassifier"


def decided(repo: PipelineRepo) -> dict:
    gate = repo.metrics("gate")
    assert gate["decision"] in ("promote", "reject")
    # Every piece of evidence was produced by the model at hand: no check failed for want
    # of it (only floors may fail on the small data).
    evidence = {c["name"]: c["passed"] for c in gate["checks"]}
    for name in ("validation_passed", "behavioral_passed", "evidence_fresh", "serving_parity"):
        assert evidence[name] is True, gate["checks"]
    return gate


def test_random_forest_and_a_user_module_class_reach_the_gate(
    pipeline_factory: Callable[..., PipelineRepo],
) -> None:
    repo = pipeline_factory(
        "byo-estimator",
        {
            "train.estimator": FOREST,
            "train.estimator_params": {"n_estimators": 100, "min_samples_leaf": 20},
            # The synthetic floors (0.74 per slice) are tuned to gradient boosting on 20,000
            # rows; this test needs the forest promoted to be the next run's champion.
            "gate.min_slice_auc": 0.6,
            "gate.champion.reuse_scores": False,
        },
    )
    repo.repro()
    assert decided(repo)["promote"] is True, repo.metrics("gate")["summary"]
    meta = repo.read_json("models/model.json")
    assert meta["estimator"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert meta["estimator_import"]["import_path"] == FOREST
    assert meta["estimator_import"]["package"] == "scikit-learn"
    assert meta["created_from"]["estimator_params"]["n_estimators"] == 100
    assert repo.metrics("train")["estimator"] == FOREST
    repo.commit("random forest")
    promoted = repo.run(VENV_BIN / "mlgate", "promote", check=False)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr

    # A class of the user's own, in the repository root.
    (repo.path / "my_models.py").write_text(USER_MODULE, encoding="utf-8")
    repo.set_params(
        {
            "train.estimator": "my_models.TemperedLogistic",
            "train.estimator_params": {"temperature": 1.0},
        }
    )
    refused = repo.repro("train", check=False)
    assert refused.returncode != 0
    assert "train.code" in refused.stderr and "my_models.py" in refused.stderr
    assert "Traceback" not in refused.stderr

    repo.set_params({"train.code": "my_models.py"})
    repo.repro()
    gate = decided(repo)
    # Judged against the forest, which the gate loaded from the DVC cache and re-scored.
    assert gate["comparison"]["champion_scores"].startswith("re-scored"), gate["comparison"]
    assert next(c for c in gate["checks"] if c["name"] == "champion_metrics")["passed"]
    meta = repo.read_json("models/model.json")
    assert meta["estimator"] == "my_models.TemperedLogistic"
    assert meta["estimator_import"]["module_file"] == "my_models.py"

    # Editing the module makes train (and what follows) stale: DVC tracks it.
    with (repo.path / "my_models.py").open("a", encoding="utf-8") as fh:
        fh.write("\n# a comment changes the file\n")
    status = repo.dvc("status", "train").stdout
    assert "my_models.py" in status and "modified" in status
