"""Small tables, models and slices for the Spark engine's equivalence tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlgate.data.generate import generate
from mlgate.features import FeatureSpec
from mlgate.model import build_pipeline
from mlgate.params import load_params
from mlgate.slices import Predicate, parse_slices
from tests.conftest import REPO_ROOT, small_generate_params

PARAMS = load_params(REPO_ROOT / "params.yaml")
TARGET, ID = PARAMS.data.target, PARAMS.data.id_column
OPTIONS = {"threshold": 0.5, "confidence": 0.95, "calibration_bins": 10}
# Beyond the shipped slices: a tiny one, a single-class one, null tests and a null-aware "!=".
ADVERSARIAL_SLICES = {
    "tiny": {"column": "support_tickets", "op": ">=", "value": 6},
    "one_class": {"all": [{"column": TARGET, "op": "==", "value": 1}]},
    "spend_missing": {"column": "monthly_spend", "op": "is_null"},
    "not_north": {"column": "region", "op": "!=", "value": "north"},
    "empty": {"column": "tenure_months", "op": ">", "value": 10_000},
}


def fit_model(train: pd.DataFrame, *, estimator: str, **hyperparams: Any) -> Any:
    spec = FeatureSpec(**dataclasses.asdict(PARAMS.features))
    pipe = build_pipeline(spec, estimator=estimator, hyperparams=hyperparams, seed=0)
    return pipe.fit(train[list(spec.columns)], train[TARGET])


def slices(adversarial: bool) -> dict[str, Predicate]:
    raw = dict(PARAMS.evaluate.slices)
    if adversarial:
        raw.update(ADVERSARIAL_SLICES)
    return parse_slices(raw, where="evaluate.slices")


def adversarial_table(n: int, seed: int) -> pd.DataFrame:
    """Heavy ties (rounded features), NaN in monthly_spend, few support_tickets >= 6 rows."""
    frame = generate(small_generate_params(n_rows=n, seed=seed))
    rng = np.random.default_rng(seed)
    frame["monthly_spend"] = frame["monthly_spend"].round(-2)
    frame.loc[rng.random(n) < 0.05, "monthly_spend"] = np.nan
    frame["tenure_months"] = (frame["tenure_months"] // 12) * 12
    return frame


@dataclasses.dataclass(frozen=True)
class Case:
    holdout: pd.DataFrame
    model: Any
    slices: dict[str, Predicate]


@pytest.fixture(scope="session")
def default_case() -> Case:
    frame = generate(small_generate_params(n_rows=3_000))
    model = fit_model(frame.iloc[:2_000], estimator="hist_gradient_boosting", max_iter=20)
    return Case(frame.iloc[2_000:].reset_index(drop=True), model, slices(False))


@pytest.fixture(scope="session")
def adversarial_case() -> Case:
    frame = adversarial_table(3_000, seed=7)
    # A shallow boosted model on rounded features: a few dozen distinct scores, many ties.
    model = fit_model(
        frame.iloc[:2_000], estimator="hist_gradient_boosting", max_iter=3, max_leaf_nodes=3
    )
    return Case(frame.iloc[2_000:].reset_index(drop=True), model, slices(True))


def write_partitioned(spark: Any, frame: pd.DataFrame, where: Path, partitions: int) -> str:
    """``frame`` as pandas writes it, then as a Spark dataset of ``partitions`` files."""
    single = where / "single.parquet"
    frame.to_parquet(single, index=False)
    dataset = where / f"dataset-{partitions}.parquet"
    spark.read.parquet(str(single)).repartition(partitions).write.parquet(str(dataset))
    return str(dataset)
