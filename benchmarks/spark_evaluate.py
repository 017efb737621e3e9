"""Benchmark: evaluate's and the gate's holdout work, local engine vs Spark, in one process.

A synthetic holdout of N rows (mlgate.data.generate) is written as one Parquet file; a
HistGradientBoosting model (the shipped hyperparameters) is fitted on 50,000 other rows, a
logistic regression plays the champion. Timed once each, same process, after a warm-up
session start (timed apart): *local evaluate* = read + predict_scores + holdout_metrics +
slice_metrics + curves; *spark evaluate* = mlgate.spark.evaluate.evaluate (read, score, write
the predictions dataset, counts, metrics, curves); *local compare* = read + score both +
mlgate.gate.compare.compare; *spark compare* = mlgate.spark.gate.compare_on_spark. The
metrics of both engines are checked equal.

Run: .venv/bin/python benchmarks/spark_evaluate.py [--rows 1000000] [--master local[2]]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mlgate.data.generate import generate
from mlgate.evaluation import curves, holdout_metrics, slice_metrics
from mlgate.features import FeatureSpec
from mlgate.gate.compare import compare
from mlgate.model import build_pipeline
from mlgate.params import ComputeParams, SparkParams, load_params
from mlgate.scoring import predict_scores
from mlgate.slices import parse_slices

PARAMS = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
OPTIONS = {"threshold": 0.5, "confidence": 0.95, "calibration_bins": 10}


def _model(train: pd.DataFrame, estimator: str) -> object:
    spec = FeatureSpec(**dataclasses.asdict(PARAMS.features))
    hyper = PARAMS.train.hyperparams.get(estimator, {})
    pipe = build_pipeline(spec, estimator=estimator, hyperparams=hyper, seed=0)
    return pipe.fit(train[list(spec.columns)], train[PARAMS.data.target])


def _local_evaluate(path: str, model: object, slices: dict) -> tuple[dict, dict]:
    holdout = pd.read_parquet(path)
    y = holdout[PARAMS.data.target].to_numpy()
    scores = predict_scores(model, holdout)
    order = np.argsort(scores)
    overall = holdout_metrics(y, scores, **OPTIONS, order=order)
    per_slice = slice_metrics(holdout, y, scores, slices, min_samples=30, **OPTIONS, order=order)
    curves(y, scores, calibration_bins=10, threshold=0.5)
    return overall, per_slice


def _local_compare(path: str, a: object, b: object, slices: dict) -> object:
    holdout = pd.read_parquet(path)
    y = holdout[PARAMS.data.target].to_numpy()
    sa, sb = predict_scores(a, holdout), predict_scores(b, holdout)
    return compare(holdout, y, sa, sb, slices, min_samples=30, champion_scores="x", **OPTIONS)


def _timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds = time.perf_counter() - start
    print(f"{label:<16} {seconds:8.1f} s", flush=True)
    return out, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    from mlgate.spark.evaluate import evaluate
    from mlgate.spark.gate import compare_on_spark
    from mlgate.spark.session import spark_session

    gen = dataclasses.replace(PARAMS.generate, n_rows=args.rows + 50_000)
    frame = generate(gen)
    train, holdout = frame.iloc[:50_000], frame.iloc[50_000:]
    candidate = _model(train, "hist_gradient_boosting")
    champion = _model(train, "logistic_regression")
    slices = parse_slices(PARAMS.evaluate.slices, where="evaluate.slices")
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/holdout.parquet"
        holdout.to_parquet(path, index=False)
        print(f"{args.rows:,} holdout rows, {len(slices)} slices, master {args.master}")
        compute = ComputeParams(engine="spark", spark=SparkParams(master=args.master))
        spark, _ = _timed("session start", spark_session, compute, app="bench")
        (overall, per_slice), t_local = _timed(
            "local evaluate", _local_evaluate, path, candidate, slices
        )
        done, t_spark = _timed(
            "spark evaluate",
            evaluate,
            spark,
            candidate,
            slices,
            holdout=path,
            predictions=f"{tmp}/predictions.parquet",
            target=PARAMS.data.target,
            id_column=PARAMS.data.id_column,
            min_samples=30,
            options=OPTIONS,
        )
        assert done.overall == overall and done.slices == per_slice
        local_cmp, c_local = _timed(
            "local compare", _local_compare, path, candidate, champion, slices
        )
        spark_cmp, c_spark = _timed(
            "spark compare",
            compare_on_spark,
            spark,
            path,
            candidate,
            champion,
            slices,
            target=PARAMS.data.target,
            min_samples=30,
            champion_scores="x",
            **OPTIONS,
        )
        assert spark_cmp == local_cmp
        print(
            f"spark / local: evaluate {t_spark / t_local:.2f}x, compare {c_spark / c_local:.2f}x"
        )
        spark.stop()


if __name__ == "__main__":
    main()
