"""Stage `train`: fit the configured scikit-learn Pipeline; save it with its integrity record."""

from __future__ import annotations

import dataclasses

import pandas as pd

from mlgate import log, paths
from mlgate.features import FeatureSpec
from mlgate.io import write_json
from mlgate.model import save_model
from mlgate.params import load_params
from mlgate.stage import run
from mlgate.training import fit_model

IN_TRAIN = paths.TRAIN
OUT_MODEL = paths.MODEL
OUT_META = paths.MODEL_META
OUT_METRICS = paths.TRAIN_METRICS


def main() -> None:
    params = load_params()
    spec = FeatureSpec(**dataclasses.asdict(params.features))
    train = pd.read_parquet(IN_TRAIN)
    cfg = params.train
    fitted = fit_model(train, spec, params.features, params.data.target, cfg, source=IN_TRAIN)
    meta = save_model(
        fitted.pipeline,
        OUT_MODEL,
        OUT_META,
        metadata=fitted.metadata,
        estimator_import=fitted.origin,
    )
    write_json(OUT_METRICS, fitted.summary)
    summary = fitted.summary
    note = f" (sampled from {summary['n_available']:,})" if summary["sampled"] else ""
    log.info(
        f"train: fitted {cfg.estimator} on {summary['n_train']:,} rows{note} in "
        f"{fitted.seconds:.1f} s; wrote {OUT_MODEL} (sha256 {meta['sha256'][:12]})"
    )


if __name__ == "__main__":
    run(main)
