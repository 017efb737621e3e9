"""Pipeline building, determinism, and the integrity checks around saving and loading models."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import has_fit_parameter
from threadpoolctl import threadpool_limits

from mlgate.errors import ArtifactError, DataError, ParamsError
from mlgate.features import FeatureSpec
from mlgate.model import (
    ESTIMATORS,
    MODEL_FORMAT_VERSION,
    build_pipeline,
    hash_frame,
    load_model,
    required_columns,
    save_model,
    sha256_file,
)
from mlgate.scoring import predict_scores

ESTIMATOR_NAMES = sorted(ESTIMATORS)
# Small, fast settings: the tests check plumbing and determinism, not model quality.
FAST = {"logistic_regression": {}, "hist_gradient_boosting": {"max_iter": 30}}


def make_frame(n: int, seed: int) -> pd.DataFrame:
    """Churn-like data with a planted signal: monthly plan, short tenure, tickets, not big."""
    rng = np.random.default_rng(seed)
    cities = np.array([f"city_{i}" for i in range(50)])
    weights = 1 / np.arange(1, 51)
    frame = pd.DataFrame(
        {
            "cid": np.arange(n),
            "joined": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "tenure": rng.integers(0, 60, n),
            "spend": rng.gamma(2.0, 30.0, n),
            "plan": rng.choice(["monthly", "annual", "multi-year"], n, p=[0.5, 0.3, 0.2]),
            "big": rng.random(n) < 0.2,
            "city": rng.choice(cities, n, p=weights / weights.sum()),
            "tickets": rng.poisson(1.5, n),
        }
    )
    logit = (
        -0.5
        + 1.8 * (frame["plan"] == "monthly")
        - 0.06 * frame["tenure"]
        + 0.6 * frame["tickets"]
        - 1.0 * frame["big"]
    )
    frame["target"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame.loc[rng.choice(n, 20, replace=False), "spend"] = np.nan
    return frame


SPEC = FeatureSpec(
    numeric=("tenure", "spend", "tickets", "big"),
    categorical=("plan",),
    frequency=("city",),
    cyclical_dates=("joined",),
    days_since_dates=("joined",),
    date_reference="2024-01-01",
)


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return make_frame(1500, seed=1)


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return make_frame(800, seed=2)


def fit(estimator: str, frame: pd.DataFrame, seed: int = 0):
    pipe = build_pipeline(SPEC, estimator=estimator, hyperparams=FAST[estimator], seed=seed)
    return pipe.fit(frame[list(SPEC.columns)], frame["target"])


@pytest.fixture(scope="module")
def fitted(train) -> dict:
    return {name: fit(name, train) for name in ESTIMATOR_NAMES}


@pytest.fixture
def saved(fitted, tmp_path) -> tuple[Path, Path, dict]:
    model, meta = tmp_path / "model.joblib", tmp_path / "model.json"
    record = save_model(fitted["logistic_regression"], model, meta, metadata={"note": "test"})
    return model, meta, record


# --------------------------------------------------------------------------- build_pipeline


def test_pipeline_steps_and_estimator_settings():
    lr = build_pipeline(SPEC, estimator="logistic_regression", hyperparams={"C": 0.5}, seed=11)
    assert [name for name, _ in lr.steps] == ["features", "model"]
    assert isinstance(lr.named_steps["model"], LogisticRegression)
    assert lr.named_steps["model"].get_params()["C"] == 0.5
    assert lr.named_steps["model"].max_iter == 1000  # default raised so lbfgs converges
    assert lr.named_steps["model"].random_state == 11
    lr_iter = build_pipeline(
        SPEC, estimator="logistic_regression", hyperparams={"max_iter": 50}, seed=0
    )
    assert lr_iter.named_steps["model"].max_iter == 50

    hgb = build_pipeline(
        SPEC, estimator="hist_gradient_boosting", hyperparams={"learning_rate": 0.2}, seed=5
    )
    model = hgb.named_steps["model"]
    assert isinstance(model, HistGradientBoostingClassifier)
    assert (model.random_state, model.learning_rate) == (5, 0.2)
    # the single-threaded subclass keeps the parent's fit signature (sample_weight routing)
    assert has_fit_parameter(model, "sample_weight")
    # only the logistic regression gets scaled numeric features
    assert "scale" in lr.named_steps["features"].transformers[0][1].named_steps
    assert "scale" not in hgb.named_steps["features"].transformers[0][1].named_steps


def test_unknown_estimator_names_key_and_choices():
    with pytest.raises(ParamsError, match=r"train\.estimator.*logistic_regression.*'xgboost'"):
        build_pipeline(SPEC, estimator="xgboost", hyperparams={}, seed=0)


def test_unknown_hyperparameter_names_key_and_choices():
    with pytest.raises(ParamsError, match=r"train\.hyperparams\.n_estimators.*learning_rate"):
        build_pipeline(
            SPEC, estimator="hist_gradient_boosting", hyperparams={"n_estimators": 5}, seed=0
        )


def test_seed_cannot_be_smuggled_in_as_hyperparameter():
    with pytest.raises(ParamsError, match=r"train\.hyperparams\.random_state.*train\.seed"):
        build_pipeline(
            SPEC, estimator="logistic_regression", hyperparams={"random_state": 1}, seed=0
        )


@pytest.mark.parametrize(
    ("estimator", "hyperparams", "key"),
    [
        ("logistic_regression", {"C": -1.0}, r"train\.hyperparams\.C"),
        (
            "hist_gradient_boosting",
            {"learning_rate": "fast"},
            r"train\.hyperparams\.learning_rate",
        ),
    ],
)
def test_invalid_hyperparameter_value_names_key(estimator, hyperparams, key):
    with pytest.raises(ParamsError, match=key):
        build_pipeline(SPEC, estimator=estimator, hyperparams=hyperparams, seed=0)


@pytest.mark.parametrize("seed", [True, 1.5, "7"])
def test_seed_must_be_an_integer(seed):
    with pytest.raises(ParamsError, match=r"train\.seed"):
        build_pipeline(SPEC, estimator="logistic_regression", hyperparams={}, seed=seed)


# --------------------------------------------------------------------------- fitting and scoring


@pytest.mark.parametrize("estimator", ESTIMATOR_NAMES)
def test_both_estimators_learn_the_planted_signal(fitted, holdout, estimator):
    scores = predict_scores(fitted[estimator], holdout)
    assert scores.dtype == np.float64
    assert scores.shape == (len(holdout),)
    assert np.all((scores >= 0) & (scores <= 1))
    assert roc_auc_score(holdout["target"], scores) > 0.8


def test_shuffled_labels_give_no_signal(train, holdout):
    # The same pipeline without a real signal must not look good: guards against leakage.
    noise = train.assign(target=np.random.default_rng(0).permutation(train["target"].to_numpy()))
    scores = predict_scores(fit("logistic_regression", noise), holdout)
    assert abs(roc_auc_score(holdout["target"], scores) - 0.5) < 0.1


def test_predict_scores_reads_columns_by_name_and_ignores_extras(fitted, holdout):
    model = fitted["hist_gradient_boosting"]
    shuffled = holdout[list(reversed(holdout.columns))]
    np.testing.assert_array_equal(predict_scores(model, shuffled), predict_scores(model, holdout))


def test_predict_scores_names_missing_column(fitted, holdout):
    with pytest.raises(DataError, match=r"\['city'\]"):
        predict_scores(fitted["logistic_regression"], holdout.drop(columns=["city"]))


def test_required_columns_are_the_spec_columns(fitted):
    assert set(required_columns(fitted["logistic_regression"])) == set(SPEC.columns)


def test_predict_scores_refuses_models_without_probabilities(holdout):
    regressor = DummyRegressor().fit(np.zeros((2, 1)), [0, 1])
    with pytest.raises(ArtifactError, match="predict_proba"):
        predict_scores(regressor, holdout)


def test_predict_scores_refuses_non_binary_models(holdout):
    three = LogisticRegression().fit(np.arange(6).reshape(-1, 1), [0, 1, 2, 0, 1, 2])
    with pytest.raises(ArtifactError, match="binary"):
        predict_scores(three, holdout)


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("estimator", ESTIMATOR_NAMES)
def test_two_trainings_give_the_same_model_file(train, tmp_path, estimator):
    digests = []
    for threads in (1, 2):
        # Different thread limits too: the model hash must not depend on the machine's cores.
        with threadpool_limits(limits=threads):
            pipe = fit(estimator, train, seed=3)
        out = tmp_path / f"run{threads}"
        record = save_model(pipe, out / "m.joblib", out / "m.json", metadata={"seed": 3})
        digests.append(record["sha256"])
        assert sha256_file(out / "m.joblib") == record["sha256"]
    assert digests[0] == digests[1]
    assert (tmp_path / "run1/m.json").read_bytes() == (tmp_path / "run2/m.json").read_bytes()


def test_a_different_seed_gives_a_different_boosted_model(train, tmp_path):
    params = {"max_iter": 30, "max_features": 0.5}  # feature subsampling consumes the seed
    pipes = [
        build_pipeline(SPEC, estimator="hist_gradient_boosting", hyperparams=params, seed=s)
        for s in (1, 2)
    ]
    records = [
        save_model(
            p.fit(train[list(SPEC.columns)], train["target"]),
            tmp_path / f"s{i}.joblib",
            tmp_path / f"s{i}.json",
            metadata={},
        )
        for i, p in enumerate(pipes)
    ]
    assert records[0]["sha256"] != records[1]["sha256"]


# --------------------------------------------------------------------------- save / load


def test_save_writes_metadata_and_load_round_trips(saved, fitted, holdout):
    model_path, meta_path, record = saved
    on_disk = json.loads(meta_path.read_text())
    assert on_disk == record
    assert record["format_version"] == MODEL_FORMAT_VERSION
    assert record["sha256"] == hashlib.sha256(model_path.read_bytes()).hexdigest()
    assert record["size_bytes"] == model_path.stat().st_size
    assert record["created_from"] == {"note": "test"}
    for key in ("python_version", "sklearn_version", "numpy_version", "joblib_version"):
        assert isinstance(record[key], str) and record[key]
    assert record["estimator"].endswith("LogisticRegression")
    pipe, meta = load_model(model_path, meta_path)
    assert meta == record
    np.testing.assert_array_equal(
        predict_scores(pipe, holdout), predict_scores(fitted["logistic_regression"], holdout)
    )


def test_save_refuses_unserialisable_metadata_before_writing(fitted, tmp_path):
    with pytest.raises(TypeError):
        save_model(
            fitted["logistic_regression"],
            tmp_path / "m.joblib",
            tmp_path / "m.json",
            metadata={"bad": object()},
        )
    assert list(tmp_path.iterdir()) == []


class _Payload:
    """Unpickling this creates a directory: proof that code ran during load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _write_payload(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps(_Payload(marker)))


