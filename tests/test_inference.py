"""The fast scoring path equals ``pipeline.predict_proba`` bit for bit, and falls back cleanly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from mlgate import scoring
from mlgate.features import FeatureSpec
from mlgate.model import ESTIMATORS, build_pipeline
from mlgate.scoring import predict_proba, transforms, trees

ESTIMATOR_NAMES = sorted(ESTIMATORS)
FAST = {"logistic_regression": {}, "hist_gradient_boosting": {"max_iter": 30}}
PLANS = ["monthly", "annual", "multi-year"]
CITIES = [f"city_{i}" for i in range(30)]
SPEC = FeatureSpec(
    numeric=("tenure", "spend", "tickets", "big"),
    categorical=("plan", "tier"),
    frequency=("city",),
    cyclical_dates=("joined",),
    days_since_dates=("joined",),
    date_reference="2024-01-01",
)
# tier: integer codes with gaps (float once a NaN appears), the categories_as_strings case.


def make_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "cid": np.arange(n),
            "joined": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "tenure": rng.integers(0, 60, n),
            "spend": rng.gamma(2.0, 30.0, n),
            "plan": pd.Series(rng.choice(PLANS, n), dtype="str"),
            "tier": rng.choice([1.0, 2.0, 3.0, np.nan], n),
            "big": rng.random(n) < 0.2,
            "city": pd.Series(rng.choice(CITIES, n), dtype="str"),
            "tickets": rng.poisson(1.5, n),
        }
    )
    logit = -0.5 + 1.8 * (frame["plan"] == "monthly") - 0.06 * frame["tenure"]
    frame["target"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame.loc[rng.choice(n, n // 20, replace=False), "spend"] = np.nan
    frame.loc[rng.choice(n, n // 30, replace=False), "plan"] = None
    frame.loc[rng.choice(n, n // 30, replace=False), "joined"] = pd.NaT
    return frame


@pytest.fixture(scope="module")
def fitted() -> dict[str, Pipeline]:
    train = make_frame(1200, seed=1)
    out = {}
    for name in ESTIMATOR_NAMES:
        pipe = build_pipeline(SPEC, estimator=name, hyperparams=FAST[name], seed=0)
        out[name] = pipe.fit(train[list(SPEC.columns)], train["target"])
    return out


@pytest.fixture(params=["per-row", "large-frame"])
def paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a parity test twice: as is, and with the large-frame paths (factorized strings,
    tree tables) taken at any size, so small hypothesis frames test them too. Function
    scope, so the patch never outlives the test that asked for it."""
    if request.param == "large-frame":
        monkeypatch.setattr(transforms, "FACTORIZE_ROWS", 1)
        monkeypatch.setattr(scoring, "TABLE_ROWS", 1)
    return request.param


def assert_same(pipe: Pipeline, X: pd.DataFrame) -> None:
    fast, slow = predict_proba(pipe, X), pipe.predict_proba(X)
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    assert fast.tobytes() == slow.tobytes(), np.max(np.abs(fast - slow))


def vary(frame: pd.DataFrame, data: st.DataObject) -> pd.DataFrame:
    """Missing values, unseen categories and dates as ISO strings, where hypothesis says."""
    out = frame.copy()
    n = len(out)
    rows = st.lists(st.integers(0, n - 1), max_size=n)
    for column in ("tenure", "tickets", "big"):
        if data.draw(st.booleans(), label=f"nan in {column}"):
            out[column] = out[column].astype("float64")
            out.loc[data.draw(rows), column] = np.nan
    for column in ("spend", "tier", "joined"):
        out.loc[data.draw(rows), column] = None
    for column, unseen in (("plan", "weekly"), ("city", "atlantis")):
        out.loc[data.draw(rows), column] = unseen
        out.loc[data.draw(rows), column] = None
    if data.draw(st.booleans(), label="dates as strings"):
        text = out["joined"].dt.strftime("%Y-%m-%dT%H:%M:%S")
        out["joined"] = text.astype(data.draw(st.sampled_from(["str", "object"])))
    if data.draw(st.booleans(), label="extra column first"):
        out.insert(0, "unused", "x")
    return out


