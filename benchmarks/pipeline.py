"""Benchmark: the whole pipeline, stage by stage, at 20,000 (default), 1e6 and 1e7 rows.

Each size runs ``dvc repro`` from scratch in its own scratch repo (the project's pipeline files
copied by tests/e2e/conftest.make_pipeline_repo, ``generate.n_rows`` set). The scratch copy of
dvc.yaml wraps every stage command in ``/usr/bin/time``, so one real ``dvc repro`` gives both
the end-to-end figure (with DVC's hashing and caching) and each stage's wall time, CPU time
and peak RSS. A no-op ``dvc repro`` of the reproduced pipeline is compared with a no-op
``dvc repro`` of a trivial three-stage pipeline (``cp a b`` stages) timed in the same run.

Python start-up is most of a small stage's time, and this sandbox sets
PYTHONDONTWRITEBYTECODE, so no process writes bytecode. *Warm* runs keep a bytecode cache for
everything (a private PYTHONPYCACHEPREFIX, primed by one untimed run); the default size is also
run *cold*, as this sandbox is: only what the venv ships precompiled (`make` installs with
--compile-bytecode) is not compiled again, mlgate's own modules are, in every process.

Targets: default size from scratch < 20 s; no-op < 2x the trivial no-op; 1e6 rows end to end
< 60 s; 1e7 rows end to end < 10 min and < 12 GiB peak RSS.

Run: .venv/bin/python benchmarks/pipeline.py [--sizes 20000 1000000 10000000] [--repeats 3]
The helpers here (scratch repos, measured commands) are shared by evaluate.py and gate.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO_ROOT))

from record import machine_line, record  # noqa: E402

from tests.e2e.conftest import (  # noqa: E402
    DVC_FILES,
    IGNORED,
    VENV_BIN,
    PipelineRepo,
    _env,
    make_pipeline_repo,
    pipeline_stages,
)

WORK = Path(os.environ.get("MLGATE_BENCH_DIR", "/tmp/mlgate-bench"))
PYCACHE = WORK / "pycache"
DVC = str(VENV_BIN / "dvc")
PYTHON = str(VENV_BIN / "python")
TIME = "/usr/bin/time"
DEFAULT_ROWS = 20_000
TARGETS = {DEFAULT_ROWS: 20.0, 1_000_000: 60.0, 10_000_000: 600.0}
PEAK_TARGET_MIB = 12 * 1024


# --------------------------------------------------------------------------- measuring


@dataclass
class Measure:
    wall: float
    cpu: float  # user + sys of the process and the children it waited for
    peak_mib: float  # largest resident set among them
    stdout: str = field(default="", repr=False)
    stderr: str = field(default="", repr=False)


def env_for(repo: PipelineRepo, *, warm: bool) -> dict[str, str]:
    """The repo's environment with (warm) or without (cold) a bytecode cache."""
    env = dict(repo.env)
    if warm:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def measure(cmd: list[str], cwd: Path, env: dict[str, str], *, check: bool = True) -> Measure:
    """Run ``cmd`` under /usr/bin/time; wall, CPU and peak RSS from the kernel's rusage."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        start = time.perf_counter()
        proc = subprocess.run(
            [TIME, "-o", out.name, "-f", "%e %U %S %M", *cmd],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        fields = out.read().split()
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {proc.returncode} in {cwd}:\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    _, user, system, peak_kib = (float(x) for x in fields[-4:])
    return Measure(wall, user + system, peak_kib / 1024, proc.stdout, proc.stderr)


def read_time_file(path: Path) -> Measure:
    elapsed, user, system, peak_kib = (float(x) for x in path.read_text().split()[-4:])
    return Measure(elapsed, user + system, peak_kib / 1024)


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- scratch repos


def scratch_repo(dest: Path, params: dict[str, Any]) -> PipelineRepo:
    """A fresh git + DVC repo with the project's pipeline and ``params`` applied, committed."""
    if dest.exists():
        shutil.rmtree(dest)
    return make_pipeline_repo(dest, params)


def stage_names(repo: PipelineRepo) -> list[str]:
    return list(pipeline_stages(repo.path))


def time_every_stage(repo: PipelineRepo, times_dir: Path) -> None:
    """Wrap each stage command in /usr/bin/time writing ``times_dir/<stage>.time``; commit."""
    times_dir.mkdir(parents=True, exist_ok=True)
    for dvc_file in DVC_FILES:
        path = repo.path / dvc_file
        pipeline = yaml.safe_load(path.read_text())
        for name, stage in pipeline["stages"].items():
            out = times_dir / f"{name}.time"
            stage["cmd"] = f"{TIME} -o {out} -f '%e %U %S %M' {stage['cmd']}"
        path.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    repo.commit("time every stage")