def test_payload_really_runs_code_when_unpickled(tmp_path):
    # Without this, the "never unpickled" tests below could pass for the wrong reason.
    evil, marker = tmp_path / "evil.joblib", tmp_path / "ran"
    _write_payload(evil, marker)
    joblib.load(evil)
    assert marker.exists()


def test_swapped_model_file_is_refused_and_never_unpickled(saved, tmp_path):
    model_path, meta_path, _ = saved
    marker = tmp_path / "payload-ran"
    _write_payload(model_path, marker)
    with pytest.raises(ArtifactError, match=r"model\.joblib.*(bytes|sha256)"):
        load_model(model_path, meta_path)
    assert not marker.exists()


def test_one_changed_byte_is_refused(saved):
    model_path, meta_path, record = saved
    data = bytearray(model_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    model_path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"sha256 [0-9a-f]{64}.*" + record["sha256"]):
        load_model(model_path, meta_path)


def test_foreign_file_with_matching_hash_but_other_sklearn_is_never_unpickled(saved, tmp_path):
    model_path, meta_path, record = saved
    marker = tmp_path / "payload-ran"
    _write_payload(model_path, marker)
    forged = dict(record, sklearn_version="0.24.2")
    forged.update(sha256=sha256_file(model_path), size_bytes=model_path.stat().st_size)
    meta_path.write_text(json.dumps(forged))
    with pytest.raises(ArtifactError, match=r"scikit-learn 0\.24\.2.*scikit-learn \d"):
        load_model(model_path, meta_path)
    assert not marker.exists()


