"""`dvc repro validate` with compute.engine: spark in a scratch repo: the local engine's
exit code and failure table on a corrupted source, a directory of parts on a clean one."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.conftest import make_pipeline_repo

pytestmark = pytest.mark.spark

CORRUPTION = {
    "generate.n_rows": 3_000,
    "generate.corruption.null_rate": 0.02,
    "generate.corruption.null_columns": ["tenure_months", "region"],
    "generate.corruption.out_of_range_rate": 0.01,
    "generate.corruption.duplicate_id_rate": 0.01,
}


def _without_engine(path: Path) -> dict[str, object]:
    metrics = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in metrics.items() if k != "computed_by"}


def test_corrupted_source_fails_with_the_local_failure_table(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    repo = make_pipeline_repo(
        tmp_path_factory.mktemp("spark-repro"), {**CORRUPTION, "compute.engine": "spark"}
    )
    proc = repo.repro("validate", check=False)
    # DVC exits 255 when a stage fails; the stage's own exit code is in its message.
    assert proc.returncode != 0 and "exited with 1" in proc.stderr + proc.stdout
    assert "violates" in proc.stderr + proc.stdout
    spark_csv = repo.read_bytes("metrics/validation_failures.csv")
    spark_metrics = _without_engine(repo.path / "metrics/validation.json")
    assert repo.metrics("validation")["computed_by"]["engine"] == "spark"
    assert not (repo.path / "data/validated.parquet").exists()

    repo.set_params({"compute.engine": "local"})
    proc = repo.repro("validate", check=False)
    assert proc.returncode != 0 and "exited with 1" in proc.stderr + proc.stdout
    assert repo.read_bytes("metrics/validation_failures.csv") == spark_csv
    assert _without_engine(repo.path / "metrics/validation.json") == spark_metrics
    assert spark_metrics["n_failed_checks"] >= 4


def test_clean_source_writes_parts_the_split_stage_reads(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    repo = make_pipeline_repo(tmp_path_factory.mktemp("spark-clean"), {"generate.n_rows": 3_000})
    repo.repro("validate")
    local = pd.read_parquet(repo.path / "data/validated.parquet")
    local_metrics = _without_engine(repo.path / "metrics/validation.json")
    repo.set_params({"compute.engine": "spark"})
    repo.repro("validate", "--force", "--single-item")
    out = repo.path / "data/validated.parquet"
    assert out.is_dir() and any(out.iterdir())
    pd.testing.assert_frame_equal(pd.read_parquet(out), local, check_exact=True)
    assert _without_engine(repo.path / "metrics/validation.json") == local_metrics
    repo.repro("split", "--single-item")  # the next stage reads the directory
    # No temporary directory is left beside the output.
    assert [p.name for p in out.parent.iterdir() if p.name.endswith(".tmp")] == []
