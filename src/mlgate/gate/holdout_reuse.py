"""How many decisions were already taken on this holdout? Each one is another draw.

A holdout that judged ten candidates has given ten chances of a lucky promotion: false
promotions compound with reuse. This module counts the earlier decisions so the gate can record
them (and a rule can spend its error budget across them).

What counts: the distinct candidate models (md5 of ``models/model.joblib`` among the gate
stage's deps) that a gate stage judged on a holdout with this md5 (``data/holdout.parquet``
among the same deps), in the ``dvc.lock`` of the commits reachable from HEAD, the branches, the
tags and the ``dvc exp`` results (``refs/exps/``). The candidate being judged now is left out,
so rerunning the same model (e.g. a forced ``dvc repro``) is not a new draw. Identical lock
files are read once. The walk takes the ``MAX_COMMITS`` most recent commits (git's date order)
and says when it stopped there; the answer depends only on the refs, so a rerun with no new
commit gives the same count.

Known limit: a ``dvc exp run --temp`` or queued run executes in a copy of the repository that
may not carry the other experiments' refs; it counts what that copy holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlgate.errors import MlgateError
from mlgate.repo import git
from mlgate.repo.lock import LOCK_FILE, entry_md5, section

MAX_COMMITS = 500
HOLDOUT = "data/holdout.parquet"
MODEL = "models/model.joblib"


def judged_model(lock_text: bytes, holdout_md5: str) -> str | None:
    """The model (its md5) a lock's gate stage judged on the holdout ``holdout_md5``, if any."""
    if holdout_md5.encode() not in lock_text:  # most locks of another holdout stop here
        return None
    try:
        gate = section(lock_text, "gate")
    except yaml.YAMLError:
        return None  # not a lock DVC wrote: no decision to count
    deps = gate.get("deps") if isinstance(gate, dict) else None
    if entry_md5(deps, HOLDOUT) != holdout_md5:
        return None
    return entry_md5(deps, MODEL) or "unknown model"


def _commits(root: str | Path, limit: int) -> list[str]:
    # Experiment results live in refs/exps/<2 hex>/<38 hex>/<name>; DVC's own refs beside them
    # (exec/*, stash, celery/*) hold the state a running experiment started from and vanish
    # after it, so counting them would make the count depend on when it was taken.
    revs = ["--branches", "--tags", "--glob=refs/exps/??/*"]
    if git.rev_parse(root, "HEAD") is not None:  # a repository with no commit has no HEAD
        revs.append("HEAD")
    return git.text(root, "rev-list", f"--max-count={limit}", *revs).split()


def current_keys(lock: Any) -> tuple[str | None, str | None]:
    """(holdout md5 written by split, model md5 written by train) from a parsed dvc.lock."""
    stages = (lock or {}).get("stages") if isinstance(lock, dict) else None
    split = (stages or {}).get("split") or {}
    train = (stages or {}).get("train") or {}
    return entry_md5(split.get("outs"), HOLDOUT), entry_md5(train.get("outs"), MODEL)


def earlier_decisions(
    root: str | Path,
    *,
    holdout_md5: str,
    model_md5: str | None,
    max_commits: int = MAX_COMMITS,
) -> tuple[int, dict[str, Any]]:
    """(count, how it was counted) for the gate's ``holdout_reuse`` record; raises
    MlgateError when git cannot be read."""
    shas = _commits(root, max_commits + 1)
    capped = len(shas) > max_commits
    shas = shas[:max_commits]
    blobs = git.read_blobs(root, [f"{sha}:{LOCK_FILE}" for sha in shas])
    judged: dict[bytes, str | None] = {}  # lock content -> model; identical locks read once
    models: set[str] = set()
    commits = 0
    for sha in shas:
        text = blobs[f"{sha}:{LOCK_FILE}"]
        if text is None:
            continue
        if text not in judged:
            judged[text] = judged_model(text, holdout_md5)
        if judged[text] is not None:
            commits += 1
            models.add(judged[text])  # type: ignore[arg-type]
    models.discard(model_md5 or "")
    return len(models), {
        "counted": "distinct candidate models judged by a gate on this holdout (same md5) in "
        "commits and dvc exp refs, this candidate excluded",
        "commits_on_this_holdout": commits,
        "commits_scanned": len(shas),
        "scan_limit": max_commits,
        "capped": capped,
    }


def reuse_record(root: str | Path, lock: Any) -> tuple[int, dict[str, Any]]:
    """``earlier_decisions`` for the current dvc.lock; an unreadable history is recorded as
    such (count 0, ``error``), never raised."""
    holdout_md5, model_md5 = current_keys(lock)
    if holdout_md5 is None:
        return 0, {"error": f"{LOCK_FILE} records no {HOLDOUT} written by split"}
    try:
        return earlier_decisions(root, holdout_md5=holdout_md5, model_md5=model_md5)
    except MlgateError as exc:
        return 0, {"error": f"the git history cannot be read: {exc}"}
