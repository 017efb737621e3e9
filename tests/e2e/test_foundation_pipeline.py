"""generate -> validate -> split through `dvc repro` in a temporary git + DVC repository."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from .conftest import PipelineRepo

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SPLIT_OUTPUTS = ("data/train.parquet", "data/holdout.parquet")


def test_repro_split_writes_every_output(foundation_repo: PipelineRepo) -> None:
    root = foundation_repo.path
    for output in ("data/raw/synthetic.parquet", "data/validated.parquet", *SPLIT_OUTPUTS):
        assert (root / output).is_file(), output
    assert (root / "dvc.lock").is_file()

    validation = foundation_repo.metrics("validation")
    assert validation["passed"] is True
    assert validation["n_rows"] == 4_000
    assert validation["failures"] == []

    split = foundation_repo.metrics("split")
    train = pd.read_parquet(root / "data/train.parquet")
    holdout = pd.read_parquet(root / "data/holdout.parquet")
    assert (split["n_train"], split["n_holdout"]) == (len(train), len(holdout))
    assert len(train) + len(holdout) == 4_000
    assert abs(len(holdout) / 4_000 - 0.3) < 0.03
    assert set(train["customer_id"]).isdisjoint(holdout["customer_id"])
    assert set(train["churned"]) == {0, 1} == set(holdout["churned"])


def test_reproduced_repo_is_up_to_date_and_relocatable(
    foundation_repo: PipelineRepo, tmp_path: Path
) -> None:
    # A copy elsewhere (as in a fresh CI checkout with the DVC cache) has nothing to rerun.
    repo = foundation_repo.clone(tmp_path / "copy")
    status = repo.dvc("status", "split")
    assert "changed" not in status.stdout, status.stdout
    # Outputs are git-ignored (DVC's business), so the work tree is clean after the commit.
    assert repo.git("status", "--porcelain").stdout.strip() == ""


def test_corrupt_source_fails_closed(foundation_repo: PipelineRepo, tmp_path: Path) -> None:
    repo = foundation_repo.clone(tmp_path / "corrupt")
    before = repo.snapshot(SPLIT_OUTPUTS)

    repo.set_params({"generate.corruption.unknown_category_rate": 0.05})
    proc = repo.repro(check=False)

    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "contract_type" in output
    assert "weekly" in output  # an example of the offending value
    assert "failed to reproduce 'validate'" in output

    validation = repo.metrics("validation")
    assert validation["passed"] is False
    assert [(f["column"], f["check"].split("(")[0]) for f in validation["failures"]] == [
        ("contract_type", "isin")
    ]
    failure = validation["failures"][0]
    assert 100 < failure["failing_rows"] < 300  # 5% of 4,000 rows
    assert all(e["value"] == "weekly" for e in failure["examples"])
    assert all(isinstance(e["row"], int) for e in failure["examples"])
    failures_csv = pd.read_csv(repo.path / "metrics/validation_failures.csv")
    assert len(failures_csv) == failure["failing_rows"]

    # Nothing downstream ran: the split outputs are byte for byte the previous ones.
    assert repo.snapshot(SPLIT_OUTPUTS) == before
