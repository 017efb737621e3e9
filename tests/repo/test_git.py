"""The one git runner: commits by name, blobs at a commit, dirty files, clear errors."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlgate.errors import RegistryError
from mlgate.repo import git

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, env=ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "--quiet", "--initial-branch=main")
    (tmp_path / "a.txt").write_text("one\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.txt").write_text("two\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "--quiet", "-m", "first")
    return tmp_path


def test_rev_parse_and_resolve_commit(repo: Path) -> None:
    head = _git(repo, "rev-parse", "HEAD")
    assert git.rev_parse(repo, "HEAD") == head == git.resolve_commit(repo, "main")
    assert git.rev_parse(repo, "no-such-ref") is None
    with pytest.raises(RegistryError, match="'no-such-ref' is not a commit"):
        git.resolve_commit(repo, "no-such-ref")


def test_resolve_commit_outside_a_repository_says_so(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="git rev-parse --git-dir failed"):
        git.resolve_commit(tmp_path, "HEAD")


def test_committed_files_reads_blobs_and_says_none_for_missing_or_directories(
    repo: Path,
) -> None:
    (repo / "a.txt").write_text("changed in the work tree\n")
    files = git.committed_files(repo, "HEAD", ["a.txt", "d/b.txt", "d", "nope"])
    assert files == {"a.txt": b"one\n", "d/b.txt": b"two\n", "d": None, "nope": None}
    assert git.read_blobs(repo, []) == {}


def test_dirty_lists_changed_tracked_paths_only(repo: Path) -> None:
    assert git.dirty(repo, ["a.txt", "d"]) == []
    (repo / "a.txt").write_text("edited\n")
    (repo / "untracked.txt").write_text("new\n")
    assert git.dirty(repo, ["a.txt", "untracked.txt", "d"]) == ["a.txt"]


def test_output_names_the_failing_command(repo: Path) -> None:
    with pytest.raises(RegistryError, match="git cat-file -p failed"):
        git.output(repo, "cat-file", "-p", "no-such-object")
