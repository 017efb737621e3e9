"""One reproduced pipeline shared by the bad-input and gate tests, and how a case runs a stage.

``reliability_repo`` is built once per test run (and shared by the xdist workers, as
``foundation_repo`` is): ``dvc repro gate`` on 4,000 rows with a logistic regression,
committed, then the champion pointed at that very commit with ``gate.min_delta: -0.01`` and
``gate.require_superiority: false`` (a model equal to its champion is never *shown* better), so
the baseline decision is *promote* with every check passing, the paired champion comparison
included. A case breaks one thing and must turn that decision, or a stage, into a refusal.

Cases never run ``dvc repro``: each clones the repo (2-3 MB: work tree, git, DVC cache),
breaks one file and runs the one stage script that reads it, as DVC would run it. Starting
Python and importing pandas, scikit-learn, pandera and DVC is 2-5 s of CPU per stage and
most of a refusal's cost, so :class:`StageRunner` forks each stage process from a server that
has done those imports once (as tests/reliability/test_kill_and_recover.py does): the child
``chdir``s into the clone and executes the real ``stages/<name>.py`` with ``runpy`` as
``__main__``; an uncaught exception prints its traceback and exits 1, as ``python`` would.
``MLGATE_RELIABILITY_SUBPROCESS=1`` runs every case as a plain ``python stages/<name>.py``
instead (same assertions, about ten times the CPU). The controls (baseline, clean CSV) always
run plain subprocesses.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    SMALL_PARAMS,
    TIMEOUT,
    PipelineRepo,
    _env,
    _locked,
    _run_dir,
    dvc_target,
    make_pipeline_repo,
)

SESSION_PARAMS = {
    **SMALL_PARAMS,
    # Logistic regression passes every behavioral test and slice floor at 4,000 rows (the
    # gradient-boosting default misses two behavioral tests there), so the baseline promotes.
    "train.estimator": "logistic_regression",
    # The serving stage is evidence here, not the subject: fewer timed requests, and latency
    # bounds a loaded CI machine cannot miss, so the baseline promotes on any machine.
    "serving.parity_rows": 100,
    "serving.parity_single": 10,
    "serving.latency_single": 20,
    "serving.latency_batch": 5,
    "serving.warmup": 2,
    "gate.serving.max_single_p95_ms": 60_000.0,
    "gate.serving.max_batch_p95_ms": 60_000.0,
}
# Pipeline outputs a failing stage must leave byte-identical (and free of stray temp files).
OUTPUT_DIRS = ("data", "models", "metrics", "plots")


@dataclass(frozen=True)
class Outcome:
    """What a stage script did: exit code and everything it printed."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def message(self) -> str:
        """The error the stage reported: from the line starting ``error:`` to the end."""
        found = re.search(r"^error: ", self.stderr, flags=re.MULTILINE)
        return self.stderr[found.start() :] if found else ""

    @property
    def dvc_error(self) -> str:
        """DVC's own refusal (``ERROR: ...``, one line), when it did not run the stage."""
        found = re.search(r"^ERROR: .*$", self.stderr, flags=re.MULTILINE)
        return found.group(0) if found else ""

    def describe(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def run_stage(repo: PipelineRepo, stage: str) -> Outcome:
    """Run ``python stages/<stage>.py`` in ``repo`` as a new process, as ``dvc repro`` does."""
    proc = subprocess.run(
        [sys.executable, f"stages/{stage}.py"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def run_dvc_repro(repo: PipelineRepo, stage: str) -> Outcome:
    """``dvc repro --single-item <stage>``: the stage as a user's ``dvc repro`` runs it."""
    proc = repo.dvc("repro", "--single-item", dvc_target(repo.path, stage), check=False)
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


# The fork server. Imports run once; each request forks a child that runs one stage file.
FORK_SERVER = r"""
import json, os, runpy, signal, sys, traceback

import mlgate.stage  # pins BLAS/OpenMP threads before numpy loads, as a stage process does

for script in sys.argv[1:]:
    runpy.run_path(script, run_name="__imports_only__")  # top-level imports, not main()
import dvc.api, mlgate.data.contract  # imported inside main() by gate/drift and validate
print("ready", flush=True)


def child(req):
    for fd, path in ((1, req["stdout"]), (2, req["stderr"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    os.chdir(req["cwd"])
    sys.argv = [req["script"]]
    signal.alarm(req["timeout"])  # a hung stage dies instead of hanging the test run
    code = 0
    try:
        runpy.run_path(req["script"], run_name="__main__")
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        child(req)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)
"""
STAGES = ("validate", "split", "train", "evaluate", "behavioral", "champion", "gate")


class StageRunner:
    """``runner(repo, stage)`` -> Outcome, each stage a process forked from the server."""

    def __init__(self, home: PipelineRepo, logs: Path) -> None:
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self._n = 0
        self._server_log = open(logs / "server.stderr", "w")  # noqa: SIM115 (see close)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", FORK_SERVER, *(f"stages/{s}.py" for s in STAGES)],
            cwd=home.path,
            env=home.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._server_log,
            text=True,
        )
        if self._reply() != "ready":
            raise AssertionError("fork server did not start")

    def _reply(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line:
            self.proc.wait(timeout=30)
            log = (self.logs / "server.stderr").read_text()[-4000:]
            raise AssertionError(f"fork server exited {self.proc.returncode}:\n{log}")
        return line

    def __call__(self, repo: PipelineRepo, stage: str) -> Outcome:
        assert self.proc.stdin is not None
        self._n += 1
        out, err = (self.logs / f"{self._n:03d}-{stage}.{s}" for s in ("stdout", "stderr"))
        request = {
            "script": f"stages/{stage}.py",
            "cwd": str(repo.path),
            "stdout": str(out),
            "stderr": str(err),
            "timeout": TIMEOUT,
        }
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        code = json.loads(self._reply())["code"]
        return Outcome(code, out.read_text(), err.read_text())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self._server_log.close()


def snapshot_outputs(root: Path) -> dict[str, bytes]:
    """Every file under the output directories, by relative path."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for top in OUTPUT_DIRS
        for path in sorted((root / top).rglob("*"))
        if path.is_file()
    }


def changed_files(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """Paths added, removed or rewritten with other bytes."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def _build(root: Path) -> PipelineRepo:
    repo = make_pipeline_repo(root, SESSION_PARAMS)
    repo.repro("gate")
    champion = repo.commit("pipeline reproduced on 4,000 rows")
    repo.set_params(
        {
            "gate.champion.ref": champion,
            "gate.min_delta": -0.01,
            "gate.require_superiority": False,
        }
    )
    for stage in ("champion", "gate"):
        outcome = run_stage(repo, stage)
        if outcome.code != 0:
            raise AssertionError(f"baseline {stage} failed: {outcome.describe()}")
    gate = repo.metrics("gate")
    if not gate["promote"]:
        raise AssertionError(f"the baseline must promote; gate says: {gate['summary']}")
    repo.commit("champion: the reproduced commit")
    return repo


@pytest.fixture(scope="session")
def reliability_repo(tmp_path_factory: pytest.TempPathFactory) -> PipelineRepo:
    """The reproduced pipeline whose gate promotes. Read-only: clone it to change anything."""
    shared = _run_dir(tmp_path_factory)
    root, ready = shared / "reliability", shared / "reliability.ready"
    with _locked(shared / "reliability.lock"):
        if not ready.exists():
            if root.exists():  # an earlier attempt in this run failed half-way
                shutil.rmtree(root)
            _build(root)
            ready.touch()
    return PipelineRepo(root, _env(root))


@pytest.fixture(scope="session")
def stage_runner(
    reliability_repo: PipelineRepo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StageRunner | None]:
    """The fork server for this worker, or None to run plain subprocesses (see module doc)."""
    if os.environ.get("MLGATE_RELIABILITY_SUBPROCESS") == "1":
        yield None
        return
    runner = StageRunner(reliability_repo, tmp_path_factory.mktemp("stage-logs"))
    yield runner
    runner.close()


RunStage = Callable[[PipelineRepo, str], Outcome]


@pytest.fixture
def run(stage_runner: StageRunner | None) -> RunStage:
    """``run(repo, stage)`` -> Outcome, forked from the server or as a plain subprocess."""
    return stage_runner or run_stage


@pytest.fixture
def workspace(reliability_repo: PipelineRepo, tmp_path: Path) -> PipelineRepo:
    """A private copy of the reproduced pipeline for one case."""
    return reliability_repo.clone(tmp_path / "repo")
