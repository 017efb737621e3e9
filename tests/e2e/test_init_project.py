"""`mlgate init` on a customer table mlgate has never seen, then `dvc repro` and `mlgate check`.

2,000 rows, 11 columns, a Yes/No target, blank (" ") cells in one numeric column. The table
lives outside the repository, as a user's download would.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import yaml

from .byo_table import make_table
from .conftest import VENV_BIN, PipelineRepo

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

INIT = ("init", "--data", "../telco.csv", "--target", "Churn", "--id-column", "customerID")


def mlgate(repo: PipelineRepo, *args: str) -> tuple[int, str]:
    proc = repo.run(VENV_BIN / "mlgate", *args, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout + proc.stderr


def test_init_then_repro_gives_a_decided_gate(
    pipeline_factory: Callable[..., PipelineRepo],
) -> None:
    repo = pipeline_factory("byo-init")
    make_table(n=2_000).to_csv(repo.path.parent / "telco.csv", index=False)

    start = time.perf_counter()
    code, text = mlgate(repo, *INIT)
    init_seconds = time.perf_counter() - start
    assert code == 0, text
    # It says what it saw and decided, and what to review.
    assert "'TotalCharges'" in text and "blank/NA-like" in text
    assert "copied to sources/telco.csv" in text and "dvc add sources/telco.csv" in text
    assert "5-fold CV" in text and "review before trusting the gate" in text
    assert (repo.path / "sources/telco.csv.dvc").is_file()
    params = repo.read_params()
    assert params["data"]["source"] == "sources/telco.csv"
    assert params["data"]["positive_label"] == "Yes"  # a string, not YAML's boolean
    assert params["data"]["na_values"] == [" "]
    assert "TotalCharges" in params["features"]["numeric"]
    assert params["evaluate"]["slices"]["contract_two_year"]["value"] == "Two year"
    assert 0.5 <= params["gate"]["min_slice_auc"] <= params["gate"]["min_auc"] < 0.8

    # A second init would overwrite the drafts: refused without --force.
    code, text = mlgate(repo, *INIT)
    assert code != 0 and "--force" in text

    start = time.perf_counter()
    repo.repro()
    repro_seconds = time.perf_counter() - start
    validation = repo.metrics("validation")
    assert validation["passed"] is True and validation["n_rows"] == 2_000
    gate = repo.metrics("gate")
    assert gate["decision"] in ("promote", "reject")
    passed = {c["name"]: c["passed"] for c in gate["checks"]}
    assert passed["behavioral_passed"] and passed["serving_parity"] and passed["evidence_fresh"]
    assert any(name.startswith("slice_auc_floor[contract_") for name in passed)
    code, text = mlgate(repo, "check")
    assert code == (0 if gate["promote"] else 1), text
    assert ("PROMOTE" if gate["promote"] else "REJECT") in text
    print(f"mlgate init {init_seconds:.1f} s, dvc repro {repro_seconds:.1f} s: {gate['summary']}")

    # The spec is checked against the contract: a misspelt category is refused, not passed.
    spec_path = repo.path / params["behavioral"]["spec"]
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    spec["tests"].append(
        {
            "name": "two_year_contract_lowers_churn",
            "type": "dir",
            "rows": {"column": "Contract", "op": "==", "value": "Month-to-month"},
            "perturb": {"set": {"Contract": "Two-year"}},
            "expect": "decrease",
        }
    )
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    refused = repo.repro("behavioral", check=False)
    assert refused.returncode != 0
    assert "Contract = 'Two-year' is not a value the contract allows" in refused.stderr
    assert "did you mean 'Two year'?" in refused.stderr
