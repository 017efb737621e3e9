"""Gather every piece of evidence the gate judges: :func:`read_evidence`.

Fail closed: a file that is missing, unreadable or malformed arrives as a :class:`Missing`
naming it, never as an exception, so the decision lists it as a failed check.
"""

from __future__ import annotations

from collections.abc import Container
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from mlgate.data.sample import parquet_files
from mlgate.errors import MlgateError
from mlgate.gate.champion_evidence import champion_evidence, read_object
from mlgate.gate.checks import Check, Missing
from mlgate.gate.compare import ChampionEvidence, nonfinite
from mlgate.gate.holdout_reuse import reuse_record
from mlgate.gate.paths import GatePaths
from mlgate.params import Params
from mlgate.repo.lock import read_lock_file, stale_paths

# The stages whose outputs the decision rests on: any of them edited after `dvc repro` fails it.
UPSTREAM = ("validate", "split", "train", "evaluate", "behavioral", "serving")


@dataclass(frozen=True)
class Evidence:
    """Everything :func:`mlgate.gate.decision.decide` judges (its keyword arguments)."""

    validation: dict[str, Any] | Missing
    holdout: dict[str, Any] | Missing
    slices: dict[str, Any] | Missing
    behavioral: dict[str, Any] | Missing
    serving: dict[str, Any] | Missing
    stale: list[str] | Missing
    champion: ChampionEvidence | Missing | None
    leakage: Check | None
    earlier_decisions: int
    holdout_reuse: dict[str, Any]

    def kwargs(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _holdout_rows(paths: GatePaths, params: Params) -> tuple[pd.DataFrame, np.ndarray] | Missing:
    """The rows and labels both models are scored on (local engine), or why they cannot be."""
    try:
        holdout = pd.read_parquet(paths.holdout)
    except Exception as exc:  # missing or corrupt parquet: evidence unavailable
        return Missing(f"{paths.holdout} cannot be read: {exc}")
    lacking = _lacking(holdout.columns, paths, params)
    if lacking is not None:
        return lacking
    return holdout, holdout[params.data.target].to_numpy()


def _spark_holdout(paths: GatePaths, params: Params) -> Missing | None:
    """Why the holdout (a file or a Parquet dataset) cannot be scored on Spark, if it cannot:
    Spark reads the rows itself, so the driver reads only the footer here."""
    try:
        names = pq.read_schema(parquet_files(paths.holdout)[0]).names
    except Exception as exc:  # missing or corrupt parquet: evidence unavailable
        return Missing(f"{paths.holdout} cannot be read: {exc}")
    return _lacking(names, paths, params)


def _lacking(names: Container[str], paths: GatePaths, params: Params) -> Missing | None:
    """Why a holdout with columns ``names`` cannot be scored: it lacks the target or the id."""
    lacking = [c for c in (params.data.target, params.data.id_column) if c not in names]
    if lacking:
        return Missing(f"{paths.holdout} lacks column(s) {lacking} (data.target, data.id_column)")
    return None


def _candidate_scores(
    paths: GatePaths, params: Params, holdout: pd.DataFrame
) -> np.ndarray | Missing:
    where = paths.predictions
    try:
        preds = pd.read_parquet(where)
    except Exception as exc:  # missing or corrupt parquet: evidence unavailable
        return Missing(f"{where} cannot be read: {exc}")
    id_column = params.data.id_column
    if id_column not in preds or "score" not in preds:
        return Missing(f"{where}: expected columns '{id_column}' and 'score'")
    if len(preds) != len(holdout) or not np.array_equal(
        preds[id_column].to_numpy(), holdout[id_column].to_numpy()
    ):
        return Missing(f"{where} does not cover the rows of {paths.holdout} in order")
    scores = preds["score"].to_numpy(dtype=float)
    return nonfinite(scores, f"candidate model, {where}") or scores


def _stale(paths: GatePaths) -> list[str] | Missing:
    try:
        return stale_paths(paths.lock, UPSTREAM, paths.root)
    except MlgateError as exc:
        return Missing(str(exc))


def _champion_side(
    paths: GatePaths, params: Params, lock: Any
) -> tuple[ChampionEvidence | Missing | None, Check | None]:
    id_column = params.data.id_column
    if params.compute.engine == "spark":
        # Spark scores both models in one pass over the holdout; the driver reads its ids
        # only if the leakage check needs them.
        problem = _spark_holdout(paths, params)
        if problem is not None:
            return Missing(f"paired comparison impossible: {problem.reason}"), None

        def ids() -> np.ndarray:
            return pd.read_parquet(paths.holdout, columns=[id_column])[id_column].to_numpy()

        return champion_evidence(params, paths, None, lock, ids)
    rows = _holdout_rows(paths, params)
    candidate = rows if isinstance(rows, Missing) else _candidate_scores(paths, params, rows[0])
    if isinstance(candidate, Missing):
        return Missing(f"paired comparison impossible: {candidate.reason}"), None
    assert not isinstance(rows, Missing)
    holdout = rows[0]
    local = (holdout, rows[1], candidate)
    return champion_evidence(params, paths, local, lock, lambda: holdout[id_column].to_numpy())


def _assemble(
    paths: GatePaths,
    params: Params,
    lock: Any,
    freshness: Future[list[str] | Missing],
    reuse: Future[tuple[int, dict[str, Any]]],
) -> Evidence:
    champion, leakage = _champion_side(paths, params, lock)
    earlier, how = reuse.result()
    return Evidence(
        validation=read_object(paths.validation, "validation metrics"),
        holdout=read_object(paths.holdout_metrics, "holdout metrics"),
        slices=read_object(paths.slices, "slice metrics"),
        behavioral=read_object(paths.behavioral, "behavioral results"),
        serving=read_object(paths.serving, "serving checks"),
        stale=freshness.result(),
        champion=champion,
        leakage=leakage,
        earlier_decisions=earlier,
        holdout_reuse=how,
    )


def read_evidence(paths: GatePaths, params: Params) -> Evidence:
    """Every piece of evidence at ``paths``; never raises for missing or broken evidence."""
    # Hashing the upstream files (the holdout, the model...) waits on the disk and on hashlib,
    # both of which release the GIL: it runs beside the reading and scoring.
    lock = read_lock_file(paths.lock)  # None if unreadable: the freshness check says why
    with ThreadPoolExecutor(2) as pool:
        # Walking the git history for earlier decisions waits on git: it runs beside too.
        reuse = pool.submit(reuse_record, paths.root, lock)
        freshness = pool.submit(_stale, paths)
        return _assemble(paths, params, lock, freshness, reuse)
