"""The one git runner: every git command mlgate runs goes through :func:`run`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from mlgate.errors import RegistryError


def run(root: str | Path, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess:
    """``git args`` in ``root``, whatever its exit code (callers that tolerate failure)."""
    try:
        return subprocess.run(
            ["git", *args], cwd=root, input=data, capture_output=True, check=False
        )
    except FileNotFoundError as exc:
        raise RegistryError("git is not installed or not on PATH") from exc


def output(root: str | Path, *args: str, data: bytes | None = None) -> bytes:
    """stdout of ``git args`` in ``root``; RegistryError naming the command if it fails."""
    proc = run(root, *args, data=data)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()
        raise RegistryError(f"git {' '.join(args[:2])} failed in {root}: {message}")
    return proc.stdout


def text(root: str | Path, *args: str, data: bytes | None = None) -> str:
    """:func:`output` decoded."""
    return output(root, *args, data=data).decode()


def rev_parse(root: str | Path, ref: str) -> str | None:
    """Full hexsha of the commit ``ref`` names, or None if it names none."""
    proc = run(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return proc.stdout.decode().strip() or None


def resolve_commit(root: str | Path, rev: str) -> str:
    """Full hexsha of ``rev``; RegistryError naming the rev if it is not a commit."""
    commit = rev_parse(root, rev)
    if commit is None:
        output(root, "rev-parse", "--git-dir")  # a clearer error outside a repository
        raise RegistryError(f"'{rev}' is not a commit in {root}")
    return commit


def read_blobs(root: str | Path, specs: Iterable[str]) -> dict[str, bytes | None]:
    """Contents of ``<rev>:<path>`` specs in one ``git cat-file --batch`` (None: no such
    file, or a directory)."""
    paths = list(dict.fromkeys(specs))
    if not paths:
        return {}
    request = "".join(f"{p}\n" for p in paths).encode()
    out = output(root, "cat-file", "--batch", data=request)
    result: dict[str, bytes | None] = {}
    pos = 0
    for path in paths:
        end = out.index(b"\n", pos)
        line = out[pos:end]
        pos = end + 1
        if line.endswith((b" missing", b" ambiguous")):
            result[path] = None
            continue
        _, kind, size = line.rsplit(b" ", 2)  # "<sha> <type> <size>", then the body
        body = out[pos : pos + int(size)]
        pos += int(size) + 1
        result[path] = body if kind == b"blob" else None  # a tree is a directory dep
    return result


def committed_files(
    root: str | Path, commit: str, paths: Iterable[str]
) -> dict[str, bytes | None]:
    """Contents of ``paths`` as committed at ``commit`` (None: not in git at that commit)."""
    paths = list(dict.fromkeys(paths))
    blobs = read_blobs(root, [f"{commit}:{p}" for p in paths])
    return {path: blobs[f"{commit}:{path}"] for path in paths}


def tag_refs(root: str | Path, *patterns: str) -> str:
    """``<refname> <object>`` of the tags matching ``patterns``, one per line."""
    return text(root, "for-each-ref", "--format=%(refname) %(objectname)", *patterns)


def commit_date(root: str | Path, commit: str) -> str | None:
    """The committer date of ``commit`` (ISO 8601), or None if git cannot tell."""
    try:
        return text(root, "show", "-s", "--format=%cI", commit).strip()
    except RegistryError:
        return None


def dirty(root: str | Path, paths: Iterable[str]) -> list[str]:
    """Tracked ``paths`` with uncommitted changes (untracked files ignored)."""
    args = ("status", "--porcelain", "--untracked-files=no", "--", *dict.fromkeys(paths))
    return [line[3:] for line in text(root, *args).splitlines()]
