"""Forged decisions are refused by the commands a user runs: `mlgate check`, `mlgate promote`.

The starting point is a committed, verified *reject* (the reliability pipeline with
``gate.min_auc: 0.99``, reproduced with `dvc repro`, so dvc.lock matches): `mlgate check` exits
1 and says ``verified``. Each case of ``catalog.FORGED`` edits metrics/gate.json (and, as a
forger would, its md5 in dvc.lock) and commits; both commands must then exit 2, name what is
wrong, and create no tag.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import VENV_BIN, PipelineRepo, _env, _locked, _run_dir
from tests.reliability.catalog import FORGED, ForgedCase

pytestmark = [pytest.mark.e2e]


def mlgate(repo: PipelineRepo, *args: str) -> subprocess.CompletedProcess[str]:
    proc = repo.run(VENV_BIN / "mlgate", *args, check=False)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="session")
def verified_reject(
    reliability_repo: PipelineRepo, tmp_path_factory: pytest.TempPathFactory
) -> PipelineRepo:
    """Read-only: a committed reject that `mlgate check` verifies (built once per run)."""
    shared = _run_dir(tmp_path_factory)
    root, ready = shared / "verified-reject", shared / "verified-reject.ready"
    with _locked(shared / "verified-reject.lock"):
        if not ready.exists():
            if root.exists():
                shutil.rmtree(root)
            repo = reliability_repo.clone(root)
            repo.set_params({"gate.min_auc": 0.99})
            repo.repro("gate")
            repo.commit("a stricter AUC floor: reject")
            ready.touch()
    return PipelineRepo(root, _env(root))


def test_the_baseline_is_a_verified_reject(verified_reject: PipelineRepo, tmp_path: Path) -> None:
    repo = verified_reject.clone(tmp_path / "repo")
    checked = mlgate(repo, "check")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "(metrics/gate.json, verified)" in checked.stdout
    assert "holdout_auc_floor" in checked.stdout


@pytest.mark.parametrize("case", FORGED, ids=str)
def test_forged_decision_is_refused(
    case: ForgedCase, verified_reject: PipelineRepo, tmp_path: Path
) -> None:
    repo = verified_reject.clone(tmp_path / "repo")
    case.mutate(repo.path)
    repo.commit(case.name)
    before = repo.git("tag").stdout
    for command in ("check", "promote"):
        proc = mlgate(repo, command)
        assert proc.returncode == 2, f"{command}: {proc.stdout}{proc.stderr}"
        missing = [word for word in case.must_name if word not in proc.stderr]
        assert not missing, f"{command} lacks {missing}: {proc.stderr}"
    assert repo.git("tag").stdout == before


def test_forged_decision_of_an_older_commit_is_refused(
    verified_reject: PipelineRepo, tmp_path: Path
) -> None:
    """`promote --rev` recomputes in a temporary worktree built from the DVC cache."""
    repo = verified_reject.clone(tmp_path / "repo")
    forged = next(c for c in FORGED if c.name == "forged_promote_lock_resealed")
    forged.mutate(repo.path)
    target = repo.commit(forged.name)
    (repo.path / "NOTES.md").write_text("a later commit\n")
    repo.commit("notes")
    proc = mlgate(repo, "promote", "--rev", target[:10])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "stored 'promote', recomputed 'reject'" in proc.stderr
    assert repo.git("tag").stdout == ""
    assert repo.git("worktree", "list").stdout.count("\n") == 1  # the temporary one is gone
