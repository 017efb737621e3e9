"""Fit the configured scikit-learn Pipeline on the training rows (the train stage's logic).

The stage reads the data and writes the model; this module checks the columns, builds the
pipeline (with the provenance of an estimator of the user's own), samples, fits on one thread
and assembles the model's metadata and the training summary.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from mlgate.errors import DataError, ParamsError
from mlgate.estimators import is_import_path, provenance
from mlgate.features import FeatureSpec
from mlgate.model import ESTIMATORS, build_pipeline, hash_frame
from mlgate.params import FeaturesParams, TrainParams

# What train.json says about a sample (mlgate.data.sample): which rows, chosen how.
SAMPLE_RULE = (
    "the train.max_train_rows rows whose data.id_column has the smallest hash salted with "
    "split.salt + '/sample' (independent of row order, file layout and engine)"
)


@dataclass(frozen=True)
class Fitted:
    """A fitted pipeline with what the stage saves beside it."""

    pipeline: Any
    origin: dict[str, Any] | None  # provenance of a user's estimator, None for a built-in
    metadata: dict[str, Any]
    summary: dict[str, Any]
    seconds: float


def fit_model(
    train: pd.DataFrame,
    spec: FeatureSpec,
    features: FeaturesParams,
    target: str,
    cfg: TrainParams,
    *,
    source: str,
    n_available: int | None = None,
) -> Fitted:
    """Fit ``cfg.estimator`` on ``train`` (read from ``source``, named in errors).

    ``train`` is already the sample (:func:`mlgate.data.sample.read_sample`) when the source
    holds more than ``cfg.max_train_rows`` rows; ``n_available`` is the source's row count.
    """
    missing = [c for c in (*spec.columns, target) if c not in train]
    if missing:
        raise DataError(
            f"{source}: column(s) {missing} listed in params.yaml (features / data.target) "
            f"are missing; the data has {list(train.columns)}"
        )
    hyperparams = cfg.hyperparams.get(cfg.estimator, {})
    pipeline, origin = _pipeline(spec, cfg, hyperparams)
    n_available = len(train) if n_available is None else n_available
    if len(train) > cfg.max_train_rows:
        raise DataError(
            f"{source}: {len(train):,} rows given to fit, above train.max_train_rows "
            f"{cfg.max_train_rows:,}; read it with mlgate.data.sample.read_sample"
        )
    sampled = n_available > len(train)
    start = time.perf_counter()
    # One thread: a BLAS/OpenMP reduction split across threads can change the fitted
    # coefficients in the last bits, and with them the model's sha256, from machine to machine.
    with threadpool_limits(limits=1):
        pipeline.fit(train[list(spec.columns)], train[target].to_numpy())
    seconds = time.perf_counter() - start
    summary = {
        "estimator": cfg.estimator,
        "n_available": n_available,
        "n_train": len(train),
        "sampled": sampled,
        **({"sample": SAMPLE_RULE} if sampled else {}),
        "train_positive_rate": round(float(train[target].mean()), 6),
    }
    metadata = {
        "estimator": cfg.estimator,
        "hyperparams": hyperparams,
        **({"estimator_params": cfg.estimator_params} if origin else {}),
        "seed": cfg.seed,
        "features": dataclasses.asdict(features),
        "input_columns": list(spec.columns),
        "target": target,
        "training_data_sha256": hash_frame(train),
        **{k: summary[k] for k in ("n_available", "n_train", "sampled")},
    }
    return Fitted(pipeline, origin, metadata, summary, seconds)


def _pipeline(
    spec: FeatureSpec, cfg: TrainParams, hyperparams: dict[str, Any]
) -> tuple[Any, dict[str, Any] | None]:
    """The unfitted pipeline, and the provenance of an estimator of the user's own."""
    origin = None
    try:
        pipeline = build_pipeline(
            spec,
            estimator=cfg.estimator,
            hyperparams=hyperparams,
            seed=cfg.seed,
            estimator_params=cfg.estimator_params,
        )
        if is_import_path(cfg.estimator) and cfg.estimator not in ESTIMATORS:
            origin = provenance(cfg.estimator)
            _check_tracked(origin, cfg.code)
    except ParamsError as exc:  # the library names the key; say which file holds it
        raise ParamsError(f"params.yaml: {exc}") from None
    return pipeline, origin


def _check_tracked(origin: dict[str, Any], code: str) -> None:
    """A module of the user's own must lie inside train.code, the dvc.yaml dependency that
    reruns this stage when it changes; otherwise an edit would leave a stale model."""
    module = origin.get("module_file")
    if module is None:
        return
    tracked = Path(code)
    if not (Path(module) == tracked or Path(module).is_relative_to(tracked)):
        raise ParamsError(
            f"train.code: {module} defines train.estimator but train.code is {code!r}; set "
            f"train.code: {module} (or its directory) so that dvc repro retrains when it changes"
        )