def test_other_sklearn_version_refused_unless_checks_are_off(saved):
    model_path, meta_path, record = saved
    meta_path.write_text(json.dumps(dict(record, sklearn_version="1.0.0")))
    with pytest.raises(ArtifactError, match=r"model\.joblib.*1\.0\.0"):
        load_model(model_path, meta_path)
    pipe, meta = load_model(model_path, meta_path, check_versions=False)
    assert meta["sklearn_version"] == "1.0.0"
    assert hasattr(pipe, "predict_proba")


def test_other_python_minor_refused_but_patch_release_accepted(saved):
    model_path, meta_path, record = saved
    major, minor = sys.version_info[:2]
    meta_path.write_text(json.dumps(dict(record, python_version=f"{major}.{minor}.999")))
    load_model(model_path, meta_path)
    meta_path.write_text(json.dumps(dict(record, python_version=f"{major}.{minor + 1}.0")))
    with pytest.raises(ArtifactError, match=rf"Python {major}\.{minor + 1}\.0"):
        load_model(model_path, meta_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("", "empty"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"sha256": "ab"}', "missing key"),
    ],
)
def test_missing_or_garbled_metadata_is_refused(saved, tmp_path, content, message):
    model_path, meta_path, _ = saved
    marker = tmp_path / "payload-ran"
    _write_payload(model_path, marker)
    if content is None:
        meta_path.unlink()
    else:
        meta_path.write_text(content)
    with pytest.raises(ArtifactError, match=message):
        load_model(model_path, meta_path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 99}, "format_version"),
        ({"sha256": "not-a-digest"}, "not a hex digest"),
    ],
)
def test_metadata_with_bad_values_is_refused(saved, change, message):
    model_path, meta_path, record = saved
    meta_path.write_text(json.dumps(dict(record, **change)))
    with pytest.raises(ArtifactError, match=message):
        load_model(model_path, meta_path)


