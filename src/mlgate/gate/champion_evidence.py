"""The champion side of the evidence: its record, its committed metrics, its scores on this
holdout (committed when provably the same rows, else re-scored) and the paired comparison."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate import log
from mlgate.champion import Champion, RevisionReader
from mlgate.errors import ArtifactError, MlgateError
from mlgate.gate.champion_scores import committed_scores
from mlgate.gate.checks import Check, Missing
from mlgate.gate.compare import ChampionEvidence, Comparison, compare, nonfinite
from mlgate.gate.leakage import leakage_check
from mlgate.gate.paths import GatePaths
from mlgate.io import read_json
from mlgate.model import load_model
from mlgate.params import Params
from mlgate.scoring import predict_scores
from mlgate.slices import parse_slices


def read_object(path: str, what: str) -> dict[str, Any] | Missing:
    """A JSON object from ``path``, or why it is not one."""
    try:
        data = read_json(path, what=what)
    except MlgateError as exc:
        return Missing(str(exc))
    return data if isinstance(data, dict) else Missing(f"{what} {path} is not a JSON object")


def load_champion_model(reader: RevisionReader, paths: GatePaths) -> Any:
    """Copy the champion's model and metadata out of DVC and load them with the integrity check."""
    with tempfile.TemporaryDirectory(prefix="mlgate-champion-") as tmp:
        model_path, meta_path = Path(tmp, "model.joblib"), Path(tmp, "model.json")
        model_path.write_bytes(reader.read_bytes(paths.model))
        meta_path.write_bytes(reader.read_bytes(paths.model_meta))
        try:
            model, _ = load_model(model_path, meta_path)
        except ArtifactError as exc:
            # The temp directory is an implementation detail; name the committed files.
            message = str(exc).replace(str(model_path), paths.model)
            raise ArtifactError(message.replace(str(meta_path), paths.model_meta)) from exc
    return model


def champion_scores(
    params: Params, paths: GatePaths, reader: RevisionReader, holdout: pd.DataFrame
) -> tuple[np.ndarray, str]:
    """The champion's holdout scores and where they came from (committed, or re-scored: why)."""
    if params.gate.champion.reuse_scores:
        id_column = params.data.id_column
        ids = holdout[id_column].to_numpy()
        found = committed_scores(reader, ids, id_column, holdout_path=paths.holdout)
        if not isinstance(found, str):
            return found, "committed predictions (same holdout md5)"
        why = f"re-scored: {found}"
    else:
        why = "re-scored (gate.champion.reuse_scores: false)"
    log.info(f"gate: champion {why}")
    fallback: list[str] = []  # the record says so if scikit-learn's internals were not usable
    model = load_champion_model(reader, paths)
    scores = predict_scores(model, holdout, on_fallback=fallback.append)
    return scores, "; ".join([why, *fallback])


# The local engine's rows for the comparison: holdout frame, labels, candidate's scores.
LocalRows = tuple[pd.DataFrame, np.ndarray, np.ndarray]


def champion_evidence(
    params: Params,
    paths: GatePaths,
    rows: LocalRows | None,
    lock: Any,
    holdout_ids: Callable[[], np.ndarray],
) -> tuple[ChampionEvidence | Missing | None, Check | None]:
    """The paired comparison with the champion, and whether it trained on these rows.

    ``rows``: None under the Spark engine, which reads and scores the holdout itself.
    ``holdout_ids``: reads the holdout's ids, for the leakage check when it needs them."""
    record = read_object(paths.champion, "champion record")
    if isinstance(record, Missing):
        return record, None
    if not record.get("found"):
        return (Missing(record["error"]) if record.get("error") else None), None
    lacking = [k for k in ("ref", "commit", "source") if not isinstance(record.get(k), str)]
    if lacking:
        missing = f"champion record {paths.champion} lacks {lacking}; rerun `champion`"
        return Missing(missing), None
    champion = Champion(record["ref"], record["commit"], record["source"], record.get("version"))
    try:
        reader = RevisionReader(paths.root, champion)
    except MlgateError as exc:
        return Missing(str(exc)), None
    leakage = leakage_check(reader, lock, holdout_ids, params.data.id_column)
    return _compare_with(params, paths, reader, rows), leakage


def _committed_metrics(reader: RevisionReader, paths: GatePaths) -> dict[str, Any] | Missing:
    where = f"champion {paths.holdout_metrics}"
    try:
        committed = json.loads(reader.read_bytes(paths.holdout_metrics))
    except (MlgateError, ValueError) as exc:
        return Missing(f"{where}: {exc}")
    return committed if isinstance(committed, dict) else Missing(f"{where} is not a JSON object")


def _compare_with(
    params: Params, paths: GatePaths, reader: RevisionReader, rows: LocalRows | None
) -> ChampionEvidence:
    champion = reader.champion
    committed = _committed_metrics(reader, paths)
    where = f"champion model at {champion.ref} ({champion.commit[:10]})"
    if rows is None:
        try:
            comparison = _spark_comparison(params, paths, reader)
        except (MlgateError, ValueError) as exc:  # a ValueError: input the statistics refuse
            return ChampionEvidence(champion, committed, Missing(f"{where}: {exc}"))
        return ChampionEvidence(champion, committed, comparison)
    holdout, y, candidate = rows
    try:
        scores, source = champion_scores(params, paths, reader, holdout)
        if (bad := nonfinite(scores, f"{where}, {source}")) is not None:
            return ChampionEvidence(champion, committed, bad)
        cfg = params.evaluate
        comparison = compare(
            holdout,
            y,
            candidate,
            scores,
            parse_slices(cfg.slices, where="evaluate.slices"),
            min_samples=cfg.min_samples,
            confidence=params.gate.confidence,
            threshold=cfg.threshold,
            calibration_bins=cfg.calibration_bins,
            champion_scores=source,
        )
    except (MlgateError, ValueError) as exc:  # a ValueError: input the statistics refuse
        return ChampionEvidence(champion, committed, Missing(f"{where}: {exc}"))
    return ChampionEvidence(champion, committed, comparison)


SPARK_SCORES = "re-scored with the candidate in one Spark pass (compute.engine: spark)"


def _spark_comparison(params: Params, paths: GatePaths, reader: RevisionReader) -> Comparison:
    """The comparison on Spark: both models scored in one pass over the holdout."""
    from mlgate.spark.gate import compare_on_spark
    from mlgate.spark.session import spark_session

    log.info(f"gate: champion {SPARK_SCORES}")
    champion_model = load_champion_model(reader, paths)
    candidate_model, _ = load_model(paths.model, paths.model_meta)
    cfg = params.evaluate
    spark = spark_session(params.compute, app="gate")
    try:
        return compare_on_spark(
            spark,
            paths.holdout,
            candidate_model,
            champion_model,
            parse_slices(cfg.slices, where="evaluate.slices"),
            target=params.data.target,
            min_samples=cfg.min_samples,
            confidence=params.gate.confidence,
            threshold=cfg.threshold,
            calibration_bins=cfg.calibration_bins,
            champion_scores=SPARK_SCORES,
        )
    finally:
        spark.stop()
