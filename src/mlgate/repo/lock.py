"""The one dvc.lock parser, and the queries mlgate asks of a lock.

DVC records an md5 of every dependency and output of a stage in dvc.lock. A file edited or
replaced after ``dvc repro`` no longer matches, and a decision built on it would be built on
evidence nobody reproduced. Directories (``.dir`` entries) are checked by DVC's own status,
not here; files are checked by content.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from mlgate.errors import ArtifactError
from mlgate.repo import git

LOCK_FILE = "dvc.lock"
# DVC writes stage names at two spaces of indent under `stages:`.
_NEXT_STAGE = re.compile(r"^  \S", re.MULTILINE)


def file_md5(path: str | Path) -> str:
    """The md5 DVC records for a file: of its bytes, streamed."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_lock(text: str | bytes) -> Any:
    """A dvc.lock's YAML, parsed with libyaml's loader when PyYAML has it: the same data as
    ``yaml.safe_load``, ~8x faster (a 150-entry lock: 40 -> 5 ms). Raises yaml.YAMLError."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader either way


def read_lock_file(path: str | Path) -> Any:
    """The lock at ``path`` parsed; None if it cannot be read (callers say why elsewhere)."""
    try:
        return parse_lock(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _load(path: str | Path) -> Any:
    try:
        return parse_lock(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ArtifactError(f"{path} cannot be read: {exc}") from exc


def read_stages(path: str | Path) -> dict[str, Any]:
    """The ``stages`` mapping of the lock at ``path``; ArtifactError saying why if unusable."""
    lock = _load(path)
    stages = lock.get("stages") if isinstance(lock, dict) else None
    if not isinstance(stages, dict):
        raise ArtifactError(f"{path} is not a DVC lock file: no 'stages' mapping")
    return stages


def section(lock_text: bytes, stage: str) -> Any:
    """One stage's entry of a dvc.lock. Parsing that section alone is ~20x cheaper than the
    whole lock; a lock not laid out the way DVC writes it is parsed whole."""
    text = lock_text.decode("utf-8", errors="replace")
    head = f"\n  {stage}:\n"
    start = text.find(head)
    if start >= 0:
        following = _NEXT_STAGE.search(text, start + len(head))
        part = text[start + 1 : following.start() if following else len(text)]
        return (parse_lock(part) or {}).get(stage)
    return ((parse_lock(text) or {}).get("stages") or {}).get(stage)


def entry_md5(entries: Any, path: str) -> str | None:
    """md5 of ``path`` among a stage's ``deps`` or ``outs`` list (None: absent or ambiguous)."""
    if not isinstance(entries, list):
        return None
    found = [e.get("md5") for e in entries if isinstance(e, dict) and e.get("path") == path]
    return found[0] if len(found) == 1 and isinstance(found[0], str) else None


def locked_md5(lock: Any, stage: str, kind: str, path: str) -> str | None:
    """md5 of ``path`` among the ``kind`` ("deps"/"outs") of ``stage`` in a parsed dvc.lock."""
    try:
        entries = lock["stages"][stage][kind]
    except (KeyError, TypeError, AttributeError):
        return None
    return entry_md5(entries, path)


def entries(entry: Any, *kinds: str) -> list[dict[str, Any]]:
    """The ``kinds`` ("deps", "outs") items of one stage entry; ArtifactError if malformed."""
    items = [i for kind in kinds for i in ((entry or {}).get(kind) or [])]
    if not all(isinstance(i, dict) and "path" in i for i in items):
        raise ArtifactError(f"{LOCK_FILE}: an entry lacks 'path'")
    return items


def upstream_chain(stages: Mapping[str, Any], last: str) -> list[str]:
    """``last`` and every stage whose outputs it depends on, transitively."""
    producer = {str(o["path"]): name for name, e in stages.items() for o in entries(e, "outs")}
    if last not in stages:
        raise ArtifactError(f"{LOCK_FILE} has no '{last}' stage: run `dvc repro`")
    chain, todo = [], [last]
    while todo:
        name = todo.pop()
        if name in chain or name not in stages:
            continue  # a dep produced in another dvc.yaml (champion/) is checked as a file
        chain.append(name)
        todo += [
            producer[str(d["path"])]
            for d in entries(stages[name], "deps")
            if str(d["path"]) in producer
        ]
    return chain


def _stage_files(lock_path: Path, entry: Any, stage: str) -> list[tuple[str, str]]:
    try:
        items = [*(entry.get("deps") or []), *(entry.get("outs") or [])]
        return [(str(item["path"]), str(item.get("md5", ""))) for item in items]
    except (AttributeError, KeyError, TypeError) as exc:  # hand-edited or foreign lock
        raise ArtifactError(f"{lock_path}: entry of stage '{stage}' is malformed") from exc


