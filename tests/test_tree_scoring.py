"""QuickScorer tables give HistGradientBoostingClassifier.predict_proba bit for bit.

The oracle is scikit-learn's own predict_proba on the same matrix, compared with
``array_equal``: a wrong exit leaf, a threshold compared the wrong way, or a different order of
adding the trees changes the last bits of some of the scores.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier

from mlgate import scoring
from mlgate.model import ReproducibleHistGradientBoostingClassifier
from mlgate.scoring import sklearn_internals, trees


def make_data(n: int, seed: int, nan_rate: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.normal(size=n),
            rng.integers(0, 5, n).astype(float),  # few distinct values: many equal thresholds
            rng.exponential(3.0, n),
            rng.random(n) < 0.3,
        ]
    ).astype(np.float64)
    logit = X[:, 0] - 0.4 * X[:, 1] + 0.2 * X[:, 2] + X[:, 3]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X[rng.random((n, 4)) < nan_rate] = np.nan
    return X, y


def fit(max_leaf_nodes: int | None, seed: int = 0, **kwargs) -> HistGradientBoostingClassifier:
    X, y = make_data(3000, seed)
    params = {"max_iter": 40, "max_leaf_nodes": max_leaf_nodes, "random_state": seed} | kwargs
    return HistGradientBoostingClassifier(**params).fit(X, y)


def thresholds_of(model: HistGradientBoostingClassifier) -> np.ndarray:
    """Every split's (feature, threshold), so inputs can sit exactly on and beside them."""
    nodes = np.concatenate([p[0].nodes for p in model._predictors])
    splits = nodes[~nodes["is_leaf"].astype(bool)]
    return splits[["feature_idx", "num_threshold"]]


def edge_matrix(model: HistGradientBoostingClassifier, seed: int) -> np.ndarray:
    """Rows on each threshold, one ulp either side, outside the training range, inf, NaN, -0."""
    X, _ = make_data(4000, seed + 100, nan_rate=0.2)
    rng = np.random.default_rng(seed)
    for feature, threshold in thresholds_of(model):
        rows = rng.integers(0, len(X), 3)
        for row, value in zip(
            rows,
            (threshold, np.nextafter(threshold, -np.inf), np.nextafter(threshold, np.inf)),
            strict=True,
        ):
            X[row, feature] = value
    specials = [np.inf, -np.inf, 1e300, -1e300, -0.0, 0.0, np.nan]
    picks = rng.integers(0, len(X), (200, 4))
    X[picks[:, 0], picks[:, 1] % 4] = rng.choice(specials, 200)
    return X


@pytest.mark.parametrize("max_leaf_nodes", [2, 7, 16, 17, 31, 32, 33, 64])
def test_equals_sklearn_for_every_mask_width(max_leaf_nodes: int) -> None:
    model = fit(max_leaf_nodes)
    most_leaves = max(int(p[0].nodes["is_leaf"].sum()) for p in model._predictors)
    assert most_leaves == max_leaf_nodes  # the mask width under test is the one used
    X = edge_matrix(model, seed=max_leaf_nodes)
    got = trees.predict_proba(model, X)
    assert got is not None
    np.testing.assert_array_equal(got, model.predict_proba(X))


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    leaves=st.integers(2, 40),
    n=st.integers(1, 3000),
    missing_rate=st.sampled_from([0.0, 0.05, 0.5]),
)
def test_equals_sklearn_on_random_models(seed: int, leaves: int, n: int, missing_rate: float):
    X_train, y = make_data(1500, seed, nan_rate=missing_rate)
    model = HistGradientBoostingClassifier(
        max_iter=20, max_leaf_nodes=leaves, learning_rate=0.3, random_state=seed
    ).fit(X_train, y)
    X, _ = make_data(n, seed + 1, nan_rate=missing_rate)
    np.testing.assert_array_equal(trees.predict_proba(model, X), model.predict_proba(X))


