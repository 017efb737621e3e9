"""The champion's own scores on this holdout, when its commit proves it already computed them.

The paired test needs the champion's score for every holdout row. Re-scoring means loading
the champion's model and running it over the whole holdout, which dominates the gate's time on
a large holdout. But the champion's commit already holds ``data/holdout_predictions.parquet``
from its ``evaluate`` stage, and its dvc.lock records the md5 of the holdout that stage read.
When that md5 equals the md5 of the holdout on disk, those predictions *are* the champion's
scores on these rows, computed by the champion's own code (what production runs), so they can
be used as they are.

Every link is checked and any doubt means "re-score", never "trust": the holdout's md5, the
model the champion's evaluate read against the model its train wrote, the predictions' bytes
against their md5 in dvc.lock (a corrupt cache entry), and the row ids against the holdout's,
in order. :func:`committed_scores` returns the scores, or the reason they cannot be used.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mlgate.champion import RevisionReader
from mlgate.errors import MlgateError
from mlgate.repo.lock import file_md5, locked_md5, parse_lock

HOLDOUT = "data/holdout.parquet"
PREDICTIONS = "data/holdout_predictions.parquet"
MODEL = "models/model.joblib"


def committed_scores(
    reader: RevisionReader,
    holdout_ids: np.ndarray,
    id_column: str,
    *,
    holdout_path: str | Path = HOLDOUT,
) -> np.ndarray | str:
    """The champion's committed holdout scores, aligned with ``holdout_ids``, or why not.

    ``holdout_path``: the holdout on disk (its md5 must be the one the champion evaluated)."""
    try:
        lock = parse_lock(reader.read_bytes("dvc.lock"))
    except (MlgateError, yaml.YAMLError) as exc:
        return f"its dvc.lock cannot be read ({exc})"
    their_holdout = locked_md5(lock, "evaluate", "deps", HOLDOUT)
    if their_holdout is None:
        return f"its dvc.lock does not record which {HOLDOUT} its evaluate stage read"
    if Path(holdout_path).is_dir():
        # Spark's split writes a dataset directory: no file md5 to compare, and the champion's
        # predictions would have to be aligned by id. Scoring again is always right.
        return f"{HOLDOUT} is a Parquet dataset directory (written by the Spark engine)"
    if their_holdout != file_md5(holdout_path):
        return f"{HOLDOUT} differs from the one the champion was evaluated on"
    scored_with = locked_md5(lock, "evaluate", "deps", MODEL)
    if scored_with is None or scored_with != locked_md5(lock, "train", "outs", MODEL):
        return f"its evaluate stage did not score the {MODEL} its train stage wrote"
    expected = locked_md5(lock, "evaluate", "outs", PREDICTIONS)
    try:
        data = reader.read_bytes(PREDICTIONS)
    except (MlgateError, OSError) as exc:  # OSError: e.g. a dataset directory, not a file
        return str(exc)
    if expected is None or hashlib.md5(data, usedforsecurity=False).hexdigest() != expected:
        return f"its {PREDICTIONS} does not match the md5 in its dvc.lock"
    try:
        preds = pd.read_parquet(io.BytesIO(data), columns=[id_column, "score"])
    except Exception as exc:  # a foreign layout (another id column, no score): re-score
        return f"its {PREDICTIONS} cannot be read as ({id_column}, score): {exc}"
    ids = preds[id_column].to_numpy()
    if len(ids) != len(holdout_ids) or not np.array_equal(ids, holdout_ids):
        return f"its {PREDICTIONS} does not cover the holdout rows in order"
    scores = preds["score"].to_numpy(dtype=np.float64)
    if not (np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()):
        return f"its {PREDICTIONS} holds scores outside [0, 1]"
    return scores
