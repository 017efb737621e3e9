"""Fixtures shared by the whole suite: the repository root, the shipped contract, small tables.

Nothing here is autouse: a fixture costs only the tests that ask for it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest

from mlgate.data.contract import load_contract
from mlgate.data.generate import generate
from mlgate.params import CorruptionParams, GenerateParams

REPO_ROOT = Path(__file__).resolve().parents[1]


def small_generate_params(n_rows: int = 4_000, **overrides: Any) -> GenerateParams:
    """GenerateParams with a small default size; ``corruption`` may be given as a dict."""
    corruption = overrides.pop("corruption", None)
    params = replace(GenerateParams(n_rows=n_rows), **overrides)
    if isinstance(corruption, dict):
        corruption = replace(CorruptionParams(), **corruption)
    if corruption is not None:
        params = replace(params, corruption=corruption)
    return params


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist registers this marker; register it too so that --strict-markers still
    # accepts e2e modules when xdist is absent or disabled (-p no:xdist).
    config.addinivalue_line("markers", "xdist_group(name): run in the same xdist worker")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def churn_schema() -> pa.DataFrameSchema:
    """The contract shipped in contracts/churn.yaml."""
    return load_contract(REPO_ROOT / "contracts" / "churn.yaml")


@pytest.fixture(scope="session")
def _churn_table() -> pd.DataFrame:
    return generate(small_generate_params(n_rows=4_000))


@pytest.fixture
def churn_table(_churn_table: pd.DataFrame) -> pd.DataFrame:
    """A clean 4,000-row synthetic table (a fresh copy: tests may mutate it)."""
    return _churn_table.copy()


@pytest.fixture(scope="session")
def spark():  # type: ignore[no-untyped-def]
    """A local[2] SparkSession bound to 127.0.0.1, shared by every Spark test of a worker.

    Tests that use it carry ``@pytest.mark.spark`` (select with ``-m spark``). Without Java the
    fixture fails rather than skips: the suite claims engine equivalence, so it must check it.
    """
    import shutil

    from mlgate.params import ComputeParams, SparkParams
    from mlgate.spark.session import spark_session

    if shutil.which("java") is None:
        pytest.fail("the Spark tests need Java 17+ on PATH (deselect them with -m 'not spark')")
    compute = ComputeParams(engine="spark", spark=SparkParams(master="local[2]"))
    session = spark_session(compute, app="tests")
    yield session
    session.stop()