@pytest.mark.parametrize("last_block_rows", [1, 2, 7])
def test_thread_count_does_not_change_scores(last_block_rows: int, monkeypatch) -> None:
    model = fit(15)
    X = edge_matrix(model, seed=3)[: 3 * trees.BLOCK_ROWS + last_block_rows]
    scores = {}
    for threads in (1, 2, 3):  # forced, whatever the machine has
        monkeypatch.setattr(sklearn_internals, "openmp_threads", lambda t=threads: t)
        scores[threads] = trees.predict_proba(model, X)
    np.testing.assert_array_equal(scores[1], scores[2])
    np.testing.assert_array_equal(scores[1], scores[3])
    np.testing.assert_array_equal(scores[1], model.predict_proba(X))


def test_nan_where_training_had_none() -> None:
    # Without missing values in training, each node's missing_go_to_left comes from its
    # sample counts (the larger child); NaN at scoring time must follow it.
    X_train, y = make_data(3000, 21, nan_rate=0.0)
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X_train, y)
    X = edge_matrix(model, seed=21)  # 20 % NaN and the special values
    assert np.isnan(X).any()
    np.testing.assert_array_equal(trees.predict_proba(model, X), model.predict_proba(X))


def test_trees_without_splits() -> None:
    # A constant feature gives single-leaf trees: no tables at all, every row gets the leaf.
    X = np.zeros((500, 2))
    y = np.arange(500) % 2
    model = HistGradientBoostingClassifier(max_iter=5).fit(X, y)
    np.testing.assert_array_equal(trees.predict_proba(model, X), model.predict_proba(X))


def test_mlgate_reproducible_subclass_is_covered() -> None:
    X, y = make_data(2000, 5)
    model = ReproducibleHistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    np.testing.assert_array_equal(trees.predict_proba(model, X), model.predict_proba(X))


class OwnProba(HistGradientBoostingClassifier):
    def predict_proba(self, X):  # noqa: ANN001, ANN201 - a subclass that predicts its own way
        return super().predict_proba(X) * 0 + 0.5


@pytest.mark.parametrize(
    "case",
    [
        "more than 64 leaves",
        "categorical splits",
        "multiclass",
        "own predict_proba",
        "float32 input",
        "wrong width",
    ],
)
def test_not_covered_returns_none(case: str) -> None:
    X, y = make_data(3000, 7)
    X = np.nan_to_num(X)
    model_kwargs: dict = {"max_iter": 10}
    if case == "more than 64 leaves":
        model_kwargs |= {"max_leaf_nodes": None, "min_samples_leaf": 2, "max_depth": 12}
    if case == "categorical splits":
        model_kwargs |= {"categorical_features": [1]}
    if case == "multiclass":
        y = np.arange(len(y)) % 3
    cls = OwnProba if case == "own predict_proba" else HistGradientBoostingClassifier
    model = cls(**model_kwargs).fit(X, y)
    if case == "more than 64 leaves":
        assert max(int(p[0].nodes["is_leaf"].sum()) for p in model._predictors) > 64
    if case == "float32 input":
        X = X.astype(np.float32)
    if case == "wrong width":
        X = X[:, :3]
    assert trees.predict_proba(model, X) is None


@pytest.mark.parametrize(("table_rows", "tables"), [(None, False), (3001, False), (3000, True)])
def test_entry_hands_frames_from_table_rows_to_the_tables(
    table_rows: int | None, tables: bool, monkeypatch: pytest.MonkeyPatch
):
    # The entry hands a boosted model's matrix to the tables from table_rows rows on (the
    # default, 20,000, leaves this 3,000-row frame to scikit-learn's walk).
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    X, y = make_data(3000, 11)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    pipeline = Pipeline(
        [
            ("prep", ColumnTransformer([("num", SimpleImputer(), ["a", "b", "c", "d"])])),
            ("model", HistGradientBoostingClassifier(max_iter=10)),
        ]
    ).fit(frame, y)
    calls = []
    real = trees.predict_proba

    def spy(est, features):  # noqa: ANN001, ANN202
        out = real(est, features)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(trees, "predict_proba", spy)
    got = scoring.predict_proba(pipeline, frame, table_rows=table_rows)
    assert calls == ([True] if tables else [])
    np.testing.assert_array_equal(got, pipeline.predict_proba(frame))
