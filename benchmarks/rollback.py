"""How long does `mlgate rollback` take? (target: under 60 s; it is a couple of git tags)

A registry is built once per history size (N promotions, each a commit whose committed
gate.json says promote, promoted with mlgate's library). Each repetition copies it and runs
the real console script, `mlgate rollback`, in its own process, so the time includes Python
start-up and imports, i.e. what an on-call engineer waits for. Baseline, in the same run and
on the same copies: `git tag -a`, the least any git-tag registry write can cost. Median of 5.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import machine_line, record  # noqa: E402

from mlgate import registry  # noqa: E402

MLGATE = Path(sys.executable).parent / "mlgate"
REPEATS = 5
HISTORY_SIZES = (2, 20)
os.environ.update(
    {
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_run(root: Path, champion: str | None, i: int) -> str:
    gate = json.dumps(
        {
            "promote": True,
            "decision": "promote",
            "summary": "all checks passed",
            "champion": None if champion is None else {"commit": champion, "source": "gto"},
            "n_checks": 1,
            "n_failed": 0,
            "failed": [],
            "checks": [{"name": "holdout_auc_floor", "passed": True}],
        }
    ).encode()
    (root / "metrics").mkdir(exist_ok=True)
    (root / "metrics/gate.json").write_bytes(gate)
    (root / "metrics/holdout.json").write_text(json.dumps({"roc_auc": 0.85 + i / 1000}))
    md5 = hashlib.md5(gate, usedforsecurity=False).hexdigest()
    (root / "dvc.lock").write_text(
        yaml.safe_dump(
            {
                "schema": "2.0",
                "stages": {
                    "gate": {
                        "cmd": "python stages/gate.py",
                        "outs": [{"path": "metrics/gate.json", "md5": md5}],
                    }
                },
            }
        )
    )
    (root / "params.yaml").write_text("{}\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"run {i}")
    return git(root, "rev-parse", "HEAD")


def build_registry(root: Path, n_promotions: int) -> None:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    champion = None
    for i in range(n_promotions):
        sha = commit_run(root, champion, i)
        # No pipeline here to recompute the decision from: the tag mechanics are measured.
        registry.promote(root, artifact="churn-model", stage="prod", evidence=None)
        champion = sha


def median_of(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} (min {min(times):.2f}, max {max(times):.2f})"


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + sys of the child) and stdout of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stdout}{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def main() -> None:
    load_start = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mlgate-rollback-") as tmp:
        # This sandbox sets PYTHONDONTWRITEBYTECODE, so every process recompiles its imports;
        # a normal install caches bytecode. Measure both; the cache goes to a private prefix
        # so the shared venv is not touched.
        cold_env = dict(os.environ)
        warm_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        warm_env["PYTHONPYCACHEPREFIX"] = str(Path(tmp, "pycache"))
        subprocess.run([str(MLGATE), "--help"], env=warm_env, capture_output=True, check=True)
        for size in HISTORY_SIZES:
            template = Path(tmp, f"registry-{size}")
            build_registry(template, size)
            head = git(template, "rev-parse", "HEAD")
            expected = f"v0.0.{size} -> v0.0.{size - 1}"
            warm, cpu, inner, cold, baseline = [], [], [], [], []
            for rep in range(REPEATS):
                for env, walls in ((warm_env, warm), (cold_env, cold)):
                    copy = Path(tmp, f"copy-{size}-{rep}-{len(walls)}-{id(walls)}")
                    shutil.copytree(template, copy, symlinks=True)
                    wall, cpu_s, out = timed([str(MLGATE), "rollback"], copy, env)
                    if expected not in out:
                        raise SystemExit(f"unexpected rollback: {out}")
                    walls.append(wall)
                    if walls is warm:
                        cpu.append(cpu_s)
                        inner.append(float(re.search(r"in ([0-9.]+) s", out)[1]))
                wall, _, _ = timed(
                    ["git", "tag", "-a", "-m", "baseline", f"base-{rep}", head], copy, cold_env
                )
                baseline.append(wall)
            ratio = statistics.median(warm) / statistics.median(baseline)
            rows.append(
                f"| {size} | {median_of(warm)} | {statistics.median(cpu):.2f} | "
                f"{statistics.median(inner):.2f} | {median_of(cold)} | "
                f"{statistics.median(baseline):.3f} | {ratio:,.0f}x |"
            )
    load_end = os.getloadavg()
    body = "\n".join(
        [
            "## rollback",
            "",
            machine_line(("gto", "dvc", "rich")),
            "",
            f"Load average (1 min) at start {load_start[0]:.1f}, at end {load_end[0]:.1f} on "
            f"{os.cpu_count()} cores: other jobs shared the machine, so wall times are noisy; "
            "the CPU column is less so.",
            "",
            "`mlgate rollback` as its own process on a fresh copy of a registry with N promotions "
            "(each rollback assigns `prod` to version N-1 and unassigns version N: two annotated "
            f"git tags). Median of {REPEATS} (min, max), seconds. *Warm*: Python's bytecode cache "
            "in place, as on a normal install; *no bytecode cache*: this sandbox's default "
            "(PYTHONDONTWRITEBYTECODE), every import compiled again. *CPU* = user + sys of the "
            "warm process. *Inside* = what the command reports for the registry operation itself "
            "(GTO reads every tag a few times and writes two); the rest is start-up and imports. "
            "Baseline: one `git tag -a` on the same copy. Target: under 60 s.",
            "",
            "| promotions in history | rollback wall, warm (s) | CPU (s) | inside (s) "
            "| rollback wall, no bytecode cache (s) | `git tag -a` (s) | warm / git tag |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    record("rollback", body)


if __name__ == "__main__":
    main()
