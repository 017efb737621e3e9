"""Tiny models and services for the serving tests.

Two small models are trained once per session on the synthetic table: ``champion`` on the
default world and ``reversed`` on a world where the contract effect is flipped, so its scores
differ a lot from the champion's on the same rows (a candidate that must fail a canary).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlgate.data.generate import generate
from mlgate.features import FeatureSpec
from mlgate.model import build_pipeline, save_model
from mlgate.params import GenerateParams
from mlgate.scoring import predict_scores
from mlgate.serving.client import frame_to_records
from mlgate.serving.loading import load_service
from mlgate.serving.service import ScoringService

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACT = REPO_ROOT / "contracts" / "churn.yaml"
SPEC = FeatureSpec(
    numeric=("tenure_months", "monthly_spend", "support_tickets", "is_enterprise"),
    categorical=("contract_type", "region"),
    frequency=("city",),
    cyclical_dates=("signup_date",),
    days_since_dates=("signup_date",),
    date_reference="2026-01-01",
)
N_TRAIN = 1500


def _train(frame: pd.DataFrame, directory: Path) -> Path:
    pipeline = build_pipeline(
        SPEC,
        estimator="hist_gradient_boosting",
        hyperparams={"max_iter": 15, "max_leaf_nodes": 7, "early_stopping": False},
        seed=0,
    )
    pipeline.fit(frame[list(SPEC.columns)], frame["churned"].to_numpy())
    directory.mkdir(parents=True, exist_ok=True)
    save_model(
        pipeline,
        directory / "model.joblib",
        directory / "model.json",
        metadata={"input_columns": list(SPEC.columns), "target": "churned"},
    )
    return directory


@pytest.fixture(scope="session")
def table() -> pd.DataFrame:
    """3,000 synthetic rows: the first N_TRAIN train the models, the rest are 'traffic'."""
    return generate(GenerateParams(n_rows=3_000, seed=7))


@pytest.fixture(scope="session")
def traffic(table: pd.DataFrame) -> pd.DataFrame:
    return table.iloc[N_TRAIN:].reset_index(drop=True)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, table: pd.DataFrame) -> Path:
    return _train(table.iloc[:N_TRAIN], tmp_path_factory.mktemp("champion") / "models")


@pytest.fixture(scope="session")
def reversed_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    world = generate(GenerateParams(n_rows=N_TRAIN, seed=8, reverse_contract_effect=True))
    return _train(world, tmp_path_factory.mktemp("reversed") / "models")


@pytest.fixture(scope="session")
def service(model_dir: Path) -> ScoringService:
    return load_service(str(model_dir), root=model_dir.parent, contract=str(CONTRACT))


@pytest.fixture(scope="session")
def records(traffic: pd.DataFrame) -> list[dict[str, Any]]:
    """Traffic rows as a client sends them (no label)."""
    return frame_to_records(traffic.drop(columns=["churned"]))


@pytest.fixture(scope="session")
def offline(service: ScoringService, traffic: pd.DataFrame) -> np.ndarray:
    """Offline scores of the traffic rows, as the evaluate stage computes them."""
    return predict_scores(service.pipeline, traffic)


class Shifted:
    """A model whose probabilities are ``a * p + b`` of a real one: a known difference."""

    def __init__(self, pipeline: Any, a: float, b: float) -> None:
        self.pipeline, self.a, self.b = pipeline, a, b
        self.classes_ = pipeline.classes_

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.pipeline.predict_proba(X)[:, 1] * self.a + self.b
        return np.column_stack([1 - p, p])


@pytest.fixture(scope="session")
def shifted() -> Callable[[ScoringService, float, float], ScoringService]:
    def make(base: ScoringService, a: float, b: float) -> ScoringService:
        return replace(base, pipeline=Shifted(base.pipeline, a, b))

    return make


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def api_client(app: Any) -> Any:
    """Starlette's TestClient, imported quietly: starlette 1.10 warns that it will move from
    httpx to httpx2, which is not a dependency of this project (yet)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    return TestClient(app)
