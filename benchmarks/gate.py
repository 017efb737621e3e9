"""Benchmark: the gate and drift stages with a real champion, at 1e5 to 1e7 rows.

Per size: a reproduced scratch repo (pipeline.built_repo) is committed and its model made the
GTO ``prod`` champion; a candidate is then trained with other hyperparameters (``max_iter``
100 instead of 150) and ``dvc repro`` brings every stage up to date. The holdout is the
champion's, so the gate takes the champion's committed holdout predictions (md5-verified
against its dvc.lock); it is then timed again with ``gate.champion.reuse_scores: false``,
which re-scores the champion model (read from the DVC cache at the champion's commit,
integrity-checked) on the holdout, as it must whenever the holdout changed. Both run the
paired DeLong test overall and per slice; the drift stage reads the champion's training data
from the DVC cache for PSI. ``python stages/gate.py`` and ``python stages/drift.py`` are
timed as DVC runs them (/usr/bin/time: wall, CPU, peak RSS), and once more in a worker that
runs the same stage file with its library calls wrapped in timers, to say where the time
goes. 3,334,000 rows gives the 1e6-row holdout of the target: the whole gate stage in < 5 s.

Drift baseline (same run): benchmarks/drift.py's own worker, ``drift_report`` on its 7
synthetic columns with N rows on each side.

Run: .venv/bin/python benchmarks/gate.py [--sizes 100000 1000000 3334000 10000000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import gto.api

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

TARGET_HOLDOUT_ROWS, TARGET_SECONDS = 1_000_000, 5.0

# Runs a stage file as __main__ with chosen callables wrapped in timers; prints the totals.
PHASES = r"""
import importlib, json, runpy, sys, time

start = time.perf_counter()
timings = {}


def timed(label, func):
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            timings[label] = timings.get(label, 0.0) + time.perf_counter() - t
    return wrapper


module = runpy.run_path(sys.argv[1], run_name="phases")  # imports only; main() not called
timings["start-up and imports"] = time.perf_counter() - start
g = module["main"].__globals__
import pandas as pd
from mlgate.champion import RevisionReader
pd.read_parquet = timed("read Parquet (workspace and champion)", pd.read_parquet)
RevisionReader.__init__ = timed("open champion revision (DVCFileSystem)", RevisionReader.__init__)
RevisionReader.read_bytes = timed("read champion files from DVC cache", RevisionReader.read_bytes)
for name, label in json.loads(sys.argv[2]).items():
    # "module:function" times a library function the stage calls through that module.
    mod, _, attr = name.rpartition(":")
    target = vars(importlib.import_module(mod)) if mod else g
    target[attr] = timed(label, target[attr])
try:
    g["main"]()
except SystemExit:
    pass
timings["total"] = time.perf_counter() - start
print(json.dumps(timings))
"""

GATE_PHASES = {
    "stale_paths": "freshness check (dvc.lock)",
    "_candidate_scores": "candidate scores (read + check)",
    "committed_scores": "champion's committed scores (verify md5s + read)",
    "_load_champion_model": "champion model: copy out + integrity check + unpickle",
    "predict_scores": "champion re-scoring (predict_proba)",
    "compare": "paired DeLong overall + slices, metrics",
    "decide": "rules",
    "write_json": "write gate.json",
}
DRIFT_PHASES = {
    "read_json": "read champion record",
    "mlgate.drift.reference:as_drift_frame": "prepare columns",
    "mlgate.drift.reference:drift_report": "drift_report (PSI + distances)",
    "write_json": "write drift.json",
}


def phases(repo, stage: str, wrap: dict[str, str], env: dict[str, str]) -> dict[str, float]:
    m = measure([PYTHON, "-c", PHASES, f"stages/{stage}.py", json.dumps(wrap)], repo.path, env)
    return json.loads(m.stdout.strip().splitlines()[-1])


def drift_baseline(rows: int) -> dict | None:
    """benchmarks/drift.py's worker at ``rows`` per side, or None if that script is absent."""
    here = Path(__file__).resolve().parent
    if not (here / "drift.py").exists():
        return None
    import drift as drift_bench  # benchmarks/drift.py

    ref, cur = drift_bench.write_data(rows)
    try:
        return drift_bench.run_worker(sys.executable, "mlgate", ref, cur, repeat=3)
    finally:
        ref.unlink(missing_ok=True)
        cur.unlink(missing_ok=True)


