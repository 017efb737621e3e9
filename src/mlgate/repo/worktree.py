"""A commit's tree, materialised for reading: a temporary ``git worktree`` at that commit, with
the DVC outputs an evidence chain needs linked from the local DVC cache (by the md5 the
commit's ``dvc.lock`` names), so nothing in the user's work tree is touched."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mlgate.errors import ArtifactError, MlgateError
from mlgate.repo import git
from mlgate.repo.lock import LOCK_FILE, entries, read_stages, upstream_chain


@contextlib.contextmanager
def materialised(root: Path, commit: str, last_stage: str) -> Iterator[Path | str]:
    """A ``git worktree`` at ``commit`` with the DVC files of ``last_stage``'s evidence chain
    linked from the local cache, or a string saying what is missing. Removed on exit."""
    parent = Path(tempfile.mkdtemp(prefix="mlgate-rev-"))
    tree = parent / "tree"
    added = git.run(root, "worktree", "add", "--detach", "--quiet", str(tree), commit)
    try:
        if added.returncode != 0:
            yield f"git worktree add failed: {added.stderr.decode(errors='replace').strip()}"
            return
        missing = _link_from_cache(root, tree, last_stage)
        yield f"not in the local DVC cache: {', '.join(missing)}" if missing else tree
    finally:
        git.run(root, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(parent, ignore_errors=True)
        git.run(root, "worktree", "prune")


def _link_from_cache(root: Path, tree: Path, last_stage: str) -> list[str]:
    """Put every DVC-cached file of the evidence chain into ``tree``; what is missing."""
    try:
        stages = read_stages(tree / LOCK_FILE)
        chain = upstream_chain(stages, last_stage)
    except MlgateError:
        return []  # the verification reports the lock's problem
    cache = _cache_dir(root)
    _share_cache(root, tree, cache)
    missing = []
    for name in chain:
        for item in entries(stages[name], "deps", "outs"):
            rel, md5 = str(item["path"]), str(item.get("md5", ""))
            target = tree / rel
            if not md5 or md5.endswith(".dir") or target.exists():
                continue  # git-tracked (or a directory: code under src/, in git)
            source = cache / md5[:2] / md5[2:]
            if not source.is_file():
                missing.append(rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)  # read only by the gate; its own output is replaced
            except OSError:
                shutil.copyfile(source, target)
    return missing


def _cache_dir(root: Path) -> Path:
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            return Path(repo.cache.local.path)
    except Exception as exc:  # dvc raises many types for a broken repo or config
        raise ArtifactError(f"the DVC cache of {root} cannot be located: {exc}") from exc


def _share_cache(root: Path, tree: Path, cache: Path) -> None:
    """The worktree's DVC reads the champion through the same cache (no remote needed)."""
    config = tree / ".dvc" / "config.local"
    if not config.parent.is_dir():
        return
    from configobj import ConfigObj

    local = root / ".dvc" / "config.local"
    conf = ConfigObj(str(local)) if local.is_file() else ConfigObj()  # keeps remote credentials
    conf.filename = str(config)
    # DVC's layout: <cache dir>/files/md5/<2>/<30>; cache.dir names the top directory.
    top = cache.parent.parent if cache.parent.name == "files" else cache
    conf.setdefault("cache", {})["dir"] = str(top)
    conf.write()
