"""mlgate.scoring's one entry: the tables at any size, the switch, and the fallback.

Wherever scikit-learn's private state is not what the shortcuts read (an attribute or a node
field renamed, another release), the entry must return the model's own ``predict_proba``
exactly, name the reason (log line and ``on_fallback``), and never raise an AttributeError.
Renames are simulated by pointing sklearn_internals at names scikit-learn does not have: the
model itself stays intact, so its own predict_proba still works, as after a real upgrade.
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn
import yaml
from packaging.requirements import Requirement
from sklearn.pipeline import Pipeline

from mlgate import scoring
from mlgate.behavioral import load_spec, run_suite
from mlgate.errors import ParamsError
from mlgate.model import build_pipeline, save_model
from mlgate.scoring import sklearn_internals as internals
from mlgate.scoring import trees
from tests.test_inference import SPEC, make_frame

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hgb() -> Pipeline:
    train = make_frame(1500, seed=1)
    pipe = build_pipeline(
        SPEC, estimator="hist_gradient_boosting", hyperparams={"max_iter": 30}, seed=0
    )
    return pipe.fit(train[list(SPEC.columns)], train["target"])


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test sees its own log lines (the entry says each reason once per process) and the
    # switch unset, whatever the environment running the tests says.
    monkeypatch.setattr(scoring, "_said", set())
    monkeypatch.delenv(scoring.ENV_SWITCH, raising=False)


def own_calls(monkeypatch: pytest.MonkeyPatch, pipe: Pipeline) -> list[int]:
    """Rows of each call to the model's own predict_proba during the test."""
    calls: list[int] = []
    real = pipe.predict_proba
    monkeypatch.setitem(vars(pipe), "predict_proba", lambda X: calls.append(len(X)) or real(X))
    return calls


