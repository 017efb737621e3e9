"""Stage `gate`: gather every piece of evidence, score the champion, write the decision.

Exits 0 on promote and on reject (so `dvc exp run` records rejected experiments); exits
non-zero only when the gate cannot run at all (e.g. params.yaml is broken).
"""

from __future__ import annotations

import json
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mlgate import log
from mlgate.champion import Champion, RevisionReader
from mlgate.champion_scores import committed_scores
from mlgate.errors import ArtifactError, MlgateError
from mlgate.freshness import parse_lock, stale_paths
from mlgate.gate import ChampionEvidence, Check, Missing, compare, decide
from mlgate.holdout_reuse import reuse_record
from mlgate.io import read_json, write_json
from mlgate.leakage import leakage_check
from mlgate.model import load_model
from mlgate.params import Params, load_params
from mlgate.scoring import predict_scores
from mlgate.slices import parse_slices
from mlgate.stage import run

UPSTREAM = ("validate", "split", "train", "evaluate", "behavioral", "serving")
IN_HOLDOUT = "data/holdout.parquet"
IN_PREDICTIONS = "data/holdout_predictions.parquet"
OUT = "metrics/gate.json"
LOCK = "dvc.lock"


def _read(path: str, what: str) -> dict[str, Any] | Missing:
    try:
        data = read_json(path, what=what)
    except MlgateError as exc:
        return Missing(str(exc))
    return data if isinstance(data, dict) else Missing(f"{what} {path} is not a JSON object")


def _load_champion_model(reader: RevisionReader) -> Any:
    """Copy the champion's model and metadata out of DVC and load them with the integrity check."""
    with tempfile.TemporaryDirectory(prefix="mlgate-champion-") as tmp:
        model_path, meta_path = Path(tmp, "model.joblib"), Path(tmp, "model.json")
        model_path.write_bytes(reader.read_bytes("models/model.joblib"))
        meta_path.write_bytes(reader.read_bytes("models/model.json"))
        try:
            model, _ = load_model(model_path, meta_path)
        except ArtifactError as exc:
            # The temp directory is an implementation detail; name the committed files.
            message = str(exc).replace(str(model_path), "models/model.joblib")
            raise ArtifactError(message.replace(str(meta_path), "models/model.json")) from exc
    return model


def _champion_scores(
    params: Params, reader: RevisionReader, holdout: pd.DataFrame
) -> tuple[np.ndarray, str]:
    """The champion's holdout scores and where they came from (committed, or re-scored: why)."""
    if params.gate.champion.reuse_scores:
        id_column = params.data.id_column
        found = committed_scores(reader, holdout[id_column].to_numpy(), id_column)
        if not isinstance(found, str):
            return found, "committed predictions (same holdout md5)"
        why = f"re-scored: {found}"
    else:
        why = "re-scored (gate.champion.reuse_scores: false)"
    log.info(f"gate: champion {why}")
    fallback: list[str] = []  # the record says so if scikit-learn's internals were not usable
    scores = predict_scores(_load_champion_model(reader), holdout, on_fallback=fallback.append)
    return scores, "; ".join([why, *fallback])


def _nonfinite(scores: np.ndarray, who: str) -> Missing | None:
    """A model that cannot score every row cannot be compared: say which and how many."""
    bad = int(np.count_nonzero(~np.isfinite(scores)))
    if not bad:
        return None
    return Missing(f"{who}: {bad} of {scores.size} holdout scores are NaN or infinite")


def _champion_evidence(
    params: Params, holdout: pd.DataFrame, y: np.ndarray, candidate: np.ndarray, lock: Any
) -> tuple[ChampionEvidence | Missing | None, Check | None]:
    """The paired comparison with the champion, and whether it trained on these rows."""
    record = _read("metrics/champion.json", "champion record")
    if isinstance(record, Missing):
        return record, None
    if not record.get("found"):
        return (Missing(record["error"]) if record.get("error") else None), None
    lacking = [k for k in ("ref", "commit", "source") if not isinstance(record.get(k), str)]
    if lacking:
        missing = f"champion record metrics/champion.json lacks {lacking}; rerun `champion`"
        return Missing(missing), None
    champion = Champion(record["ref"], record["commit"], record["source"], record.get("version"))
    try:
        reader = RevisionReader(".", champion)
    except MlgateError as exc:
        return Missing(str(exc)), None
    id_column = params.data.id_column
    leakage = leakage_check(reader, lock, holdout[id_column].to_numpy(), id_column)
    return _compare_with(params, reader, holdout, y, candidate), leakage


