"""Stage `train`: fit the configured scikit-learn Pipeline; save it with its integrity record."""

from __future__ import annotations

import dataclasses

from mlgate import log, paths
from mlgate.data.sample import read_sample, sample_salt
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
    cfg = params.train
    # Bounded memory: only the sampled rows are ever held (record batches, mlgate.data.sample).
    sample = read_sample(
        IN_TRAIN,
        id_column=params.data.id_column,
        n=cfg.max_train_rows,
        salt=sample_salt(params.split.salt),
    )
    fitted = fit_model(
        sample.frame,
        spec,
        params.features,
        params.data.target,
        cfg,
        source=IN_TRAIN,
        n_available=sample.n_available,
    )
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