def bench_size(rows: int) -> dict:
    repo, reused = built_repo(rows, WORK / f"gate-{rows}")
    env = env_for(repo, warm=True)
    measure([DVC, "repro"], repo.path, env)  # a no-op unless the code changed since the build
    champion = repo.commit("champion")
    gto.api.register(str(repo.path), "churn-model", champion)
    gto.api.assign(str(repo.path), "churn-model", "prod", ref=champion)
    repo.set_params({"train.hyperparams.hist_gradient_boosting.max_iter": 100})
    candidate = measure([DVC, "repro"], repo.path, env)
    gate = repo.metrics("gate")
    if not (gate.get("champion") or {}).get("commit") == champion:
        raise SystemExit(f"the gate did not compare with the champion: {gate.get('summary')}")
    n = 3 if rows <= 3_334_000 else 1
    gates = [measure([PYTHON, "stages/gate.py"], repo.path, env) for _ in range(n)]
    reuse_phases = phases(repo, "gate", GATE_PHASES, env)
    repo.set_params({"gate.champion.reuse_scores": False})
    rescored = [measure([PYTHON, "stages/gate.py"], repo.path, env) for _ in range(n)]
    rescore_phases = phases(repo, "gate", GATE_PHASES, env)
    if repo.metrics("gate")["comparison"]["champion_scores"] != (
        "re-scored (gate.champion.reuse_scores: false)"
    ):
        raise SystemExit("the re-scoring run did not re-score the champion")
    drifts = [measure([PYTHON, "stages/drift.py"], repo.path, env) for _ in range(n)]
    floor = median_measure(
        [
            measure(
                [PYTHON, "-c", "import runpy; runpy.run_path('stages/gate.py')"], repo.path, env
            )
            for _ in range(n)
        ]
    )
    result = {
        "rows": rows,
        "n_holdout": repo.metrics("split")["n_holdout"],
        "n_train": repo.metrics("split")["n_train"],
        "gate": median_measure(gates),
        "gate_rescored": median_measure(rescored),
        "drift": median_measure(drifts),
        "imports_floor": floor,
        "gate_phases": reuse_phases,
        "gate_rescore_phases": rescore_phases,
        "drift_phases": phases(repo, "drift", DRIFT_PHASES, env),
        "candidate_repro_seconds": candidate.wall,
        "decision": gate["decision"],
        "paired_delta": gate.get("auc_delta"),
        "drift_max_psi": repo.metrics("drift").get("max_psi"),
        "baseline": drift_baseline(rows),
        "reused_build": reused,
        "repeats": n,
    }
    shutil.rmtree(repo.path, ignore_errors=True)
    print(json.dumps(result, default=lambda m: m.__dict__)[:600], flush=True)
    return result


def _m(m: Measure) -> str:
    return f"{m.wall:.2f} / {m.cpu:.2f} / {m.peak_mib:,.0f}"


def _phase_cells(timings: dict[str, float], labels: list[str]) -> str:
    return " | ".join(f"{timings.get(label, 0.0):.2f}" for label in labels)


