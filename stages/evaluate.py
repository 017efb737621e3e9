"""Stage `evaluate`: score the holdout; overall and per-slice metrics with DeLong CIs; plots.

The slices are checked against the data contract first (mlgate.slice_contract).
``compute.engine: spark`` scores and counts on Spark (:mod:`mlgate.spark.evaluate`); both
engines write the same metrics, each recording which engine computed them.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd

from mlgate import log, paths, plots
from mlgate.engine import ENGINE_KEY, engine_record
from mlgate.errors import DataError
from mlgate.evaluation import curves, holdout_metrics, slice_metrics
from mlgate.io import atomic_write, write_json, write_parquet
from mlgate.metrics import UndefinedAucError
from mlgate.model import load_model
from mlgate.params import Params, load_params
from mlgate.scoring import predict_scores
from mlgate.slice_contract import check_slices
from mlgate.slices import Predicate, parse_slices
from mlgate.stage import run

# pandera (for the contract) imports hypothesis when installed; this stage never synthesises
# data (see stages/validate.py).
sys.modules.setdefault("hypothesis", None)

IN_HOLDOUT = paths.HOLDOUT
IN_MODEL, IN_META = paths.MODEL, paths.MODEL_META
OUT_PREDICTIONS = paths.HOLDOUT_PREDICTIONS
OUT_HOLDOUT = paths.HOLDOUT_METRICS
OUT_SLICES = paths.SLICES
PLOT_DIR = "plots"

Results = tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, pd.DataFrame]]


def _options(params: Params) -> dict[str, Any]:
    cfg = params.evaluate
    return {
        "threshold": cfg.threshold,
        "confidence": cfg.confidence,
        "calibration_bins": cfg.calibration_bins,
    }


def _local(params: Params, pipeline: Any, slices: dict[str, Predicate]) -> Results:
    cfg, options = params.evaluate, _options(params)
    holdout = pd.read_parquet(IN_HOLDOUT)
    y = holdout[params.data.target].to_numpy()
    scores = predict_scores(pipeline, holdout)
    order = np.argsort(scores)  # one sort for the holdout and every slice
    try:
        overall = holdout_metrics(y, scores, **options, order=order)
    except UndefinedAucError as exc:
        raise DataError(f"{IN_HOLDOUT}: ROC AUC is undefined on the holdout: {exc}") from exc
    per_slice = slice_metrics(
        holdout, y, scores, slices, min_samples=cfg.min_samples, **options, order=order
    )
    write_parquet(
        OUT_PREDICTIONS,
        pd.DataFrame(
            {
                params.data.id_column: holdout[params.data.id_column].to_numpy(),
                "label": y.astype("int8"),
                "score": scores,
            }
        ),
    )
    data = curves(y, scores, calibration_bins=cfg.calibration_bins, threshold=cfg.threshold)
    return overall, per_slice, data


def _spark(params: Params, pipeline: Any, slices: dict[str, Predicate]) -> Results:
    # Imported here: the local engine needs neither PySpark nor Java.
    from mlgate.spark.evaluate import evaluate
    from mlgate.spark.session import spark_session

    spark = spark_session(params.compute, app="evaluate")
    try:
        done = evaluate(
            spark,
            pipeline,
            slices,
            holdout=IN_HOLDOUT,
            predictions=OUT_PREDICTIONS,
            target=params.data.target,
            id_column=params.data.id_column,
            min_samples=params.evaluate.min_samples,
            options=_options(params),
        )
    except UndefinedAucError as exc:
        raise DataError(f"{IN_HOLDOUT}: ROC AUC is undefined on the holdout: {exc}") from exc
    finally:
        spark.stop()
    return done.overall, done.slices, done.curves


def main() -> None:
    params = load_params()
    cfg = params.evaluate
    # The prefix reaches parse errors and, through each predicate, errors against the data.
    where = "params.yaml: evaluate.slices"
    slices = parse_slices(cfg.slices, where=where)
    from mlgate.data.contract import load_contract  # imports pandera: after the guard above

    # A category or column the contract does not allow selects no row, and an empty slice
    # would be reported as "skipped" instead of refused.
    contract = params.contract.path
    check_slices(
        slices, load_contract(contract), contract=contract, where=where, target=params.data.target
    )
    pipeline, meta = load_model(IN_MODEL, IN_META)
    if params.compute.engine == "spark":
        overall, per_slice, data = _spark(params, pipeline, slices)
    else:
        overall, per_slice, data = _local(params, pipeline, slices)
    overall["model_sha256"] = meta["sha256"]
    record = engine_record(params.compute)
    overall[ENGINE_KEY] = record
    for name, frame in data.items():
        atomic_write(f"{PLOT_DIR}/{name}.csv", lambda p, f=frame: f.to_csv(p, index=False))
    plots.roc_png(data["roc"], overall, f"{PLOT_DIR}/roc.png")
    plots.calibration_png(data["calibration"], overall, f"{PLOT_DIR}/calibration.png")
    plots.slices_png(per_slice, overall, f"{PLOT_DIR}/slices.png")
    write_json(
        OUT_SLICES, {"min_samples": cfg.min_samples, "slices": per_slice, ENGINE_KEY: record}
    )
    write_json(OUT_HOLDOUT, overall)
    skipped = [k for k, v in per_slice.items() if v["skipped"]]
    log.info(
        f"evaluate: holdout ROC AUC {overall['roc_auc']:.4f} "
        f"[{overall['roc_auc_ci_low']:.4f}, {overall['roc_auc_ci_high']:.4f}] on "
        f"{overall['n']:,} rows; {len(per_slice) - len(skipped)} slices evaluated"
        + (f", skipped: {', '.join(skipped)}" if skipped else "")
    )


if __name__ == "__main__":
    run(main)
