"""Stage `train`: fit the configured scikit-learn Pipeline; save it with its integrity record."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from mlgate import log, paths
from mlgate.errors import DataError, ParamsError
from mlgate.estimators import is_import_path, provenance
from mlgate.features import FeatureSpec
from mlgate.io import write_json
from mlgate.model import ESTIMATORS, build_pipeline, hash_frame, save_model
from mlgate.params import TrainParams, load_params
from mlgate.stage import run

IN_TRAIN = paths.TRAIN
OUT_MODEL = paths.MODEL
OUT_META = paths.MODEL_META
OUT_METRICS = paths.TRAIN_METRICS


def main() -> None:
    params = load_params()
    spec = FeatureSpec(**dataclasses.asdict(params.features))
    train = pd.read_parquet(IN_TRAIN)
    target = params.data.target
    missing = [c for c in (*spec.columns, target) if c not in train]
    if missing:
        raise DataError(
            f"{IN_TRAIN}: column(s) {missing} listed in params.yaml (features / data.target) "
            f"are missing; the data has {list(train.columns)}"
        )
    cfg = params.train
    hyperparams = cfg.hyperparams.get(cfg.estimator, {})
    pipeline, origin = _pipeline(spec, cfg, hyperparams)
    n_available = len(train)
    sampled = n_available > cfg.max_train_rows
    if sampled:
        # A seeded sample, sorted back into file order so the fit sees rows as stored.
        train = train.sample(n=cfg.max_train_rows, random_state=cfg.seed).sort_index()
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
        "train_positive_rate": round(float(train[target].mean()), 6),
    }
    metadata = {
        "estimator": cfg.estimator,
        "hyperparams": hyperparams,
        **({"estimator_params": cfg.estimator_params} if origin else {}),
        "seed": cfg.seed,
        "features": dataclasses.asdict(params.features),
        "input_columns": list(spec.columns),
        "target": target,
        "training_data_sha256": hash_frame(train),
        **{k: summary[k] for k in ("n_available", "n_train", "sampled")},
    }
    meta = save_model(pipeline, OUT_MODEL, OUT_META, metadata=metadata, estimator_import=origin)
    write_json(OUT_METRICS, summary)
    note = f" (sampled from {n_available:,})" if sampled else ""
    log.info(
        f"train: fitted {cfg.estimator} on {len(train):,} rows{note} in {seconds:.1f} s; "
        f"wrote {OUT_MODEL} (sha256 {meta['sha256'][:12]})"
    )


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


if __name__ == "__main__":
    run(main)
