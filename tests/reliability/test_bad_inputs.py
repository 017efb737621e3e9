"""Every case of the bad-input catalog is refused cleanly by the stage that reads the file.

A stage refuses with a non-zero exit, one ``error:`` message naming the file and the field,
no traceback, and its previous outputs byte-identical (no half-written file, no stray
temporary file). The gate refuses broken evidence by deciding ``reject`` (exit 0) with a
failed check whose reason names the file and the field.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import PipelineRepo
from tests.reliability.catalog import CATALOG, CSV_SOURCE, SOURCE, Case, set_params
from tests.reliability.conftest import (
    RunStage,
    changed_files,
    run_dvc_repro,
    run_stage,
    snapshot_outputs,
)

# Tests that run stages in a reproduced repository; the rest are in-process checks.
e2e = pytest.mark.e2e


def check_refusal(repo: PipelineRepo, case: Case, run: RunStage = run_stage) -> None:
    """Break ``case.target`` in ``repo``, run the stage, assert the refusal (see module doc)."""
    case.mutate(repo.path)
    before = snapshot_outputs(repo.path)
    outcome = run(repo, case.stage)
    assert "Traceback" not in outcome.output, outcome.describe()
    must_name = case.must_name
    if case.reject_check is None:
        assert outcome.code != 0, outcome.describe()
        message = outcome.message
        if not message and run is run_dvc_repro:
            # DVC refused before running the stage (a dependency missing, a params.yaml it
            # cannot parse): its one ERROR line must name the file.
            message, must_name = outcome.dvc_error, case.must_name[:1]
        assert message, f"no 'error:' message\n{outcome.describe()}"
    else:
        assert outcome.code == 0, outcome.describe()
        gate = repo.metrics("gate")
        assert gate["promote"] is False and gate["decision"] == "reject", gate["summary"]
        assert case.reject_check in gate["failed"], gate["summary"]
        check = next(c for c in gate["checks"] if c["name"] == case.reject_check)
        message = check["reason"]
    missing = [word for word in must_name if word not in message]
    assert not missing, f"message lacks {missing}: {message!r}"
    changed = [
        p for p in changed_files(before, snapshot_outputs(repo.path)) if p not in case.rewrites
    ]
    assert not changed, f"{case.stage} changed {changed} while refusing\n{outcome.describe()}"


def test_catalog_is_large_and_covers_every_kind_of_input() -> None:
    stages = {c.stage for c in CATALOG}
    targets = {c.target for c in CATALOG}
    assert len(CATALOG) >= 30
    assert {"validate", "split", "train", "evaluate", "behavioral", "gate"} <= stages
    assert {SOURCE, CSV_SOURCE, "params.yaml", "contracts/churn.yaml"} <= targets
    assert {"contracts/behavioral.yaml", "models/model.joblib", "models/model.json"} <= targets
    assert "metrics/holdout.json" in targets
    assert all(c.must_name for c in CATALOG)


@e2e
def test_clean_csv_source_passes(workspace: PipelineRepo) -> None:
    """Control for the CSV cases: the same table as CSV validates, so they fail for their break."""
    import pandas as pd

    pd.read_parquet(workspace.path / SOURCE).to_csv(workspace.path / CSV_SOURCE, index=False)
    set_params(workspace.path, {"data.source": CSV_SOURCE})
    outcome = run_stage(workspace, "validate")
    assert outcome.code == 0, outcome.describe()
    assert workspace.metrics("validation")["passed"] is True


@e2e
@pytest.mark.parametrize("case", CATALOG, ids=str)
def test_bad_input_is_refused(case: Case, workspace: PipelineRepo, run: RunStage) -> None:
    check_refusal(workspace, case, run)


@e2e
@pytest.mark.parametrize("case", [c for c in CATALOG if c.under_dvc], ids=str)
def test_bad_input_is_refused_under_dvc_repro(case: Case, workspace: PipelineRepo) -> None:
    """The same refusal through `dvc repro --single-item <stage>`, which deletes a stage's
    outputs before running it unless they are declared ``persist: true`` (they all are)."""
    check_refusal(workspace, case, run_dvc_repro)
