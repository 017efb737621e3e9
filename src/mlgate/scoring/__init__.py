"""Scoring a fitted model: one entry, :func:`predict_proba`, for every stage and the API.

``predict_proba(model, X)`` returns exactly ``model.predict_proba(X)`` (``array_equal``, same
dtype), faster where a shortcut applies:

* a pipeline's fitted preprocessing is run step by step without scikit-learn's per-call
  machinery (:mod:`mlgate.scoring.transforms`: 7 ms -> ~2 ms for one row);
* from ``table_rows`` rows (default :data:`TABLE_ROWS`) a HistGradientBoosting model's trees
  are scored as bit-vector tables (:mod:`mlgate.scoring.trees`: 150 trees x 1e6 rows 0.5 s
  instead of 3.0 s).

The shortcuts read scikit-learn's private state through :mod:`.sklearn_internals` only. Where
that state is not what they expect (an attribute or node field renamed, a release outside
the tested range), the model's own ``predict_proba`` scores instead, a log line says why, and
``on_fallback`` receives the reason for a stage that records how it scored.

``MLGATE_FAST_SCORING=0`` turns every shortcut off. An environment variable rather than a
param: the scores are bit-identical either way, so the switch must not be a dvc.lock input
that reruns stages (and changes no output) when flipped. It exists to rule the shortcuts out
when diagnosing a problem, and to time them against scikit-learn.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlgate import log
from mlgate.errors import ArtifactError, DataError, ParamsError
from mlgate.model import required_columns
from mlgate.scoring import sklearn_internals as internals
from mlgate.scoring import transforms, trees

__all__ = ["ENV_SWITCH", "TABLE_ROWS", "predict_proba", "predict_scores", "shortcuts_enabled"]

ENV_SWITCH = "MLGATE_FAST_SCORING"
# Below this many rows scikit-learn's own tree walk is fast enough and building the tables
# (about 15 ms for 150 trees) would not pay off. A speed choice only: the tables are exact
# at any size (tests run them from one row).
TABLE_ROWS = 20_000
_ON, _OFF = ("", "1", "true", "yes", "on"), ("0", "false", "no", "off")
_said: set[str] = set()  # log lines already written by this process


def shortcuts_enabled() -> bool:
    """False when ``MLGATE_FAST_SCORING`` says off; ParamsError for a value that says neither."""
    value = os.environ.get(ENV_SWITCH, "").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ParamsError(
        f"environment variable {ENV_SWITCH}={value!r}: expected 1 (scoring shortcuts on, "
        "the default) or 0 (score with the model's own predict_proba)"
    )


def predict_proba(
    model: Any,
    X: Any,
    *,
    shortcuts: bool | None = None,
    table_rows: int | None = None,
    on_fallback: Callable[[str], object] | None = None,
) -> np.ndarray:
    """``model.predict_proba(X)``, bit for bit, through the shortcuts where they apply.

    ``shortcuts``: None reads ``MLGATE_FAST_SCORING``. ``table_rows``: the frame size from
    which a boosted model's trees are scored as tables (None: :data:`TABLE_ROWS`; 0: always).
    ``on_fallback(reason)`` is called when scikit-learn's internals are not supported.
    """
    if shortcuts is None:
        shortcuts = shortcuts_enabled()
        if not shortcuts:
            _say_once(f"{ENV_SWITCH}=0: scoring shortcuts off, using the model's predict_proba")
    if not shortcuts:
        return model.predict_proba(X)
    try:
        proba = _shortcut(model, X, TABLE_ROWS if table_rows is None else table_rows)
    except internals.Unsupported as exc:
        reason = (
            f"scoring shortcuts not supported ({exc}): scored with the model's own predict_proba"
        )
        _say_once(reason)
        if on_fallback is not None:
            on_fallback(reason)
        return model.predict_proba(X)
    return model.predict_proba(X) if proba is None else proba


def _shortcut(model: Any, X: Any, table_rows: int) -> np.ndarray | None:
    """The shortcut result, None where no shortcut covers the model or the input."""
    internals.check_version()
    if not (isinstance(X, pd.DataFrame) and transforms.is_fast_pipeline(model)):
        return None
    blocks = transforms.column_blocks(model.steps[0][1], X)
    if blocks is None:
        return None
    final = model.steps[-1][1]
    if len(X) >= table_rows:
        # The tables read the feature columns where they are, without the stacked copy.
        columns = [block[:, j] for block in blocks for j in range(block.shape[1])]
        proba = trees.predict_proba(final, columns)
        if proba is not None:
            return proba
    return final.predict_proba(np.hstack(blocks))


def _say_once(message: str) -> None:
    # Behavioral scores hundreds of frames and the API every request: one line per reason.
    if message not in _said:
        _said.add(message)
        log.info(message)


def predict_scores(
    pipeline: Any, X: pd.DataFrame, *, on_fallback: Callable[[str], object] | None = None
) -> np.ndarray:
    """Probability of class 1 for each row of ``X``, as float64 (:func:`predict_proba`).

    Raises ArtifactError if the model cannot give probabilities for a binary target with a
    class 1, and DataError naming the columns the model needs but ``X`` lacks.
    """
    if not hasattr(pipeline, "predict_proba"):
        raise ArtifactError(
            f"model {type(pipeline).__name__} has no predict_proba; expected a classifier"
        )
    classes = getattr(pipeline, "classes_", None)
    if classes is None:
        raise ArtifactError(f"model {type(pipeline).__name__} is not fitted (no classes_)")
    matches = np.flatnonzero(np.asarray(classes) == 1)
    if len(classes) != 2 or matches.size != 1:
        raise ArtifactError(
            f"model classes are {list(classes)}; expected a binary classifier with classes [0, 1]"
        )
    if not isinstance(X, pd.DataFrame):
        raise DataError(f"expected the features as a pandas DataFrame, got {type(X).__name__}")
    missing = [c for c in required_columns(pipeline) if c not in X.columns]
    if missing:
        raise DataError(f"input data lacks column(s) {missing} that the model needs")
    proba = predict_proba(pipeline, X, on_fallback=on_fallback)
    return np.asarray(proba[:, int(matches[0])], dtype=np.float64)
