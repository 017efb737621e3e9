"""Benchmark (issue 18): the whole pipeline at 1e7-1e8+ rows, local engine vs Spark, per stage.

For each engine it makes a scratch repo (git init + dvc init, a copy of the files this checkout
tracks, minus pipeline outputs), hard-links a synthetic table written by big_data.py into it
(``data.source`` must lie inside the repo), sets ``compute.engine`` (and, for Spark,
``compute.spark.master``/``conf``), wraps every stage command in proctree.py and runs one real
``dvc repro`` (PATH holding the venv's bin). proctree.py gives each stage's wall time and the
peak RSS of its Python driver, of the Spark JVM and of pyspark's Python workers, sampled from
/proc every 0.2 s. No champion exists in a scratch repo, so `drift` and `gate` run their
first-model paths.

Robustness: a stage that fails stops ``dvc repro``; the failed stage (exit status, the last
error line) and the stages that never ran are recorded and the report is still written. The
whole run of one engine is bounded by ``--timeout-min`` and the process tree's total RSS by
``--max-rss-gib`` (the harness kills ``dvc repro``'s process group rather than let the kernel's
OOM killer pick a victim on a shared machine): both are recorded as the failure point. Results
per engine are saved to WORKDIR/results-<rows>.json as soon as that engine finishes, so an
interrupted run keeps what it measured (``--reuse`` takes them instead of rerunning). The
report shows every engine saved there at this size, each with its date, so the engines can be
measured by separate invocations (e.g. Spark at 1e8 first, the local attempt after).

With ``--champion``, a successful run is committed and named the champion
(``gate.champion.ref``), and a second ``dvc repro`` measures the stages that then rerun on
their champion paths: the gate scoring both models on the holdout, drift against the champion's
training data.

Run: .venv/bin/python benchmarks/spark_scale.py --rows 1e7 [--engines local,spark] [--champion]
       [--workdir /tmp/mlgate-spark-scale] [--timeout-min 60] [--master local[2]]
       [--spark-conf spark.driver.memory=4g ...] [--local-source auto|dir|file] [--reuse]
Writes the section spark_scale_<rows> of benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO_ROOT))

import big_data  # noqa: E402
import proctree  # noqa: E402
from record import record  # noqa: E402
from scale_report import report  # noqa: E402

from tests.e2e.conftest import DVC_FILES, VENV_BIN, PipelineRepo, _env  # noqa: E402

# Pipeline outputs and lock files the checkout may track: a scratch repo starts without them.
NOT_COPIED = re.compile(r"^(dvc\.lock|champion/dvc\.lock|metrics/|plots/|report\.md$|data/)")
DATA_LINK = "bigdata"  # folder inside the scratch repo holding the (hard-linked) table


# --------------------------------------------------------------------------- the input table


def local_reads_directories() -> bool:
    """Whether this checkout's local-engine reader accepts a Parquet dataset directory."""
    from mlgate.data.ingest import read_table
    from mlgate.errors import DataError

    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"mlgate-probe-{os.getpid()}.parquet"
    try:
        big_data.make(10, probe, layout="dir")
        read_table(probe)
        return True
    except (DataError, OSError, ValueError):
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def input_table(workdir: Path, rows: int, seed: int, layout: str) -> tuple[Path, dict]:
    # A dataset directory named *.parquet, as Spark names its own: a reader that goes by the
    # suffix and one that checks for a directory both recognise it.
    name = f"rows-{rows}" + (".parquet" if layout == "dir" else "-file.parquet")
    out = workdir / "data" / name
    return out, big_data.make(rows, out, seed=seed, layout=layout)


def link_into(source: Path, repo: Path) -> str:
    """Hard-link the table (file or directory) into the repo; return its repo-relative path."""
    target = repo / DATA_LINK / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(source.glob("*.parquet")) if source.is_dir() else [source]
    if source.is_dir():
        target.mkdir()
    for f in files:
        dest = target / f.name if source.is_dir() else target
        try:
            os.link(f, dest)
        except OSError:  # another file system: copy (costs the table's size in disk)
            shutil.copy2(f, dest)
    return f"{DATA_LINK}/{source.name}"


