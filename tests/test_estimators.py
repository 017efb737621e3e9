"""Bring your own estimator: import paths, their params, refusals, and the model's provenance."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from mlgate import estimators
from mlgate.errors import ArtifactError, ParamsError
from mlgate.features import FeatureSpec
from mlgate.model import build_pipeline, load_model, save_model
from mlgate.params import params_from_dict
from mlgate.scoring import predict_scores

SPEC = FeatureSpec(numeric=("x", "z"), categorical=("c",))
USER_MODULE = '''
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


class TemperedLogistic(ClassifierMixin, BaseEstimator):
    """A logistic regression whose probabilities are tempered towards 0.5."""

    def __init__(self, C=1.0, temperature=1.0):
        self.C = C
        self.temperature = temperature

    def fit(self, X, y):
        self.model_ = LogisticRegression(C=self.C, max_iter=1000).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        logit = self.model_.decision_function(X) / self.temperature
        p = 1.0 / (1.0 + np.exp(-logit))
        return np.column_stack([1.0 - p, p])


class NotAClassifier:
    def get_params(self, deep=True):
        return {}
'''


def frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    X = pd.DataFrame(
        {"x": x, "z": rng.normal(size=n), "c": rng.choice(["a", "b"], size=n).astype(object)}
    )
    y = (x + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return X, y


@pytest.fixture
def user_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root (the cwd) holding my_models.py; the module is forgotten afterwards."""
    (tmp_path / "my_models.py").write_text(USER_MODULE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    sys.modules.pop("my_models", None)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sklearn.ensemble.RandomForestClassifier", True),
        ("my_models.MyClassifier", True),
        ("hist_gradient_boosting", False),
        ("my_models.py:MyClassifier", False),
        ("sklearn..X", False),
    ],
)
def test_import_path_form(name: str, expected: bool) -> None:
    assert estimators.is_import_path(name) is expected


def test_params_accept_import_paths_and_refuse_typos() -> None:
    params = params_from_dict(
        {
            "train": {
                "estimator": "sklearn.ensemble.RandomForestClassifier",
                "estimator_params": {"n_estimators": 10},
            }
        }
    )
    assert params.train.estimator_params == {"n_estimators": 10}
    with pytest.raises(ParamsError, match=r"train\.estimator.*import path"):
        params_from_dict({"train": {"estimator": "random_forest"}})


def test_random_forest_pipeline_scores_like_its_predict_proba() -> None:
    pipe = build_pipeline(
        SPEC,
        estimator="sklearn.ensemble.RandomForestClassifier",
        hyperparams={},
        seed=7,
        estimator_params={"n_estimators": 20, "min_samples_leaf": 5},
    )
    model = pipe.steps[-1][1]
    assert isinstance(model, RandomForestClassifier)
    assert model.random_state == 7 and model.n_estimators == 20
    X, y = frame()
    pipe.fit(X, y)
    assert np.array_equal(predict_scores(pipe, X), pipe.predict_proba(X)[:, 1])


@pytest.mark.parametrize(
    ("path", "params", "match"),
    [
        (
            "sklearn.ensemble.RandomForestClassifier",
            {"n_estimator": 5},
            r"train\.estimator_params\.n_estimator.*did you mean 'n_estimators'",
        ),
        ("sklearn.ensemble.RandomForestClassifier", {"random_state": 1}, r"train\.seed"),
        (
            "sklearn.ensemble.RandomForestClassifier",
            {"n_estimators": -1},
            r"train\.estimator_params\.n_estimators",
        ),
        ("sklearn.linear_model.LinearRegression", {}, "not a classifier"),
        ("sklearn.svm.LinearSVC", {}, "no predict_proba"),
        ("sklearn.svm.SVC", {}, "probability: true"),
        ("sklearn.ensemble.RandomForestClasifier", {}, "did you mean"),
        ("no_such_module_xyz.Model", {}, "cannot import module 'no_such_module_xyz'"),
        ("sklearn.ensemble.__doc__", {}, "not a class"),
    ],
)
def test_refusals_name_the_key(path: str, params: dict, match: str) -> None:
    with pytest.raises(ParamsError, match=match):
        build_pipeline(SPEC, estimator=path, hyperparams={}, seed=0, estimator_params=params)


def test_svc_with_probabilities_is_accepted() -> None:
    pipe = build_pipeline(
        SPEC,
        estimator="sklearn.svm.SVC",
        hyperparams={},
        seed=0,
        estimator_params={"probability": True},
    )
    assert pipe.steps[-1][1].random_state == 0


def test_estimator_params_are_refused_for_built_in_names() -> None:
    with pytest.raises(ParamsError, match=r"train\.hyperparams\.logistic_regression"):
        build_pipeline(
            SPEC,
            estimator="logistic_regression",
            hyperparams={},
            seed=0,
            estimator_params={"C": 2.0},
        )


def test_user_module_class_builds_saves_and_loads(user_repo: Path) -> None:
    path = "my_models.TemperedLogistic"
    pipe = build_pipeline(
        SPEC, estimator=path, hyperparams={}, seed=0, estimator_params={"temperature": 2.0}
    )
    X, y = frame()
    pipe.fit(X, y)
    origin = estimators.provenance(path)
    assert origin["module_file"] == "my_models.py" and len(origin["module_sha256"]) == 64
    meta = save_model(
        pipe, "m.joblib", "m.json", metadata={"estimator": path}, estimator_import=origin
    )
    assert meta["estimator"] == "my_models.TemperedLogistic"
    # A fresh process would import my_models from the repository root again.
    sys.modules.pop("my_models")
    sys.path[:] = [p for p in sys.path if p != str(user_repo.resolve())]
    loaded, _ = load_model("m.joblib", "m.json")
    assert np.array_equal(predict_scores(loaded, X), predict_scores(pipe, X))
    # Appended, not prepended: a repository file never shadows an installed package.
    assert sys.path[-1] == str(user_repo.resolve())

    (user_repo / "my_models.py").write_text(USER_MODULE + "\n# edited\n", encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"my_models\.py sha256"):
        load_model("m.joblib", "m.json")
    (user_repo / "my_models.py").unlink()
    with pytest.raises(ArtifactError, match=r"needs my_models\.py"):
        load_model("m.joblib", "m.json")


def test_user_class_that_is_not_a_classifier_is_refused(user_repo: Path) -> None:
    with pytest.raises(ParamsError, match="not a classifier"):
        build_pipeline(SPEC, estimator="my_models.NotAClassifier", hyperparams={}, seed=0)


def test_installed_package_records_its_version(tmp_path: Path) -> None:
    origin = estimators.provenance("sklearn.ensemble.RandomForestClassifier")
    assert origin["package"] == "scikit-learn" and "module_file" not in origin
    estimators.check_provenance(origin, tmp_path / "m.joblib")
    with pytest.raises(ArtifactError, match="scikit-learn 0.0.1"):
        estimators.check_provenance({**origin, "package_version": "0.0.1"}, Path("m.joblib"))