def stage_measures(repo: PipelineRepo, times_dir: Path) -> dict[str, Measure]:
    """The stages that ran since the files were last cleared, in pipeline order."""
    return {
        name: read_time_file(times_dir / f"{name}.time")
        for name in stage_names(repo)
        if (times_dir / f"{name}.time").exists()
    }


def clear(times_dir: Path) -> None:
    for f in times_dir.glob("*.time"):
        f.unlink()


def trivial_repo(dest: Path, env: dict[str, str]) -> Path:
    """Three chained ``cp`` stages: what a no-op ``dvc repro`` costs with nothing to check."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for cmd in (["git", "init", "-q", "-b", "main"], [DVC, "init", "-q"]):
        subprocess.run(cmd, cwd=dest, env=env, check=True, capture_output=True)
    (dest / "input.txt").write_text("baseline\n")
    stages = {}
    for name, src, out in (
        ("a", "input.txt", "a.txt"),
        ("b", "a.txt", "b.txt"),
        ("c", "b.txt", "c.txt"),
    ):
        stages[name] = {"cmd": f"cp {src} {out}", "deps": [src], "outs": [out]}
    (dest / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    subprocess.run([DVC, "repro", "-q"], cwd=dest, env=env, check=True, capture_output=True)
    return dest


def median_measure(runs: list[Measure]) -> Measure:
    return Measure(
        statistics.median(m.wall for m in runs),
        statistics.median(m.cpu for m in runs),
        max(m.peak_mib for m in runs),
    )


# --------------------------------------------------------------------------- the benchmark


@dataclass
class SizeResult:
    rows: int
    label: str
    e2e: Measure
    stages: dict[str, Measure]
    noop: Measure
    noop_stages: dict[str, Measure]
    status: Measure  # `dvc status` on the reproduced repo: DVC's checking cost alone
    repeats: int


def run_size(rows: int, *, warm: bool, repeats: int, label: str) -> SizeResult:
    times_dir = WORK / "times" / f"{label}-{rows}"
    base = scratch_repo(WORK / f"pipeline-{label}-{rows}", {"generate.n_rows": rows})
    time_every_stage(base, times_dir)
    e2e_runs, stage_runs = [], []
    repo = base
    for i in range(repeats):
        # A fresh copy per repeat, so each run is from scratch (empty cache, no outputs).
        repo = base.clone(WORK / f"pipeline-{label}-{rows}-run{i}") if repeats > 1 else base
        clear(times_dir)
        e2e_runs.append(measure([DVC, "repro"], repo.path, env_for(repo, warm=warm)))
        stage_runs.append(stage_measures(repo, times_dir))
        print(f"  {label} {rows:,} run {i + 1}: {e2e_runs[-1].wall:.1f} s", flush=True)
    stages = {name: median_measure([runs[name] for runs in stage_runs]) for name in stage_runs[0]}
    noops, noop_stages, statuses = [], [], []
    for _ in range(3):
        clear(times_dir)
        noops.append(measure([DVC, "repro"], repo.path, env_for(repo, warm=warm)))
        noop_stages.append(stage_measures(repo, times_dir))
        statuses.append(measure([DVC, "status"], repo.path, env_for(repo, warm=warm)))
    ran = {name for runs in noop_stages for name in runs}
    noop_stage = {n: median_measure([r[n] for r in noop_stages if n in r]) for n in ran}
    if warm:
        keep_build(repo, rows)
    for i in range(repeats):
        shutil.rmtree(WORK / f"pipeline-{label}-{rows}-run{i}", ignore_errors=True)
    shutil.rmtree(base.path, ignore_errors=True)
    result = SizeResult(
        rows,
        label,
        median_measure(e2e_runs),
        stages,
        median_measure(noops),
        noop_stage,
        median_measure(statuses),
        repeats,
    )
    save(result)
    return result


SAVED = WORK / "pipeline-results.json"


def save(result: SizeResult) -> None:
    """Keep each size's figures, so a long run that fails later loses nothing (--reuse)."""
    saved = json.loads(SAVED.read_text()) if SAVED.exists() else {}
    saved[f"{result.label}-{result.rows}"] = dataclasses.asdict(result)
    SAVED.write_text(json.dumps(saved, indent=1))


def load_saved(label: str, rows: int) -> SizeResult | None:
    saved = json.loads(SAVED.read_text()).get(f"{label}-{rows}") if SAVED.exists() else None
    if saved is None:
        return None

    def m(d: dict[str, Any]) -> Measure:
        return Measure(d["wall"], d["cpu"], d["peak_mib"])

    return SizeResult(
        saved["rows"],
        saved["label"],
        m(saved["e2e"]),
        {k: m(v) for k, v in saved["stages"].items()},
        m(saved["noop"]),
        {k: m(v) for k, v in saved["noop_stages"].items()},
        m(saved["status"]),
        saved["repeats"],
    )