# --------------------------------------------------------------------------- scratch repos


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [f for f in out.splitlines() if f and not NOT_COPIED.match(f)]


def scratch_repo(dest: Path, params: dict[str, Any], table: Path, times: Path) -> PipelineRepo:
    """A committed git + DVC repo with this checkout's pipeline, the table and ``params``."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    repo = PipelineRepo(dest, _env(dest))
    repo.git("init", "--quiet", "--initial-branch=main")
    repo.dvc("init", "--quiet")  # then the checkout's .dvc/config, if tracked, replaces its own
    for name in tracked_files():
        if (REPO_ROOT / name).is_file():  # a deleted-but-tracked file is skipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, dest / name)
    with (dest / ".gitignore").open("a") as f:
        f.write(f"\n/{DATA_LINK}/\n")
    source = link_into(table, dest)
    repo.set_params({**params, "data.source": source})
    wrap_stages(dest, times)
    repo.commit("spark_scale scratch repo")
    return repo


def wrap_stages(root: Path, times: Path) -> None:
    """Run every stage under proctree.py, which writes ``times/<stage>.json``."""
    times.mkdir(parents=True, exist_ok=True)
    for dvc_file in DVC_FILES:
        path = root / dvc_file
        if not path.exists():
            continue
        pipeline = yaml.safe_load(path.read_text())
        for name, stage in pipeline["stages"].items():
            stage["cmd"] = (
                f"{VENV_BIN / 'python'} {HERE / 'proctree.py'} "
                f"--out {times / (name + '.json')} -- {stage['cmd']}"
            )
        path.write_text(yaml.safe_dump(pipeline, sort_keys=False))


def stage_order(root: Path) -> list[str]:
    names: list[str] = []
    for dvc_file in DVC_FILES:
        if (root / dvc_file).exists():
            names += list(yaml.safe_load((root / dvc_file).read_text())["stages"])
    return names


# --------------------------------------------------------------------------- one run


class Guard(threading.Thread):
    """Kill ``dvc repro``'s process group past the deadline or the RSS limit; note why."""

    def __init__(self, proc: subprocess.Popen, deadline: float, max_rss_kib: int) -> None:
        super().__init__(daemon=True)
        self.proc, self.deadline, self.max_rss_kib = proc, deadline, max_rss_kib
        self.reason: str | None = None
        self.peak_tree_kib = 0

    def run(self) -> None:
        while self.proc.poll() is None:
            tree = proctree.sample(self.proc.pid)["tree"]
            self.peak_tree_kib = max(self.peak_tree_kib, tree)
            if tree > self.max_rss_kib:
                self.stop(f"memory: process tree at {tree / 2**20:.1f} GiB RSS > limit")
            elif time.time() > self.deadline:
                self.stop("time budget (--timeout-min) spent")
            time.sleep(0.5)

    def stop(self, reason: str) -> None:
        self.reason = self.reason or reason
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=15)
                return
            except subprocess.TimeoutExpired:
                continue


def repro(repo: PipelineRepo, log: Path, budget_s: float, max_rss_gib: float) -> dict[str, Any]:
    """One ``dvc repro``; wall time, exit status, why it was stopped (if it was)."""
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(VENV_BIN / "dvc"), "repro"],
            cwd=repo.path,
            env=repo.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the guard kills all of it
        )
        guard = Guard(proc, time.time() + budget_s, int(max_rss_gib * 2**20))
        guard.start()
        rc = proc.wait()
        guard.join(timeout=30)
    return {
        "wall_s": round(time.perf_counter() - start, 1),
        "rc": rc,
        "stopped": guard.reason,
        "peak_tree_mib": round(guard.peak_tree_kib / 1024),
    }


def error_line(log: Path, stage: str) -> str:
    """The most telling line of ``stage``'s part of the log (not DVC's own summary line)."""
    text = log.read_text(errors="replace")
    start = text.rfind(f"Running stage '{stage}'")
    lines = [line.strip() for line in text[max(start, 0) :].splitlines()]
    lines = [line for line in lines if line and not line.startswith("ERROR: failed to reproduce")]
    for pattern in ("OutOfMemoryError", "MemoryError", "error:", "Error", "ERROR", "Killed"):
        hits = [line for line in lines if pattern in line]
        if hits:
            return hits[-1][:300]
    return (lines[-1] if lines else "")[:300]