def table_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Per call of the tree tables: whether they scored (True) or declined (False)."""
    calls: list[bool] = []
    real = trees.predict_proba

    def spy(est: Any, columns: Any) -> Any:
        out = real(est, columns)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(trees, "predict_proba", spy)
    return calls


# --------------------------------------------------------------------------- tables, any size


@pytest.mark.parametrize("n", [1, 2, 7, 100, trees.BLOCK_ROWS + 1])
def test_tables_at_small_sizes_equal_predict_proba(hgb, n, monkeypatch):
    frame = make_frame(n, seed=n)
    expected = hgb.predict_proba(frame)
    used = table_calls(monkeypatch)
    got = scoring.predict_proba(hgb, frame, table_rows=0)
    assert used == [True]
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    assert got.tobytes() == expected.tobytes()


def test_default_table_rows_is_unchanged(hgb, monkeypatch):
    used = table_calls(monkeypatch)
    scoring.predict_proba(hgb, make_frame(500, seed=2))
    assert scoring.TABLE_ROWS == 20_000 and used == []


# --------------------------------------------------------------------------- fallback


def rename(name: str, new: str) -> Any:
    return lambda mp: mp.setattr(internals, name, new)


FALLBACKS = {
    "baseline renamed": (rename("BASELINE", "_baseline_v2"), "_baseline_v2"),
    "loss renamed": (rename("LOSS", "_loss_v2"), "_loss_v2"),
    "predictors renamed": (rename("PREDICTORS", "_predictors_v2"), "_predictors_v2"),
    "preprocessor renamed": (rename("PREPROCESSOR", "_preprocessor_v2"), "_preprocessor_v2"),
    "imputer dtype renamed": (rename("FIT_DTYPE", "_fit_dtype_v2"), "_fit_dtype_v2"),
    "one-hot flag renamed": (rename("INFREQUENT", "_infrequent_v2"), "_infrequent_v2"),
    "raw predict renamed": (
        lambda mp: mp.setattr(internals, "PREDICT_METHODS", ("predict_proba", "_raw_predict_v2")),
        "_raw_predict_v2",
    ),
    "node field renamed": (
        lambda mp: mp.setitem(internals.NODE_FIELDS, "threshold", "num_threshold_v2"),
        "num_threshold_v2",
    ),
    "output config helper moved": (
        lambda mp: (
            mp.setattr(internals, "_get_output_config", None),
            mp.setattr(internals, "_OUTPUT_CONFIG_MISSING", "helper gone", raising=False),
        ),
        "helper gone",
    ),
    "newer release": (lambda mp: mp.setattr(sklearn, "__version__", "1.10.0"), "1.10.0"),
    "older release": (lambda mp: mp.setattr(sklearn, "__version__", "1.9.0"), "1.9.0"),
    "dev build": (lambda mp: mp.setattr(sklearn, "__version__", "1.9.1.dev0"), "1.9.1.dev0"),
}


@pytest.mark.parametrize("case", sorted(FALLBACKS))
def test_unsupported_internals_fall_back_to_the_models_own_scores(hgb, case, monkeypatch, capsys):
    frame = make_frame(300, seed=4)
    expected = hgb.predict_proba(frame)
    simulate, named = FALLBACKS[case]
    simulate(monkeypatch)
    calls, reasons = own_calls(monkeypatch, hgb), []
    # table_rows=0: the tables' reads are reached too, not only the preprocessing's.
    got = scoring.predict_proba(hgb, frame, table_rows=0, on_fallback=reasons.append)
    assert got.tobytes() == expected.tobytes()
    assert calls == [300]  # the model's own predict_proba, on the whole frame
    assert len(reasons) == 1 and named in reasons[0] and "not supported" in reasons[0]
    assert named in capsys.readouterr().err


def test_each_reason_is_logged_once(hgb, monkeypatch, capsys):
    monkeypatch.setattr(sklearn, "__version__", "1.10.0")
    for _ in range(3):
        scoring.predict_proba(hgb, make_frame(5, seed=1))
    assert capsys.readouterr().err.count("1.10.0") == 1


def test_renamed_node_field_in_the_model_is_not_supported(hgb):
    # The other direction of a rename: scikit-learn's node records carry a new field name.
    est = copy.deepcopy(hgb.steps[-1][1])
    for (predictor,) in est._predictors:
        dtype = predictor.nodes.dtype
        renamed = np.dtype(
            {
                "names": ["threshold_v2" if n == "num_threshold" else n for n in dtype.names],
                "formats": [dtype.fields[n][0] for n in dtype.names],
                "offsets": [dtype.fields[n][1] for n in dtype.names],
                "itemsize": dtype.itemsize,
            }
        )
        predictor.nodes = predictor.nodes.view(renamed)
    X = hgb.steps[0][1].transform(make_frame(20, seed=3))
    with pytest.raises(internals.Unsupported, match=r"lack field\(s\) \['num_threshold'\]"):
        trees.predict_proba(est, X)


# --------------------------------------------------------------------------- the switch


@pytest.mark.parametrize("value", ["0", "off", "false", " No "])
def test_switch_off_scores_with_the_models_own_predict_proba(hgb, value, monkeypatch, capsys):
    frame = make_frame(50, seed=6)
    expected = hgb.predict_proba(frame)
    monkeypatch.setenv(scoring.ENV_SWITCH, value)
    calls, used = own_calls(monkeypatch, hgb), table_calls(monkeypatch)
    got = scoring.predict_proba(hgb, frame, table_rows=0)
    assert got.tobytes() == expected.tobytes() and calls == [50] and used == []
    assert f"{scoring.ENV_SWITCH}=0" in capsys.readouterr().err


@pytest.mark.parametrize("value", [None, "", "1", "on", "TRUE"])
def test_switch_on_or_unset_takes_the_shortcuts(hgb, value, monkeypatch):
    if value is not None:
        monkeypatch.setenv(scoring.ENV_SWITCH, value)
    calls, used = own_calls(monkeypatch, hgb), table_calls(monkeypatch)
    scoring.predict_proba(hgb, make_frame(50, seed=6), table_rows=0)
    assert calls == [] and used == [True]


def test_shortcuts_argument_overrides_the_environment(hgb, monkeypatch):
    monkeypatch.setenv(scoring.ENV_SWITCH, "0")
    calls = own_calls(monkeypatch, hgb)
    scoring.predict_proba(hgb, make_frame(5, seed=6), shortcuts=True)
    assert calls == []
    scoring.predict_proba(hgb, make_frame(5, seed=6), shortcuts=False)
    assert calls == [5]


def test_switch_with_another_value_is_a_params_error(hgb, monkeypatch):
    monkeypatch.setenv(scoring.ENV_SWITCH, "maybe")
    with pytest.raises(ParamsError, match=r"MLGATE_FAST_SCORING='maybe': expected 1 .* or 0"):
        scoring.predict_proba(hgb, make_frame(5, seed=6))


def test_switch_gives_bit_identical_scores_on_a_large_frame(hgb, monkeypatch):
    # The default threshold, a frame above it: both shortcuts (factorized strings, tables).
    frame = make_frame(scoring.TABLE_ROWS + 3, seed=8)
    on = scoring.predict_scores(hgb, frame)
    monkeypatch.setenv(scoring.ENV_SWITCH, "0")
    assert scoring.predict_scores(hgb, frame).tobytes() == on.tobytes()


# --------------------------------------------------------------------------- callers


@pytest.fixture(scope="module")
def churn() -> tuple[Pipeline, pd.DataFrame, Any]:
    from mlgate.data.generate import generate
    from mlgate.features import FeatureSpec
    from mlgate.params import GenerateParams, load_params

    params = load_params(ROOT / "params.yaml")
    features = FeatureSpec(**dataclasses.asdict(params.features))
    data = generate(GenerateParams(n_rows=5000, seed=3))
    model = build_pipeline(
        features, estimator="hist_gradient_boosting", hyperparams={"max_iter": 20}, seed=0
    ).fit(data[list(features.columns)].iloc[:3500], data["churned"].iloc[:3500].to_numpy())
    spec_path = ROOT / "contracts" / "behavioral.yaml"
    spec = load_spec(yaml.safe_load(spec_path.read_text()), source=str(spec_path))
    return model, data.iloc[3500:].reset_index(drop=True), spec


def test_behavioral_suite_is_unchanged_by_a_fallback(churn, monkeypatch, capsys):
    # Before the guard, a renamed private attribute raised AttributeError inside the tables
    # and behavioral reported "the model cannot score".
    model, holdout, spec = churn
    monkeypatch.setattr(scoring, "TABLE_ROWS", 0)  # every frame through the tables
    table = table_calls(monkeypatch)
    shortcut, _ = run_suite(model, holdout, spec, seed=0, id_column="customer_id")
    assert table and all(table)
    monkeypatch.setattr(internals, "BASELINE", "_baseline_v2")
    fallback, _ = run_suite(model, holdout, spec, seed=0, id_column="customer_id")
    assert fallback == shortcut
    assert "_baseline_v2" in capsys.readouterr().err


def test_behavioral_reports_a_bad_switch_as_such(churn, monkeypatch):
    model, holdout, spec = churn
    monkeypatch.setenv(scoring.ENV_SWITCH, "maybe")
    with pytest.raises(ParamsError, match="MLGATE_FAST_SCORING"):
        run_suite(model, holdout, spec, seed=0, id_column="customer_id")


def test_gate_records_why_the_champion_was_scored_by_sklearn(hgb, tmp_path, monkeypatch):
    from mlgate.gate.champion_evidence import champion_scores
    from stages.gate import PATHS

    model_path, meta_path = tmp_path / "model.joblib", tmp_path / "model.json"
    save_model(hgb, model_path, meta_path, metadata={})
    files = {"models/model.joblib": model_path, "models/model.json": meta_path}
    reader = SimpleNamespace(read_bytes=lambda path: files[path].read_bytes())
    params = SimpleNamespace(gate=SimpleNamespace(champion=SimpleNamespace(reuse_scores=False)))
    holdout = make_frame(40, seed=9)
    scores, why = champion_scores(params, PATHS, reader, holdout)
    assert why == "re-scored (gate.champion.reuse_scores: false)"  # no fallback, no note
    monkeypatch.setattr(internals, "LOSS", "_loss_v2")
    monkeypatch.setattr(scoring, "TABLE_ROWS", 0)
    again, why = champion_scores(params, PATHS, reader, holdout)
    assert again.tobytes() == scores.tobytes()
    assert why.startswith("re-scored (gate.champion.reuse_scores: false); scoring shortcuts")
    assert "_loss_v2" in why


# --------------------------------------------------------------------------- the pin


def test_pyproject_pins_the_tested_scikit_learn_release():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = [Requirement(r) for r in project["dependencies"] if r.startswith("scikit-learn")]
    assert len(pins) == 1
    allowed = pins[0].specifier
    assert all(allowed.contains(v) for v in internals.TESTED_SKLEARN)
    assert not allowed.contains("1.10.0") and not allowed.contains("1.6.0")
    locked = [
        line.split("==")[1].strip()
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line.startswith("scikit-learn==")
    ]
    assert locked and locked[0] in internals.TESTED_SKLEARN
    assert sklearn.__version__ in internals.TESTED_SKLEARN  # this environment is a tested one
