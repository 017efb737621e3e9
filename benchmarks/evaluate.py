"""Benchmark: the train and evaluate stage scripts at 1e5, 1e6 and 1e7 rows, per estimator.

Each size uses a reproduced scratch repo (pipeline.built_repo: generated data, validated and
split by the pipeline itself). Then, for each estimator, ``python stages/train.py`` and
``python stages/evaluate.py`` run as DVC would run them, under /usr/bin/time (wall, CPU,
peak RSS). Training is capped at ``train.max_train_rows`` (2,000,000 by default): above it the
stage fits on a seeded sample, so at 1e7 rows (7e6 training rows) it fits on 2e6.

Baselines in the same run and process set-up: *read floor*, a process that imports what
train.py imports and reads data/train.parquet; *scoring floor*, a process that loads the
model (with its integrity check), reads the holdout and calls predict_scores, i.e. the least
any evaluation must do. evaluate / scoring floor is what the metrics, DeLong CIs, slices,
curves and PNGs add.

Run: .venv/bin/python benchmarks/evaluate.py [--sizes 100000 1000000 10000000]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline import (  # noqa: E402
    DVC,
    PYTHON,
    WORK,
    Measure,
    built_repo,
    env_for,
    load_average,
    measure,
    median_measure,
)
from record import machine_line, record  # noqa: E402

ESTIMATORS = ("logistic_regression", "hist_gradient_boosting")

READ_FLOOR = """
import pandas as pd
import mlgate.model, mlgate.features, mlgate.params
pd.read_parquet("data/train.parquet")
"""

SCORING_FLOOR = """
import pandas as pd
from mlgate.model import load_model
from mlgate.scoring import predict_scores
model, _ = load_model("models/model.joblib", "models/model.json")
predict_scores(model, pd.read_parquet("data/holdout.parquet"))
"""


def repeats_for(rows: int) -> int:
    return 3 if rows <= 100_000 else 1


def bench_size(rows: int) -> list[dict]:
    repo, reused = built_repo(rows, WORK / f"evaluate-{rows}")
    env = env_for(repo, warm=True)
    measure([DVC, "repro", "split"], repo.path, env)  # a no-op unless the code changed
    split = repo.metrics("split")
    n = repeats_for(rows)
    read_floor = median_measure(
        [measure([PYTHON, "-c", READ_FLOOR], repo.path, env) for _ in range(n)]
    )
    rows_out = []
    for estimator in ESTIMATORS:
        repo.set_params({"train.estimator": estimator})
        trains, fits, evals, floors = [], [], [], []
        for _ in range(n):
            train = measure([PYTHON, "stages/train.py"], repo.path, env)
            trains.append(train)
            fit = re.search(r"in ([0-9.]+) s", train.stdout + train.stderr)
            fits.append(float(fit[1]) if fit else float("nan"))
            evals.append(measure([PYTHON, "stages/evaluate.py"], repo.path, env))
            floors.append(measure([PYTHON, "-c", SCORING_FLOOR], repo.path, env))
        summary = repo.metrics("train")
        holdout = repo.metrics("holdout")
        rows_out.append(
            {
                "rows": rows,
                "estimator": estimator,
                "n_train": split["n_train"],
                "n_fit": summary["n_train"],
                "sampled": summary["sampled"],
                "n_holdout": split["n_holdout"],
                "train": median_measure(trains),
                "fit_seconds": statistics.median(fits),
                "evaluate": median_measure(evals),
                "scoring_floor": median_measure(floors),
                "read_floor": read_floor,
                "roc_auc": holdout["roc_auc"],
                "repeats": n,
                "reused_build": reused,
            }
        )
        print(_row(rows_out[-1]), flush=True)
    shutil.rmtree(repo.path, ignore_errors=True)
    return rows_out


def _m(m: Measure) -> str:
    return f"{m.wall:.1f} / {m.cpu:.1f} / {m.peak_mib:,.0f}"


def _row(r: dict) -> str:
    fit_rows = f"{r['n_fit']:,}" + (" (sample)" if r["sampled"] else "")
    return (
        f"| {r['rows']:,} | {r['estimator']} | {fit_rows} | {_m(r['train'])} "
        f"| {r['fit_seconds']:.1f} | {r['train'].wall / r['read_floor'].wall:.1f}x "
        f"| {r['n_holdout']:,} | {_m(r['evaluate'])} | {_m(r['scoring_floor'])} "
        f"| {r['evaluate'].wall / r['scoring_floor'].wall:.1f}x "
        f"/ {r['evaluate'].cpu / r['scoring_floor'].cpu:.1f}x | {r['roc_auc']:.4f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    args = parser.parse_args()
    load_start = load_average()
    results = []
    for rows in args.sizes:
        results += bench_size(rows)
    (WORK / "evaluate-results.json").write_text(
        json.dumps(results, default=lambda m: m.__dict__, indent=1)
    )
    read_floors = ", ".join(
        f"{r['rows']:,}: {_m(r['read_floor'])}" for r in results[:: len(ESTIMATORS)]
    )
    body = "\n".join(
        [
            "## evaluate: train and evaluate stages",
            "",
            machine_line(("numpy", "pandas", "scikit-learn", "scipy", "matplotlib")),
            "",
            f"Load average (1, 5, 15 min) at start {load_start}, at end {load_average()} on "
            "2 cores shared with other jobs: wall times are inflated; CPU (user + sys) is "
            "steadier. Each figure: `python stages/<stage>.py` in a reproduced scratch repo "
            "(bytecode cache warm), wall (s) / CPU (s) / peak RSS (MiB); median of 3 at 1e5 "
            "rows, one run above. *fit* = the seconds the stage reports for `pipeline.fit` "
            "alone. Training is capped at `train.max_train_rows` = 2,000,000: at 1e7 rows the "
            "stage fits on a seeded 2e6-row sample of the 7e6 training rows (it still reads "
            "and hashes them all). Both estimators fit on one thread (stages/train.py limits "
            "BLAS and OpenMP for the fit, so the model's bytes do not depend on the machine's "
            "core count); scoring keeps every core (2 here).",
            "",
            "Baselines, same run: *read floor* = a process importing what train.py imports "
            f"and reading data/train.parquet ({read_floors}); train / read floor compares wall "
            "times. *Scoring floor* = load the model with its integrity check, read the "
            "holdout, `predict_scores`: the least an evaluation does; evaluate / floor "
            "(wall / CPU) is what metrics with DeLong CIs, 7 slices, curves and 3 PNGs add.",
            "",
            "| rows | estimator | fit rows | train stage | fit (s) | train / read floor "
            "| holdout rows | evaluate stage | scoring floor | evaluate / floor | ROC AUC |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *(_row(r) for r in results),
        ]
    )
    record("evaluate", body)


if __name__ == "__main__":
    main()