def stage_results(root: Path, times: Path, outcome: dict[str, Any], log: Path) -> dict:
    stages: dict[str, dict[str, Any]] = {}
    for name in stage_order(root):
        path = times / f"{name}.json"
        if not path.exists():
            stages[name] = {"status": "not run"}
            continue
        m = json.loads(path.read_text())
        if m["running"]:
            m["status"] = f"stopped: {outcome['stopped'] or 'killed'}"
        elif m["rc"] == 0:
            m["status"] = "ok"
        elif m["rc"] == -9:
            m["status"] = f"killed (SIGKILL: {outcome['stopped'] or 'OOM killer?'})"
        else:
            m["status"] = f"failed (exit {m['rc']}): {error_line(log, name)}"
        stages[name] = m
    return stages


def run_engine(args: argparse.Namespace, engine: str, table: Path) -> dict[str, Any]:
    base = args.workdir / f"{engine}-{args.rows}"
    params: dict[str, Any] = {"compute.engine": engine}
    if engine == "spark":
        params["compute.spark.master"] = args.master
        params["compute.spark.conf"] = dict(kv.split("=", 1) for kv in args.spark_conf)
    times, log = base / "times", base / "dvc-repro.log"
    if times.exists():
        shutil.rmtree(times)
    repo = scratch_repo(base / "repo", params, table, times)
    print(f"spark_scale: {engine}, {args.rows:,} rows: dvc repro in {repo.path}", flush=True)
    load_start = os.getloadavg()[0]
    outcome = repro(repo, log, args.timeout_min * 60, args.max_rss_gib)
    outcome["load_1min"] = [round(load_start, 1), round(os.getloadavg()[0], 1)]
    stages = stage_results(repo.path, times, outcome, log)
    champion_run = None
    if args.champion and outcome["rc"] == 0:
        champion_run = with_champion(args, repo, times, base / "dvc-repro-champion.log")
    result = {
        "engine": engine,
        "rows": args.rows,
        "source": str(table),
        "params": params,
        "repro": outcome,
        "stages": stages,
        "log": str(log),
        "champion_run": champion_run,
        "disk_mib": round(disk_use(repo.path) / 2**20),
        "ran_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(f"spark_scale: {engine}: {summary_line(result)}", flush=True)
    if not args.keep:
        shutil.rmtree(repo.path, ignore_errors=True)
    return result


def with_champion(
    args: argparse.Namespace, repo: PipelineRepo, times: Path, log: Path
) -> dict[str, Any]:
    """Commit the first run as the champion (``gate.champion.ref``) and reproduce again: the
    champion stage, drift and the gate rerun on their champion paths (the gate scores both
    models on the holdout, drift compares with the champion's training data)."""
    sha = repo.commit("spark_scale: the first run's model, champion of the second run")
    for path in times.glob("*.json"):
        path.unlink()
    repo.set_params({"gate.champion.ref": sha})
    print(f"spark_scale: dvc repro with champion {sha[:10]}", flush=True)
    outcome = repro(repo, log, args.timeout_min * 60, args.max_rss_gib)
    stages = stage_results(repo.path, times, outcome, log)
    ran = {name: m for name, m in stages.items() if m["status"] != "not run"}
    print(f"spark_scale: with champion: dvc repro exit {outcome['rc']} in {outcome['wall_s']} s")
    return {"repro": outcome, "stages": ran, "log": str(log)}


def disk_use(root: Path) -> int:
    """Bytes under ``root``, each hard-linked file counted once (the table is shared)."""
    seen, total = set(), 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            try:
                st = os.lstat(os.path.join(dirpath, f))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def summary_line(result: dict[str, Any]) -> str:
    r = result["repro"]
    failed = [f"{n}: {s['status']}" for n, s in result["stages"].items() if s["status"] != "ok"]
    first = next((f for f in failed if "not run" not in f), None)
    stopped = f" (stopped: {r['stopped']})" if r["stopped"] else ""
    head = f"dvc repro exit {r['rc']} in {r['wall_s']} s{stopped}"
    return head + (f"; {first}" if first else "")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=lambda s: int(float(s)), required=True)
    parser.add_argument("--engines", default="local,spark")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mlgate-spark-scale"))
    parser.add_argument("--timeout-min", type=float, default=60.0, help="per engine")
    parser.add_argument("--max-rss-gib", type=float, default=20.0, help="process tree limit")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--local-source", choices=("auto", "dir", "file"), default="auto")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the scratch repos")
    parser.add_argument(
        "--champion",
        action="store_true",
        help="then commit the model as champion and reproduce again (gate and drift paths)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="take requested engines already saved, not rerun"
    )
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(args.engines) - {"local", "spark"}
    if unknown or not args.engines:
        parser.error(f"--engines: expected local and/or spark, got {args.engines}")
    if any("=" not in kv for kv in args.spark_conf):
        parser.error("--spark-conf: expected KEY=VALUE")
    args.workdir = args.workdir.resolve()
    return args


