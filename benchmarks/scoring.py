"""Benchmark: scoring many rows, mlgate's path against scikit-learn's, same frame, same run.

The model is the shipped one: params.yaml's features and HistGradientBoosting hyperparameters
(150 trees of at most 15 leaves), fitted on 200,000 rows of the project's synthetic generator.
A second model with ``max_leaf_nodes: 31`` exercises the 32-bit masks. Per size, on a frame
of generated rows (the columns a holdout has):

* sklearn: ``pipeline.predict_proba(frame)``, the baseline;
* mlgate:  ``mlgate.scoring.predict_proba(pipeline, frame)``, which the gate, evaluate and
  behavioral stages use: preprocessing without ColumnTransformer's machinery, large string
  columns factorized, the trees as QuickScorer tables (mlgate.scoring.trees);
* each also with one thread (threadpoolctl), since a shared CI runner may give one core.

Both must return the same float64 array (``array_equal``; the script stops otherwise). Times
are the best of 3 calls. Extra memory: tracemalloc's peak of the call (numpy reports its
buffers to it) over the frame already in memory.

Run: .venv/bin/python benchmarks/scoring.py [--sizes 100000 1000000 3000000]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import machine_line, record  # noqa: E402

from mlgate.data.generate import generate  # noqa: E402
from mlgate.features import FeatureSpec  # noqa: E402
from mlgate.model import build_pipeline  # noqa: E402
from mlgate.params import load_params  # noqa: E402
from mlgate.scoring import predict_proba  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRAIN_ROWS = 200_000
REPEATS = 3


def rows(n: int, seed: int) -> pd.DataFrame:
    params = load_params(ROOT / "params.yaml")
    return generate(dataclasses.replace(params.generate, n_rows=n, seed=seed))


def fitted(max_leaf_nodes: int) -> tuple[object, FeatureSpec]:
    params = load_params(ROOT / "params.yaml")
    spec = FeatureSpec(**dataclasses.asdict(params.features))
    hyper = dict(params.train.hyperparams["hist_gradient_boosting"])
    hyper["max_leaf_nodes"] = max_leaf_nodes
    train = rows(TRAIN_ROWS, seed=1)
    pipeline = build_pipeline(
        spec, estimator="hist_gradient_boosting", hyperparams=hyper, seed=params.train.seed
    )
    pipeline.fit(train[list(spec.columns)], train[params.data.target].to_numpy())
    return pipeline, spec


def best_time(call: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = call()
        best = min(best, time.perf_counter() - start)
    return best, out


def extra_mib(call: Callable[[], np.ndarray]) -> float:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def bench(pipeline, frame: pd.DataFrame) -> dict:
    sklearn_call = lambda: pipeline.predict_proba(frame)  # noqa: E731
    mlgate_call = lambda: predict_proba(pipeline, frame)  # noqa: E731
    out = {}
    for threads in (None, 1):
        with threadpool_limits(threads):
            t_sk, p_sk = best_time(sklearn_call)
            t_ml, p_ml = best_time(mlgate_call)
        if not np.array_equal(p_sk, p_ml):
            raise SystemExit(f"scores differ at {len(frame):,} rows ({threads} threads)")
        out[threads] = (t_sk, t_ml)
    out["mib"] = (extra_mib(sklearn_call), extra_mib(mlgate_call))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 3_000_000])
    args = parser.parse_args()
    lines = []
    for leaves in (15, 31):
        pipeline, spec = fitted(leaves)
        trees = len(pipeline.steps[-1][1]._predictors)
        for n in args.sizes:
            frame = rows(n, seed=2)[list(spec.columns)]
            r = bench(pipeline, frame)
            (sk, ml), (sk1, ml1), (m_sk, m_ml) = r[None], r[1], r["mib"]
            lines.append(
                f"| {leaves} | {trees} | {n:,} | {sk:.3f} | {ml:.3f} | **{sk / ml:.1f}x** | "
                f"{sk1:.3f} | {ml1:.3f} | {sk1 / ml1:.1f}x | {m_sk:,.0f} / {m_ml:,.0f} |"
            )
            print(lines[-1], flush=True)
    body = "\n".join(
        [
            "## scoring: mlgate's scoring path against scikit-learn's predict_proba",
            "",
            machine_line(("numpy", "pandas", "scikit-learn")),
            "",
            "The shipped pipeline (params.yaml features, HistGradientBoosting hyperparameters) "
            f"fitted on {TRAIN_ROWS:,} synthetic rows, and the same with `max_leaf_nodes: 31`; "
            "frames of generated rows. Seconds, best of 3; *ratio* = sklearn / mlgate in the "
            "same run. Scores are `array_equal` in every case (checked). Extra MiB: tracemalloc "
            "peak during the call, frame excluded.",
            "",
            "| max leaves | trees | rows | sklearn, all cores | mlgate, all cores | ratio | "
            "sklearn, 1 thread | mlgate, 1 thread | ratio | extra MiB sklearn / mlgate |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *lines,
        ]
    )
    record("scoring", body)


if __name__ == "__main__":
    main()