# --------------------------------------------------------------------------- shared builds
# A reproduced repo per size is kept in WORK/built-<rows> for evaluate.py and gate.py, which
# need one but do not measure building it (at 1e7 rows that saves them minutes each). A copy
# gets the project's current code, and the caller's `dvc repro` reruns whatever that changed.


def keep_build(repo: PipelineRepo, rows: int) -> None:
    dest = WORK / f"built-{rows}"
    if dest.exists():
        shutil.rmtree(dest)
    repo.path.rename(dest)


def refresh_code(repo: PipelineRepo) -> None:
    """Copy the project's current pipeline files in, keeping the size and the timing wrapper."""
    old = yaml.safe_load((repo.path / "dvc.yaml").read_text())["stages"]
    wrapped = re.match(rf"^{TIME} -o (\S+)/[^/ ]+\.time ", next(iter(old.values()))["cmd"])
    rows = repo.read_params()["generate"]["n_rows"]
    for name in ("src", "stages", "contracts"):
        shutil.rmtree(repo.path / name)
        shutil.copytree(REPO_ROOT / name, repo.path / name, ignore=IGNORED)
    for name in (*DVC_FILES, "params.yaml"):  # a kept build may predate a new dvc.yaml file
        (repo.path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, repo.path / name)
    repo.set_params({"generate.n_rows": rows})
    if wrapped:
        time_every_stage(repo, Path(wrapped[1]))  # same commands, so DVC keeps the results
    else:
        repo.commit("current code")


def built_repo(rows: int, dest: Path, *, warm: bool = True) -> tuple[PipelineRepo, bool]:
    """A copy, in ``dest``, of a reproduced repo at ``rows`` with the project's current code.

    Returns (repo, reused). Without a kept build one is made (``dvc repro``) and kept. The
    copy's outputs may predate a code change: run ``dvc repro`` (up to the stage needed).
    """
    kept = WORK / f"built-{rows}"
    reused = kept.exists()
    if not reused:
        repo = scratch_repo(WORK / f"building-{rows}", {"generate.n_rows": rows})
        time_every_stage(repo, WORK / "times" / f"built-{rows}")
        measure([DVC, "repro"], repo.path, env_for(repo, warm=warm))
        keep_build(repo, rows)
    if dest.exists():
        shutil.rmtree(dest)
    # .dvc/tmp holds DVC's state and locks, rebuilt on demand (as PipelineRepo.clone skips it).
    shutil.copytree(
        kept, dest, symlinks=True, ignore=lambda d, _: {"tmp"} if d.endswith(".dvc") else set()
    )
    repo = PipelineRepo(dest, _env(dest))
    refresh_code(repo)
    return repo, reused


def prime_bytecode_cache() -> None:
    """One untimed warm run at a small size writes the bytecode cache the warm runs read."""
    repo = scratch_repo(WORK / "prime", {"generate.n_rows": 4_000})
    measure([DVC, "repro"], repo.path, env_for(repo, warm=True))
    shutil.rmtree(repo.path, ignore_errors=True)


def _venv_bytecode() -> str:
    import pandas

    compiled = (Path(pandas.__file__).parent / "__pycache__").is_dir()
    return (
        "the venv ships precompiled bytecode, so only mlgate's modules compile per process"
        if compiled
        else "the venv has no bytecode, so every process compiles pandas, scikit-learn..."
    )


def _fmt_stage(m: Measure | None) -> str:
    if m is None:
        return "-"
    return f"{m.wall:.1f} / {m.cpu:.1f} / {m.peak_mib:,.0f}"