def layout_for(engine: str, choice: str) -> str:
    if engine == "spark" or choice != "auto":
        return "dir" if engine == "spark" else choice
    return "dir" if local_reads_directories() else "file"


# Measured at 1e7 rows (local engine): the scratch repo (intermediates, DVC's cache copies,
# metrics) took 31 B/row beyond the 7.5 B/row table; doubled for Spark's shuffle spill.
SCRATCH_BYTES_PER_ROW = 60
TABLE_BYTES_PER_ROW = 7.5
DISK_RESERVE = 5 * 2**30  # left free for the others sharing the machine


def check_disk(args: argparse.Namespace) -> None:
    """Refuse to start when the estimated need would leave less than the reserve free."""
    layouts = {layout_for(e, args.local_source) for e in args.engines}
    # One scratch repo at a time (each is deleted after its engine unless --keep).
    repos = len(args.engines) if args.keep else 1
    need = args.rows * (TABLE_BYTES_PER_ROW * len(layouts) + SCRATCH_BYTES_PER_ROW * repos)
    free = shutil.disk_usage(args.workdir).free
    print(f"spark_scale: disk estimate {need / 2**30:.1f} GiB, free {free / 2**30:.1f} GiB")
    if need > free - DISK_RESERVE:
        sys.exit(
            f"spark_scale: {args.workdir} has {free / 2**30:.1f} GiB free; this run needs about "
            f"{need / 2**30:.1f} GiB plus {DISK_RESERVE / 2**30:.0f} GiB kept free"
        )


def harness_failure(args: argparse.Namespace, engine: str, exc: Exception) -> dict[str, Any]:
    print(f"spark_scale: {engine}: harness error: {exc}", flush=True)
    return {
        "engine": engine,
        "rows": args.rows,
        "params": {},
        "repro": {"wall_s": 0, "rc": None, "stopped": f"harness error: {exc}"[:300]},
        "stages": {},
        "disk_mib": 0,
        "ran_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    check_disk(args)
    saved_path = args.workdir / f"results-{args.rows}.json"
    # Engines measured earlier at this size (another invocation) stay in the report, with
    # their date: the 1e8 Spark run and the local attempt can then be run one at a time.
    saved = json.loads(saved_path.read_text()) if saved_path.exists() else {}
    tables: dict[str, dict] = {}
    for engine in args.engines:
        layout = layout_for(engine, args.local_source)
        table, info = input_table(args.workdir, args.rows, args.seed, layout)
        tables[layout] = info
        if engine in saved and args.reuse:
            print(f"spark_scale: {engine}: reusing {saved_path}")
            continue
        try:
            saved[engine] = run_engine(args, engine, table)
        except (OSError, subprocess.CalledProcessError, ValueError) as exc:
            # The harness itself failed (disk full, git): keep the other engine's figures.
            saved[engine] = harness_failure(args, engine, exc)
        saved[engine]["layout"] = layout
        saved_path.write_text(json.dumps(saved, indent=1))
    results = [saved[e] for e in ("local", "spark") if e in saved]
    record(f"spark_scale_{args.rows}", report(results, tables, args))


if __name__ == "__main__":
    main()
