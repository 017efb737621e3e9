"""The catalog's serving cases through the real `mlgate` commands (see catalog.command_cases):
empty evidence fails closed with the counts, and every way of naming the champion resolves
to it (or is refused with the reason) next to the repository's champion/ folder."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.conftest import VENV_BIN, PipelineRepo
from tests.reliability.catalog import CATALOG, COMMAND_CATALOG, CommandCase

e2e = pytest.mark.e2e


def _runner(repo: PipelineRepo) -> object:
    def mlgate(*args: str) -> subprocess.CompletedProcess[str]:
        return repo.run(VENV_BIN / "mlgate", *args)  # a preparation step must succeed

    return mlgate


def test_catalog_holds_the_serving_cases() -> None:
    names = {c.name for c in CATALOG} | {c.name for c in COMMAND_CATALOG}
    assert {"serving_every_request_refused", "serving_empty_holdout"} <= names
    assert {"shadow_every_request_refused", "canary_every_request_refused"} <= names
    assert sum("champion" in n for n in names) >= 4
    assert {c.exit_code for c in COMMAND_CATALOG} == {0, 2, 3}


@e2e
@pytest.mark.parametrize("case", COMMAND_CATALOG, ids=str)
def test_command_case(case: CommandCase, workspace: PipelineRepo) -> None:
    case.prepare(workspace.path, _runner(workspace))
    proc = workspace.run(VENV_BIN / "mlgate", *case.command, check=False)
    output = proc.stdout + proc.stderr
    shown = f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert "Traceback" not in output, shown
    assert proc.returncode == case.exit_code, shown
    missing = [w for w in case.must_name if w not in output]
    assert not missing, f"output lacks {missing}\n{shown}"
    if case.exit_code != 0:
        assert "error: " in proc.stderr, shown