def stale_paths(lock_path: str | Path, stages: Iterable[str], root: str | Path = ".") -> list[str]:
    """Paths of ``stages`` whose content differs from dvc.lock (or that are not locked at all)."""
    lock_path, root = Path(lock_path), Path(root)
    lock = _load(lock_path) or {}
    # An empty lock, or one without stages, locks nothing: every stage asked for is stale.
    locked = (lock.get("stages") or {}) if isinstance(lock, dict) else None
    if not isinstance(locked, dict):
        raise ArtifactError(f"{lock_path} is not a DVC lock file: no 'stages' mapping")
    stale: list[str] = []
    hashed: dict[Path, str] = {}  # a file shared by stages (the holdout: 4 of them) is read once
    for stage in stages:
        entry = locked.get(stage)
        if entry is None:
            stale.append(f"{stage} (stage not in {lock_path})")
            continue
        for rel, md5 in _stage_files(lock_path, entry, stage):
            if md5.endswith(".dir"):
                continue
            path = root / rel
            if not path.is_file():
                stale.append(f"{rel} (missing)")
                continue
            if path not in hashed:
                hashed[path] = file_md5(path)
            if hashed[path] != md5:
                stale.append(rel)
    return sorted(set(stale))


def dvc_yaml(data: bytes) -> Any:
    """Parse YAML the way DVC does (ruamel, YAML 1.2), so params compare equal to dvc.lock.

    PyYAML follows YAML 1.1: it reads ``1e-09`` as a string and ``Yes`` as a boolean, where
    DVC wrote and reads a float and a string; comparing the two parsers' output would report
    unchanged params as changed. Raises ValueError for text that is not YAML.
    """
    from ruamel.yaml import YAML

    try:
        return YAML(typ="safe", pure=True).load(data.decode("utf-8"))
    except Exception as exc:  # ruamel raises several types for broken YAML
        raise ValueError(f"not valid YAML: {exc}") from exc


_ABSENT = object()


def dotted(tree: Any, key: str) -> Any:
    """The value at dotted ``key`` (``gate.min_auc``) of a parsed params file, or a sentinel
    that equals nothing a lock records."""
    node = tree
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def stale_params(lock_path: Path, chain: list[str], root: Path) -> list[str]:
    """``file:key`` for every param of ``chain`` whose value in ``root`` differs from the lock.

    Both sides are read as DVC reads them (YAML 1.2): libyaml's YAML 1.1 would read the
    lock's ``1e-09`` as a string and report an unchanged float param as changed.
    """
    try:
        stages = (dvc_yaml(lock_path.read_bytes()) or {}).get("stages") or {}
    except (OSError, ValueError, AttributeError) as exc:
        return [f"{lock_path.name} ({exc})"]
    stale = []
    trees: dict[str, Any] = {}
    for name in chain:
        for file, values in ((stages.get(name) or {}).get("params") or {}).items():
            if file not in trees:
                try:
                    trees[file] = dvc_yaml((root / file).read_bytes()) or {}
                except (OSError, ValueError) as exc:
                    stale.append(f"{file} ({exc})")
                    trees[file] = None
            if trees[file] is not None:
                tree = trees[file]
                stale += [f"{file}:{k}" for k, v in (values or {}).items() if dotted(tree, k) != v]
    return sorted(set(stale))


def _committed_expectations(lock: Any) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """(path -> md5 of every file, params file -> {key: value}) recorded in a parsed lock."""
    expected: dict[str, str] = {}
    params: dict[str, dict[str, Any]] = {}
    for entry in (lock.get("stages") or {}).values():
        for item in [*(entry.get("deps") or []), *(entry.get("outs") or [])]:
            md5 = str(item.get("md5", ""))
            if md5 and not md5.endswith(".dir"):
                expected[str(item["path"])] = md5
        for name, values in (entry.get("params") or {}).items():
            params.setdefault(str(name), {}).update(values or {})
    return expected, params


def stale_committed(root: str | Path, commit: str) -> list[str]:
    """Files and params committed at ``commit`` that differ from that commit's dvc.lock."""
    files = git.committed_files(root, commit, [LOCK_FILE])
    if files[LOCK_FILE] is None:
        return [f"{LOCK_FILE} is not committed at {commit[:10]} (run `dvc repro` and commit)"]
    try:
        lock = dvc_yaml(files[LOCK_FILE] or b"") or {}
    except Exception as exc:  # ruamel raises several types for broken YAML
        return [f"{LOCK_FILE} at {commit[:10]} is not valid YAML: {exc}"]
    expected, params = _committed_expectations(lock)
    contents = git.committed_files(root, commit, [*expected, *params])
    stale = [
        path
        for path, md5 in expected.items()
        if contents.get(path) is not None
        and hashlib.md5(contents[path] or b"", usedforsecurity=False).hexdigest() != md5
    ]
    for name, values in params.items():
        try:
            tree = dvc_yaml(contents.get(name) or b"") or {}
        except Exception:  # ruamel raises several types for broken YAML
            stale.append(f"{name} (not valid YAML)")
            continue
        stale += [f"{name}:{key}" for key, value in values.items() if dotted(tree, key) != value]
    return sorted(set(stale))
