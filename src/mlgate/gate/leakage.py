"""Did the champion train on rows of the candidate's holdout? If so, the comparison is void.

The paired test scores the champion on the candidate's holdout. A champion that saw some of
those rows in training scores them better than it would score new customers, so the test would
measure memory, not skill. It can happen when ``split.salt``, ``split.holdout_fraction`` or the
id column changed since the champion was trained: the split is a hash of the id, so a new
definition sends other customers to the holdout.

Cheap path: the split stage's definition as both dvc.lock files record it (its params except
the target, and the md5 of its code) is the same for champion and candidate. The assignment is
then a function of the id alone, identical on both sides, and no champion training row can be
in this holdout, whatever rows were added since. Otherwise the champion's training ids are read
from its ``data/train.parquet`` (DVC cache) and intersected with the holdout's. A superset of
what it trained on (``train.max_train_rows`` may subsample), so the count errs on the safe side.
Anything that cannot be read fails the check with the reason.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mlgate.champion import RevisionReader
from mlgate.errors import MlgateError
from mlgate.gate.checks import Check
from mlgate.repo.lock import parse_lock

NAME = "holdout_leakage"
TRAIN = "data/train.parquet"
SPLIT_CODE = ("src/mlgate/data/split.py", "stages/split.py")


def split_definition(lock: Any) -> dict[str, Any] | None:
    """What decides which ids go to the holdout, from a parsed dvc.lock (None: not recorded)."""
    try:
        entry = lock["stages"]["split"]
        params = dict(entry["params"]["params.yaml"])
        code = {d["path"]: d.get("md5") for d in entry["deps"] if d.get("path") in SPLIT_CODE}
    except (KeyError, TypeError, AttributeError):
        return None
    params.pop("data.target", None)  # which column is the label moves no row between splits
    return {"params": params, "code": code}


def _changes(champion: dict[str, Any], candidate: dict[str, Any]) -> str:
    params = sorted(
        key
        for key in {*champion["params"], *candidate["params"]}
        if champion["params"].get(key) != candidate["params"].get(key)
    )
    code = sorted(
        path for path in SPLIT_CODE if champion["code"].get(path) != candidate["code"].get(path)
    )
    return ", ".join([*(f"params {k}" for k in params), *(f"code {p}" for p in code)])


def _champion_ids(reader: RevisionReader, id_column: str) -> np.ndarray:
    raw = reader.read_bytes(TRAIN)
    try:
        return pd.read_parquet(io.BytesIO(raw), columns=[id_column])[id_column].to_numpy()
    except Exception as exc:  # corrupt bytes or another layout: no evidence either way
        message = f"champion's {TRAIN} has no readable column '{id_column}': {exc}"
        raise MlgateError(message) from exc


def overlap_count(holdout_ids: np.ndarray, train_ids: np.ndarray) -> int:
    """Holdout rows whose id is among ``train_ids`` (ids of different kinds compared as text)."""
    holdout, train = pd.Index(holdout_ids), pd.Index(train_ids)
    if holdout.dtype.kind != train.dtype.kind:  # 42 and "42" name the same customer
        holdout, train = holdout.astype(str), train.astype(str)
    return int(holdout.isin(train).sum())


def leakage_check(
    reader: RevisionReader,
    current_lock: Any,
    holdout_ids: Callable[[], np.ndarray],
    id_column: str,
) -> Check:
    """The ``holdout_leakage`` check: passes only when no champion training row is in the
    holdout, proven by the split definition or by the ids. ``current_lock``: the workspace's
    parsed dvc.lock (None if unreadable: then only the ids can prove it). ``holdout_ids``
    reads the holdout's ids; it is called only when the definitions differ, so the usual
    case reads no id (under the Spark engine a holdout may hold 1e8 of them)."""
    who = f"champion {reader.champion.ref} ({reader.champion.commit[:10]})"
    ours = split_definition(current_lock)
    try:
        theirs = split_definition(parse_lock(reader.read_bytes("dvc.lock")))
    except (yaml.YAMLError, MlgateError):
        theirs = None  # then only the ids can tell
    if ours is not None and ours == theirs:
        return Check(
            NAME,
            True,
            f"the split definition (params {', '.join(sorted(ours['params']))}; split code) "
            f"is the {who}'s: a hash-of-id split cannot put its training rows in this holdout",
            0,
            0,
        )
    if ours is None or theirs is None:
        changed = "not recorded in both dvc.lock files"
    else:
        changed = _changes(theirs, ours)
    their_column = (theirs or {}).get("params", {}).get("data.id_column", id_column)
    ids = _both_ids(reader, holdout_ids, str(their_column))
    if isinstance(ids, str):
        return Check(
            NAME,
            False,
            f"split definition changed since the {who} ({changed}) and {ids}",
        )
    ours_ids, their_ids = ids
    overlap = overlap_count(ours_ids, their_ids)
    n = len(ours_ids)
    if overlap:
        reason = (
            f"the {who} trained on {overlap} of the {n} holdout rows (ids in its {TRAIN}; "
            f"split definition changed: {changed}): the paired comparison would be biased"
        )
    else:
        reason = (
            f"none of the {n} holdout rows is in the {who}'s {TRAIN} "
            f"(split definition changed: {changed})"
        )
    return Check(NAME, overlap == 0, reason, overlap, 0)


def _both_ids(
    reader: RevisionReader, holdout_ids: Callable[[], np.ndarray], their_column: str
) -> tuple[np.ndarray, np.ndarray] | str:
    """(the holdout's ids, the champion's training ids), or which cannot be read and why."""
    try:
        ours = holdout_ids()
    except Exception as exc:  # unreadable holdout: no evidence either way
        return f"the holdout's ids cannot be read to rule out overlap: {exc}"
    try:
        return ours, _champion_ids(reader, their_column)
    except MlgateError as exc:
        return f"its training ids cannot be read to rule out overlap: {exc}"