def report(results: list[dict], load_start: str) -> str:
    gate_labels = [
        "start-up and imports",
        "read Parquet (workspace and champion)",
        *GATE_PHASES.values(),
    ]
    gate_labels.insert(2, "open champion revision (DVCFileSystem)")
    gate_labels.insert(3, "read champion files from DVC cache")

    def target(r: dict, m: Measure) -> str:
        if abs(r["n_holdout"] - TARGET_HOLDOUT_ROWS) / TARGET_HOLDOUT_ROWS >= 0.02:
            return ""
        ok, ok_cpu = m.wall < TARGET_SECONDS, m.cpu < TARGET_SECONDS
        return (
            f" (target < {TARGET_SECONDS:.0f} s: wall {'yes' if ok else '**no**'}, "
            f"CPU {'yes' if ok_cpu else '**no**'})"
        )

    gate_rows = [
        f"| {r['rows']:,} | {r['n_holdout']:,} | {_m(r['gate'])}{target(r, r['gate'])} "
        f"| {_m(r['gate_rescored'])}{target(r, r['gate_rescored'])} "
        f"| {_m(r['imports_floor'])} | {r['gate'].wall / r['imports_floor'].wall:.1f}x / "
        f"{r['gate_rescored'].wall / r['imports_floor'].wall:.1f}x | {r['decision']} |"
        for r in results
    ]
    phase_rows = [
        f"| {r['n_holdout']:,} | {path} | {_phase_cells(r[key], gate_labels)} "
        f"| {r[key].get('total', float('nan')):.2f} |"
        for r in results
        for path, key in (("reused", "gate_phases"), ("re-scored", "gate_rescore_phases"))
    ]
    drift_labels = [
        "start-up and imports",
        "read Parquet (workspace and champion)",
        "open champion revision (DVCFileSystem)",
        "read champion files from DVC cache",
        *DRIFT_PHASES.values(),
    ]
    drift_rows = []
    for r in results:
        p = r["drift_phases"]
        base = r["baseline"]
        base_cell = "n/a"
        ratio = "n/a"
        if base:
            base_cell = f"{base['seconds']:.3f} / {base['cpu_seconds']:.3f}"
            psi = p.get("drift_report (PSI + distances)", float("nan"))
            ratio = f"{psi / base['seconds']:.1f}x"
        drift_rows.append(
            f"| {r['rows']:,} | {r['n_train']:,} | {_m(r['drift'])} "
            f"| {_phase_cells(p, drift_labels)} | {base_cell} | {ratio} |"
        )
    return "\n".join(
        [
            "## gate: gate and drift stages against a real champion",
            "",
            machine_line(("numpy", "pandas", "scikit-learn", "scipy", "dvc", "gto")),
            "",
            f"Load average (1, 5, 15 min) at start {load_start}, at end {load_average()} on "
            "2 cores shared with other jobs: wall times are inflated; CPU (user + sys) is "
            "steadier. Stage figures: `python stages/<stage>.py` in the scratch repo, bytecode "
            "cache warm, wall (s) / CPU (s) / peak RSS (MiB), median of 3 up to 3,334,000 rows, "
            "one run at 1e7. The champion is a GTO `prod` tag on the first run's commit; the "
            "candidate is the same data with `max_iter` 100. *imports floor* = a process "
            "that only imports what stages/gate.py imports.",
            "",
            "| rows | holdout rows | gate stage, champion's committed scores reused | "
            "gate stage, champion re-scored | imports floor | gate / floor (reused / "
            "re-scored) | decision |",
            "|---:|---:|---:|---:|---:|---:|---|",
            *gate_rows,
            "",
            "Where the gate stage's time goes (seconds, one run with the stage's calls wrapped "
            "in timers; phases nest: re-scoring is inside neither the model load nor compare, "
            "Parquet reads include the champion's bytes only when read through pandas):",
            "",
            "| holdout rows | champion scores | " + " | ".join(gate_labels) + " | total |",
            "|---:|---|" + "---:|" * (len(gate_labels) + 1),
            *phase_rows,
            "",
            "Drift stage (champion's training data vs the candidate's, 10 features), its "
            "phases (s), and benchmarks/drift.py's `drift_report` worker on 7 synthetic columns "
            "with `rows` rows per side (median of 3, wall / CPU), same run:",
            "",
            "| rows | train rows per side | drift stage | "
            + " | ".join(drift_labels)
            + " | drift.py baseline | ours / baseline (drift_report) |",
            "|---:|---:|---:|" + "---:|" * len(drift_labels) + "---:|---:|",
            *drift_rows,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 3_334_000, 10_000_000]
    )
    args = parser.parse_args()
    load_start = load_average()
    results = [bench_size(rows) for rows in args.sizes]
    (WORK / "gate-results.json").write_text(
        json.dumps(results, default=lambda m: m.__dict__, indent=1)
    )
    record("gate", report(results, load_start))


if __name__ == "__main__":
    main()