def test_missing_model_file_is_refused(saved):
    model_path, meta_path, _ = saved
    model_path.unlink()
    with pytest.raises(ArtifactError, match=r"model\.joblib does not exist"):
        load_model(model_path, meta_path)


# --------------------------------------------------------------------------- hashing


def test_sha256_file_matches_hashlib_across_chunks(tmp_path):
    path = tmp_path / "blob"
    data = bytes(range(256)) * 1000
    path.write_bytes(data)
    assert sha256_file(path, chunk_size=1000) == hashlib.sha256(data).hexdigest()


def test_hash_frame_ignores_index_but_sees_content_order_names_and_dtypes():
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})
    base = hash_frame(frame)
    assert len(base) == 64
    assert hash_frame(frame.set_axis([10, 20, 30])) == base
    assert hash_frame(frame.copy()) == base
    assert hash_frame(frame.iloc[::-1]) != base
    assert hash_frame(frame[["b", "a"]]) != base
    assert hash_frame(frame.rename(columns={"a": "c"})) != base
    assert hash_frame(frame.astype({"a": "float64"})) != base
    assert hash_frame(frame.assign(b=["x", "y", "z"])) != base
    assert hash_frame(frame.head(2)) != base


def test_hash_frame_has_a_fixed_value_for_fixed_content():
    # A golden value: Python's str hash is salted per process, hash_pandas_object is not, so
    # this must hold in every process and on every machine. Explicit numeric dtypes keep it
    # independent of pandas' default string dtype.
    frame = pd.DataFrame({"a": np.array([1, 2], dtype="int64"), "b": [0.5, np.nan]})
    assert hash_frame(frame) == "55673f350cd1053f9881f1a91706dea1bf6409f1393513380a9841313efc01db"
