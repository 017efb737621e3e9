"""Gate floors for a new table, from a cross-validated baseline on its training side.

``mlgate init`` cannot know what AUC a user's data supports; the synthetic data's floors
(0.80 overall, 0.74 per slice) rejected a good first model on a real table. So it fits the
pipeline's default model with 5-fold stratified cross-validation on the rows the split stage
will put in *training* (the holdout is never looked at) and sets each floor to what a model
as good as that baseline would clear on the holdout with high probability:

    floor = AUC_cv - z * SE_cv * sqrt(n_train / n_holdout) - margin

``SE_cv`` is DeLong's standard error of the out-of-fold AUC; the square root rescales it from
the training side's size to the holdout's (a variance shrinks as 1/n), because the gate
measures the holdout, which is smaller. ``z`` is the two-sided 95% normal quantile and
``margin`` (0.02) allows for the model being retrained. The slice floor is the lowest such
value over the slices that the evaluate stage will evaluate (enough expected rows of both
classes), and never above the overall floor. Floors are clipped to [0.5, 1]: below 0.5 a
floor would accept a model worse than chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

from mlgate.data.split import holdout_mask
from mlgate.features import FeatureSpec
from mlgate.metrics.auc import UndefinedAucError, roc_auc_delong
from mlgate.model import build_pipeline
from mlgate.slices import Predicate

MARGIN = 0.02
Z = 1.959963984540054
FOLDS = 5
MAX_ROWS = 100_000  # a seeded sample above this: the floor needs an estimate, not every row


@dataclass(frozen=True)
class Baseline:
    auc: float
    std_error: float
    n_train: int
    n_holdout: int
    min_auc: float
    min_slice_auc: float
    slice_floors: dict[str, float]  # slice -> its own floor (the lowest one is min_slice_auc)
    estimator: str

    def explain(self) -> str:
        return (
            f"{FOLDS}-fold CV of {self.estimator} on the {self.n_train:,} training-side rows: "
            f"ROC AUC {self.auc:.4f} (SE {self.std_error:.4f}); floor = AUC - 1.96 SE x "
            f"sqrt(n_train/n_holdout) - {MARGIN} margin"
        )


def cross_validated_floors(
    frame: pd.DataFrame,
    *,
    spec: FeatureSpec,
    target: np.ndarray,
    id_column: str,
    slices: dict[str, Predicate],
    holdout_fraction: float,
    salt: str,
    estimator: str,
    hyperparams: dict[str, Any],
    seed: int,
    min_samples: int,
    estimator_params: dict[str, Any] | None = None,
) -> Baseline:
    """The floors above for ``frame`` (features as read, ``target`` as 0/1)."""
    in_holdout = holdout_mask(frame[id_column], fraction=holdout_fraction, salt=salt)
    n_holdout = int(in_holdout.sum())
    train = frame.loc[~in_holdout]
    y = target[~in_holdout]
    n_train = len(train)
    if n_train > MAX_ROWS:
        keep = np.sort(np.random.default_rng(seed).choice(n_train, MAX_ROWS, replace=False))
        train, y = train.iloc[keep], y[keep]
    pipeline = build_pipeline(
        spec,
        estimator=estimator,
        hyperparams=hyperparams,
        seed=seed,
        estimator_params=estimator_params,
    )
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    with threadpool_limits(limits=1):
        scores = cross_val_predict(
            pipeline, train[list(spec.columns)], y, cv=folds, method="predict_proba"
        )[:, 1]
    overall = roc_auc_delong(y, scores)
    scale = math.sqrt(n_train / max(n_holdout, 1))
    min_auc = _floor(overall.auc, overall.std_error, scale)
    share = n_holdout / max(n_train + n_holdout, 1)
    floors = _slice_floors(
        train, y, scores, slices, share=share, scale=scale, min_samples=min_samples
    )
    min_slice = min([min_auc, *floors.values()])
    return Baseline(
        auc=overall.auc,
        std_error=overall.std_error,
        n_train=n_train,
        n_holdout=n_holdout,
        min_auc=min_auc,
        min_slice_auc=min_slice,
        slice_floors=floors,
        estimator=estimator,
    )


def _slice_floors(
    train: pd.DataFrame,
    y: np.ndarray,
    scores: np.ndarray,
    slices: dict[str, Predicate],
    *,
    share: float,
    scale: float,
    min_samples: int,
) -> dict[str, float]:
    """A floor per slice large enough (expected in the holdout) to be judged."""
    floors: dict[str, float] = {}
    for name, predicate in slices.items():
        mask = predicate.mask(train)
        y_s = y[mask]
        # The evaluate stage skips a slice under min_samples holdout rows or one class only.
        expected = np.array([(y_s == 1).sum(), (y_s == 0).sum()]) * share / (1 - share)
        if expected.sum() < min_samples or expected.min() < 1:
            continue
        try:
            result = roc_auc_delong(y_s, scores[mask])
        except UndefinedAucError:
            continue
        floors[name] = _floor(result.auc, result.std_error, scale)
    return floors


def _floor(auc: float, std_error: float, scale: float) -> float:
    # Rounded down to 3 decimals, so the written floor is never above the computed one.
    value = auc - Z * std_error * scale - MARGIN
    return float(min(max(math.floor(value * 1000) / 1000, 0.5), 1.0))