def _compare_with(
    params: Params,
    reader: RevisionReader,
    holdout: pd.DataFrame,
    y: np.ndarray,
    candidate: np.ndarray,
) -> ChampionEvidence:
    champion = reader.champion
    committed: dict[str, Any] | Missing
    try:
        committed = json.loads(reader.read_bytes("metrics/holdout.json"))
    except (MlgateError, ValueError) as exc:
        committed = Missing(f"champion metrics/holdout.json: {exc}")
    if not isinstance(committed, dict | Missing):
        committed = Missing("champion metrics/holdout.json is not a JSON object")
    where = f"champion model at {champion.ref} ({champion.commit[:10]})"
    try:
        scores, source = _champion_scores(params, reader, holdout)
        if (bad := _nonfinite(scores, f"{where}, {source}")) is not None:
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


def _holdout_rows(params: Params) -> tuple[pd.DataFrame, np.ndarray] | Missing:
    """The rows and labels both models are scored on, or why they cannot be used."""
    try:
        holdout = pd.read_parquet(IN_HOLDOUT)
    except Exception as exc:  # missing or corrupt parquet: evidence unavailable
        return Missing(f"{IN_HOLDOUT} cannot be read: {exc}")
    lacking = [c for c in (params.data.target, params.data.id_column) if c not in holdout]
    if lacking:
        return Missing(f"{IN_HOLDOUT} lacks column(s) {lacking} (data.target, data.id_column)")
    return holdout, holdout[params.data.target].to_numpy()


def _candidate_scores(params: Params, holdout: pd.DataFrame) -> np.ndarray | Missing:
    try:
        preds = pd.read_parquet(IN_PREDICTIONS)
    except Exception as exc:  # missing or corrupt parquet: evidence unavailable
        return Missing(f"{IN_PREDICTIONS} cannot be read: {exc}")
    id_column = params.data.id_column
    if id_column not in preds or "score" not in preds:
        return Missing(f"{IN_PREDICTIONS}: expected columns '{id_column}' and 'score'")
    if len(preds) != len(holdout) or not np.array_equal(
        preds[id_column].to_numpy(), holdout[id_column].to_numpy()
    ):
        return Missing(f"{IN_PREDICTIONS} does not cover the rows of {IN_HOLDOUT} in order")
    scores = preds["score"].to_numpy(dtype=float)
    return _nonfinite(scores, f"candidate model, {IN_PREDICTIONS}") or scores


def _stale() -> list[str] | Missing:
    try:
        return stale_paths("dvc.lock", UPSTREAM)
    except MlgateError as exc:
        return Missing(str(exc))


def _lock() -> Any:
    """The workspace's dvc.lock, parsed; None if unreadable (the freshness check says why)."""
    try:
        return parse_lock(Path(LOCK).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _decide(
    params: Params,
    lock: Any,
    freshness: Future[list[str] | Missing],
    reuse: Future[tuple[int, dict[str, Any]]],
) -> dict[str, Any]:
    rows = _holdout_rows(params)
    candidate = rows if isinstance(rows, Missing) else _candidate_scores(params, rows[0])
    champion: ChampionEvidence | Missing | None
    leakage = None
    if isinstance(candidate, Missing):
        champion = Missing(f"paired comparison impossible: {candidate.reason}")
    else:
        assert not isinstance(rows, Missing)
        champion, leakage = _champion_evidence(params, *rows, candidate, lock)
    earlier, how = reuse.result()
    return decide(
        params.gate,
        validation=_read("metrics/validation.json", "validation metrics"),
        holdout=_read("metrics/holdout.json", "holdout metrics"),
        slices=_read("metrics/slices.json", "slice metrics"),
        behavioral=_read("metrics/behavioral.json", "behavioral results"),
        serving=_read("metrics/serving.json", "serving checks"),
        stale=freshness.result(),
        champion=champion,
        leakage=leakage,
        earlier_decisions=earlier,
        holdout_reuse=how,
    )


def main() -> None:
    params = load_params()
    # Hashing the upstream files (the holdout, the model...) waits on the disk and on hashlib,
    # both of which release the GIL: it runs beside the reading and scoring.
    lock = _lock()
    with ThreadPoolExecutor(2) as pool:
        # Walking the git history for earlier decisions waits on git: it runs beside too.
        reuse = pool.submit(reuse_record, ".", lock)
        decision = _decide(params, lock, pool.submit(_stale), reuse)
    write_json(OUT, decision)
    verdict = "PROMOTE" if decision["promote"] else "REJECT"
    log.info(
        f"gate: {verdict} ({decision['n_checks'] - decision['n_failed']}/"
        f"{decision['n_checks']} checks passed) -> {OUT}"
    )
    for check in decision["checks"]:
        if not check["passed"]:
            log.info(f"  failed {check['name']}: {check['reason']}")


if __name__ == "__main__":
    run(main)