@pytest.mark.parametrize("estimator", ESTIMATOR_NAMES)
@settings(
    max_examples=40,
    deadline=None,
    # `paths` patches two constants, the same for every example: nothing to reset between them.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), n=st.sampled_from([1, 2, 7, 100]), seed=st.integers(0, 10_000))
def test_fast_path_equals_predict_proba_bit_for_bit(fitted, paths, estimator, data, n, seed):
    frame = make_frame(n, seed=seed).drop(columns="target")
    assert_same(fitted[estimator], vary(frame, data))


@pytest.mark.parametrize("estimator", ESTIMATOR_NAMES)
def test_many_rows_equal(fitted, paths, estimator):
    assert_same(fitted[estimator], make_frame(3000, seed=5))


def test_large_frame_takes_the_factorized_and_tree_paths(fitted, monkeypatch):
    # The shipped thresholds, not patched ones: a real large frame takes both paths.
    frame = make_frame(max(transforms.FACTORIZE_ROWS, scoring.TABLE_ROWS) + 7, seed=12)
    frame.loc[1::97, "plan"] = "weekly"  # unseen
    frame.loc[2::89, "plan"] = None
    factorized, tables = [], []
    real_factorize, real_tables = pd.factorize, trees.predict_proba
    monkeypatch.setattr(
        pd, "factorize", lambda *a, **k: factorized.append(1) or real_factorize(*a, **k)
    )

    def spy(est, columns):
        tables.append(real_tables(est, columns) is not None)
        return real_tables(est, columns)

    monkeypatch.setattr(trees, "predict_proba", spy)
    assert_same(fitted["hist_gradient_boosting"], frame)
    assert len(factorized) == 1  # plan; tier holds floats, which factorize could merge wrongly
    assert tables == [True]


@pytest.mark.parametrize("estimator", ESTIMATOR_NAMES)
def test_shipped_pipeline_takes_every_shortcut(fitted, estimator, monkeypatch):
    # The shortcut must really be taken for the pipelines mlgate builds, else it buys nothing.
    expected = fitted[estimator].predict_proba(make_frame(5, seed=3))

    def refuse(*args, **kwargs):
        raise AssertionError("a scikit-learn transform was called")

    for cls in (
        ColumnTransformer,
        SimpleImputer,
        StandardScaler,
        FunctionTransformer,
        OneHotEncoder,
    ):
        monkeypatch.setattr(cls, "transform", refuse)
    assert predict_proba(fitted[estimator], make_frame(5, seed=3)).tobytes() == expected.tobytes()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda f: f.astype({"spend": "float32", "tenure": "float32"}), id="float32"),
        pytest.param(lambda f: f.astype({"tenure": "Int64"}), id="nullable-int"),
        pytest.param(lambda f: f.astype({"plan": "category"}), id="categorical-dtype"),
        pytest.param(lambda f: f.astype({"plan": "object"}), id="object-strings"),
        pytest.param(lambda f: f[list(reversed(f.columns))], id="columns-reordered"),
    ],
)
def test_unusual_dtypes_and_orders_give_the_same_scores(fitted, paths, change):
    frame = change(make_frame(50, seed=9))
    for pipe in fitted.values():
        assert_same(pipe, frame)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda f: f.assign(spend=np.inf), id="infinity"),
        pytest.param(lambda f: f.drop(columns="city"), id="missing-column"),
        pytest.param(lambda f: f.assign(joined="not a date"), id="bad-date"),
    ],
)
def test_bad_input_raises_what_sklearn_raises(fitted, change):
    frame = change(make_frame(10, seed=4))
    pipe = fitted["logistic_regression"]
    with pytest.raises(Exception) as slow:
        pipe.predict_proba(frame)
    with pytest.raises(type(slow.value)) as fast:
        predict_proba(pipe, frame)
    assert str(fast.value) == str(slow.value)


def test_other_pipeline_shapes_fall_back(fitted):
    frame = make_frame(30, seed=6)
    train = make_frame(400, seed=7)
    passthrough = build_pipeline(SPEC, estimator="logistic_regression", hyperparams={}, seed=0)
    passthrough.steps[0][1].set_params(remainder="passthrough")
    passthrough.fit(train[list(SPEC.columns) + ["cid"]], train["target"])
    assert_same(passthrough, frame)
    with sklearn.config_context(transform_output="pandas"):
        assert_same(fitted["hist_gradient_boosting"], frame)
    # A bare estimator on a numeric frame: not a pipeline at all.
    bare = fitted["hist_gradient_boosting"].steps[-1][1]
    numbers = fitted["hist_gradient_boosting"].steps[0][1].transform(frame)
    assert predict_proba(bare, numbers).tobytes() == bare.predict_proba(numbers).tobytes()
