"""Where the gate reads its evidence: the stage passes these in; the library assumes none."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GatePaths:
    """Paths relative to the working directory; the champion's files are read at the same
    paths in its commit (``model``, ``model_meta``, ``holdout_metrics``)."""

    root: str  # the repository (git + DVC) the champion is read from
    lock: str  # dvc.lock
    holdout: str  # the holdout rows both models are scored on
    predictions: str  # the candidate's scores on them
    champion: str  # the champion stage's record
    validation: str
    holdout_metrics: str
    slices: str
    behavioral: str
    serving: str
    model: str
    model_meta: str