def _verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def report(results: list[SizeResult], trivial: Measure, load_start: str, load_end: str) -> str:
    order: list[str] = []
    for r in results:
        order += [s for s in r.stages if s not in order]
    header = "| stage | " + " | ".join(f"{r.label} {r.rows:,}" for r in results) + " |"
    lines = [header, "|---|" + "---:|" * len(results)]
    for stage in order:
        lines.append(
            f"| {stage} | " + " | ".join(_fmt_stage(r.stages.get(stage)) for r in results) + " |"
        )
    lines.append(
        "| **all stages** (wall, CPU summed; peak the largest) | "
        + " | ".join(
            f"{sum(m.wall for m in r.stages.values()):.1f} / "
            f"{sum(m.cpu for m in r.stages.values()):.1f} / "
            f"{max(m.peak_mib for m in r.stages.values()):,.0f}"
            for r in results
        )
        + " |"
    )
    e2e = [
        "| run | rows | `dvc repro` wall (s) | CPU (s) | peak RSS MiB | DVC's own share (s) "
        "| target | wall within | CPU within |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        target = TARGETS.get(r.rows)
        dvc_share = r.e2e.wall - sum(m.wall for m in r.stages.values())
        peak = max([r.e2e.peak_mib, *(m.peak_mib for m in r.stages.values())])
        within_wall = within_cpu = "-"
        if target is not None:
            peak_ok = peak < PEAK_TARGET_MIB
            within_wall = _verdict(r.e2e.wall < target and peak_ok)
            within_cpu = _verdict(r.e2e.cpu < target and peak_ok)
        e2e.append(
            f"| {r.label} (median of {r.repeats}) | {r.rows:,} | {r.e2e.wall:.1f} | "
            f"{r.e2e.cpu:.1f} | {peak:,.0f} | {dvc_share:.1f} | "
            f"{'-' if target is None else f'< {target:.0f} s'} | {within_wall} | {within_cpu} |"
        )
    noop = [
        "| pipeline | rows | no-op `dvc repro` wall (s) | CPU (s) | stages it still ran "
        "| vs trivial (wall / CPU) | < 2x | `dvc status` wall / CPU (s) |",
        "|---|---:|---:|---:|---|---:|---|---:|",
        f"| trivial: 3 `cp` stages | - | {trivial.wall:.2f} | {trivial.cpu:.2f} | none "
        "| 1.0x | - | - |",
    ]
    for r in results:
        ran = ", ".join(f"{n} ({m.wall:.1f} s)" for n, m in r.noop_stages.items()) or "none"
        ratio_wall, ratio_cpu = r.noop.wall / trivial.wall, r.noop.cpu / trivial.cpu
        noop.append(
            f"| mlgate, {r.label} | {r.rows:,} | {r.noop.wall:.2f} | {r.noop.cpu:.2f} | {ran} "
            f"| {ratio_wall:.1f}x / {ratio_cpu:.1f}x | {_verdict(ratio_wall < 2)} "
            f"| {r.status.wall:.2f} / {r.status.cpu:.2f} |"
        )
    return "\n".join(
        [
            "## pipeline",
            "",
            machine_line(("numpy", "pandas", "scikit-learn", "pyarrow", "dvc")),
            "",
            f"Load average (1, 5, 15 min) at start {load_start}, at end {load_end} on "
            f"{os.cpu_count()} cores: other jobs shared the machine, so wall times are inflated; "
            "CPU time (user + sys, all threads) is the steadier figure and, for these mostly "
            "single-threaded stages, close to what the wall clock shows on an idle machine.",
            "",
            "`dvc repro` from scratch in a scratch repo per run; each stage wrapped in "
            "`/usr/bin/time` inside that same run. *warm*: bytecode cache for everything; "
            f"*cold*: PYTHONDONTWRITEBYTECODE as in this sandbox ({_venv_bytecode()}). "
            "No champion exists in these runs (a first run), so `drift` "
            "only records that and `gate` does not re-score a champion; see the gate section "
            "for those costs. Training is capped at `train.max_train_rows` (2,000,000 by "
            "default).",
            "",
            "Per stage: wall (s) / CPU (s) / peak RSS (MiB); median over the runs.",
            "",
            *lines,
            "",
            "End to end (target includes peak RSS < 12 GiB):",
            "",
            *e2e,
            "",
            "No-op `dvc repro` (median of 3, same repo right after the run above). The champion "
            "stage (in champion/dvc.yaml, with its own small lock file) is `always_changed` "
            "(the champion lives in git tags, which DVC cannot "
            "watch), so even a no-op runs it:",
            "",
            *noop,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3, help="runs at the default size")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold default-size run")
    parser.add_argument(
        "--reuse", action="store_true", help=f"take sizes already measured from {SAVED}"
    )
    args = parser.parse_args()
    load_start = load_average()
    WORK.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    prime_bytecode_cache()
    trivial_path = trivial_repo(WORK / "trivial", env)
    trivial = median_measure([measure([DVC, "repro"], trivial_path, env) for _ in range(5)])
    results = []
    for rows in args.sizes:
        repeats = args.repeats if rows <= DEFAULT_ROWS else 1
        runs = [("warm", repeats)]
        if rows == DEFAULT_ROWS and not args.no_cold:
            runs.append(("cold", 1))
        for label, n in runs:
            reused = load_saved(label, rows) if args.reuse else None
            results.append(reused or run_size(rows, warm=label == "warm", repeats=n, label=label))
    shutil.rmtree(trivial_path, ignore_errors=True)
    record("pipeline", report(results, trivial, load_start, load_average()))


if __name__ == "__main__":
    main()
