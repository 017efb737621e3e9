"""Counting earlier decisions on the same holdout from the git history (no DVC needed)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from mlgate.gate.holdout_reuse import (
    current_keys,
    earlier_decisions,
    judged_model,
    reuse_record,
)
from mlgate.repo.lock import parse_lock, section
from tests.e2e.conftest import REPO_ROOT

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, env=ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def _lock(holdout: str, model: str, padding: int = 0) -> dict:
    """A dvc.lock shaped like DVC's: split, train, gate (and ``padding`` other stages)."""
    stages = {
        "split": {
            "cmd": "python stages/split.py",
            "outs": [{"path": "data/holdout.parquet", "md5": holdout}],
        },
        "train": {
            "cmd": "python stages/train.py",
            "outs": [{"path": "models/model.joblib", "md5": model}],
        },
        "gate": {
            "cmd": "python stages/gate.py",
            "deps": [
                {"path": "data/holdout.parquet", "hash": "md5", "md5": holdout, "size": 1},
                {"path": "models/model.joblib", "hash": "md5", "md5": model, "size": 1},
            ],
        },
    }
    for i in range(padding):
        stages[f"extra{i}"] = {"cmd": "true", "deps": [{"path": f"f{i}", "md5": f"{i:032x}"}]}
    return {"schema": "2.0", "stages": stages}


def _commit_lock(root: Path, lock: dict, message: str) -> str:
    (root / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False), encoding="utf-8")
    _git(root, "add", "dvc.lock")
    _git(root, "commit", "--quiet", "--allow-empty", "-m", message)
    return _git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "--quiet", "--initial-branch=main")
    return tmp_path


def test_counts_distinct_models_on_this_holdout_only(repo):
    _commit_lock(repo, _lock("H", "m1"), "m1 on H")
    _commit_lock(repo, _lock("H", "m2"), "m2 on H")
    _commit_lock(repo, _lock("OTHER", "m3"), "m3 on another holdout")
    _commit_lock(repo, _lock("H", "m2"), "m2 again: the same draw")
    (repo / "README").write_text("x")
    _git(repo, "add", "README")
    _git(repo, "commit", "--quiet", "-m", "no lock change")
    count, how = earlier_decisions(repo, holdout_md5="H", model_md5="m9")
    assert count == 2
    assert how["commits_on_this_holdout"] == 4 and how["commits_scanned"] == 5
    assert how["capped"] is False
    # the candidate judged now is not an earlier decision
    assert earlier_decisions(repo, holdout_md5="H", model_md5="m2")[0] == 1
    assert earlier_decisions(repo, holdout_md5="OTHER", model_md5="m9")[0] == 1
    assert earlier_decisions(repo, holdout_md5="NEW", model_md5="m9")[0] == 0


def test_experiment_refs_and_side_branches_count(repo):
    base = _commit_lock(repo, _lock("H", "m1"), "base")
    exp = _commit_lock(repo, _lock("H", "exp-model"), "an experiment")
    _git(repo, "update-ref", "refs/exps/ab/cdef0123/exp-name", exp)
    _git(repo, "reset", "--quiet", "--hard", base)  # the experiment is on no branch
    # DVC's transient refs while an experiment runs: its starting state, not a result
    transient = _commit_lock(repo, _lock("H", "workspace-state"), "exp stash")
    for ref in ("refs/exps/stash", "refs/exps/exec/EXEC_MERGE", "refs/exps/celery/x"):
        _git(repo, "update-ref", ref, transient)
    _git(repo, "reset", "--quiet", "--hard", base)
    _git(repo, "checkout", "--quiet", "-b", "side")
    _commit_lock(repo, _lock("H", "side-model"), "side")
    _git(repo, "checkout", "--quiet", "main")
    count, _ = earlier_decisions(repo, holdout_md5="H", model_md5=None)
    assert count == 3


def test_walk_is_capped_and_says_so(repo):
    for i in range(6):
        _commit_lock(repo, _lock("H", f"m{i}"), f"m{i}")
    count, how = earlier_decisions(repo, holdout_md5="H", model_md5=None, max_commits=4)
    assert (count, how["capped"], how["commits_scanned"], how["scan_limit"]) == (4, True, 4, 4)
    count, how = earlier_decisions(repo, holdout_md5="H", model_md5=None, max_commits=6)
    assert (count, how["capped"]) == (6, False)


def test_rerun_without_new_commits_gives_the_same_record(repo):
    for i in range(3):
        _commit_lock(repo, _lock("H", f"m{i}"), f"m{i}")
    lock = _lock("H", "m-now")
    assert reuse_record(repo, lock) == reuse_record(repo, lock)
    assert reuse_record(repo, lock)[0] == 3


def test_no_commit_yet_and_no_git_are_recorded_not_raised(repo, tmp_path_factory):
    assert reuse_record(repo, _lock("H", "m"))[0] == 0  # git init, nothing committed
    elsewhere = tmp_path_factory.mktemp("not-a-repo")
    count, how = reuse_record(elsewhere, _lock("H", "m"))
    assert count == 0 and "git" in how["error"]
    assert "error" in reuse_record(repo, {"stages": {}})[1]


def test_fast_section_parse_equals_the_full_parse_on_the_project_lock():
    text = (REPO_ROOT / "dvc.lock").read_bytes()
    assert section(text, "gate") == parse_lock(text)["stages"]["gate"]
    holdout, model = current_keys(parse_lock(text))
    assert holdout is not None and judged_model(text, holdout) is not None


def test_judged_model_needs_the_gate_to_have_read_this_holdout():
    text = yaml.safe_dump(_lock("H", "m1")).encode()
    assert judged_model(text, "H") == "m1"
    stale = _lock("H", "m1")
    stale["stages"]["gate"]["deps"][0]["md5"] = "OLD"  # the gate last ran on another holdout
    assert judged_model(yaml.safe_dump(stale).encode(), "H") is None
    assert judged_model(b"stages: [broken", "H") is None


def test_hundreds_of_commits_are_walked_quickly(repo):
    """500 commits, each a different 150-stage lock: the whole count well under a second on
    an idle machine (bound loose for a shared one)."""
    template = yaml.safe_dump(_lock("HOLDOUT-MD5", "MODEL-MD5", padding=150), sort_keys=False)
    paths = [
        template.replace("HOLDOUT-MD5", "H" if i % 2 else "OTHER").replace("MODEL-MD5", f"m{i}")
        for i in range(500)
    ]
    # fast-import: 500 commits without 1,500 git processes (each commit follows the last)
    stream = []
    for i, text in enumerate(paths):
        data = text.encode()
        stream.append(
            f"commit refs/heads/main\ncommitter t <t@example.invalid> {1_700_000_000 + i} +0000\n"
            f"data 2\nc\nM 644 inline dvc.lock\ndata {len(data)}\n"
        )
        stream.append(text + "\n")
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=repo,
        env=ENV,
        check=True,
        input="".join(stream).encode(),
    )
    start = time.perf_counter()
    count, how = earlier_decisions(repo, holdout_md5="H", model_md5=None)
    elapsed = time.perf_counter() - start
    assert count == 250 and how["commits_scanned"] == 500 and not how["capped"]
    assert elapsed < 5.0, f"{elapsed:.2f} s"
