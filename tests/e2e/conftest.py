"""Helpers for end-to-end tests: the pipeline in a throwaway git + DVC repository.

:func:`make_pipeline_repo` copies the project's pipeline files (dvc.yaml, params.yaml,
contracts/, stages/, src/, .dvc/config) into a new directory, runs ``git init`` and
``dvc init`` and commits. :class:`PipelineRepo` then runs ``dvc``/``git`` there with this
venv's ``bin`` first on PATH (so the stages' ``python`` is the project's) and the copied
``src`` first on PYTHONPATH (so the code that runs is the code DVC hashed as a dependency).

Fixtures:

* ``pipeline_factory(name, params=None)``: a fresh repo (not reproduced yet).
* ``foundation_repo``: one repo per test run, small data, ``dvc repro split`` done and
  committed. Read-only: to run dvc or git in it, ``foundation_repo.clone(tmp_path)`` first.

e2e tests carry ``@pytest.mark.e2e`` and ``@pytest.mark.xdist_group("e2e")``. The group is a
hint only: with pytest 9.2 and pytest-xdist 3.8, ``--dist loadgroup`` silently ignores it
(pytest-dev/pytest-xdist#1386), so the shared fixtures here work from any worker.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PIPELINE_FILES = (
    "dvc.yaml",
    "champion",
    "params.yaml",
    "contracts",
    "stages",
    "src",
    ".dvc/config",
)
# The champion stage has its own dvc.yaml (and lock): see champion/dvc.yaml for why.
DVC_FILES = ("dvc.yaml", "champion/dvc.yaml")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".mypy_cache")

# Small enough to run in seconds, large enough for the contract (min_rows 1,000) and for both
# classes to appear in each split.
SMALL_PARAMS: dict[str, Any] = {
    "generate.n_rows": 4_000,
    # The serving stage starts a real server; a few requests prove parity and measure latency.
    "serving.parity_rows": 100,
    "serving.parity_single": 10,
    "serving.latency_single": 30,
    "serving.latency_batch": 5,
    "serving.warmup": 3,
}
TIMEOUT = 300  # seconds for one dvc command; a hang must fail the test, not the CI job


def pipeline_stages(root: Path) -> dict[str, dict[str, Any]]:
    """Every stage of every dvc.yaml, in pipeline order (champion runs just before drift)."""
    main, champion = (
        yaml.safe_load((root / name).read_text(encoding="utf-8"))["stages"] for name in DVC_FILES
    )
    names = list(main)
    at = names.index("drift") if "drift" in names else len(names)
    ordered = [*names[:at], *champion, *names[at:]]
    return {name: main.get(name) or champion[name] for name in ordered}


def dvc_target(root: Path, stage: str) -> str:
    """How ``dvc repro`` addresses ``stage``: by name in ./dvc.yaml, else ``file:name``."""
    for dvc_file in DVC_FILES[1:]:
        if stage in yaml.safe_load((root / dvc_file).read_text(encoding="utf-8"))["stages"]:
            return f"{dvc_file}:{stage}"
    return stage


@dataclass
class PipelineRepo:
    path: Path
    env: dict[str, str]

    # ------------------------------------------------------------------ running things

    def run(
        self, *args: str | os.PathLike[str], check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the repo; on ``check`` failure the error shows its output."""
        proc = subprocess.run(
            [str(a) for a in args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(map(str, args))} exited {proc.returncode}\n"
                f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
        return proc

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(VENV_BIN / "dvc", *args, check=check)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args, check=check)

    def repro(self, *targets: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.dvc("repro", *targets, check=check)

    def commit(self, message: str) -> str:
        """Stage everything (DVC's .gitignore keeps outputs out) and commit; return the sha."""
        self.git("add", "-A")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").stdout.strip()

    # ------------------------------------------------------------------ files

    def read_params(self) -> dict[str, Any]:
        return yaml.safe_load((self.path / "params.yaml").read_text(encoding="utf-8")) or {}

    def set_params(self, values: Mapping[str, Any]) -> None:
        """Set dotted keys in params.yaml, e.g. ``{"generate.corruption.null_rate": 0.1}``."""
        params = self.read_params()
        for dotted, value in values.items():
            _set_dotted(params, dotted, value)
        (self.path / "params.yaml").write_text(
            yaml.safe_dump(params, sort_keys=False), encoding="utf-8"
        )

    def read_json(self, relative: str) -> Any:
        return json.loads((self.path / relative).read_text(encoding="utf-8"))

    def metrics(self, name: str) -> Any:
        """``metrics/<name>.json`` as a Python object."""
        return self.read_json(f"metrics/{name}.json")

    def read_bytes(self, relative: str) -> bytes:
        return (self.path / relative).read_bytes()

    def snapshot(self, paths: Iterable[str]) -> dict[str, bytes]:
        """Contents of files, to assert later that a failed run left them untouched."""
        return {p: self.read_bytes(p) for p in paths}

    def clone(self, dest: Path) -> PipelineRepo:
        """A full copy (work tree, git history, DVC cache) to change without side effects."""
        # .dvc/tmp holds DVC's state and lock files, rebuilt on demand; never copy them.
        shutil.copytree(
            self.path,
            dest,
            symlinks=True,
            ignore=lambda d, _: {"tmp"} if d.endswith(".dvc") else set(),
        )
        return PipelineRepo(dest, _env(dest))


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _env(repo: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(repo / "src"),
        "DVC_NO_ANALYTICS": "1",
        # Keep DVC's per-user config and site cache out of the user's home and /var/tmp.
        "DVC_GLOBAL_CONFIG_DIR": str(repo.parent / "dvc-global-config"),
        "DVC_SITE_CACHE_DIR": str(repo.parent / "dvc-site-cache"),
        # Git must not need the user's identity or config, nor pick up hooks from it.
        "GIT_AUTHOR_NAME": "mlgate-test",
        "GIT_AUTHOR_EMAIL": "mlgate-test@example.invalid",
        "GIT_COMMITTER_NAME": "mlgate-test",
        "GIT_COMMITTER_EMAIL": "mlgate-test@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    return env


def make_pipeline_repo(dest: Path, params: Mapping[str, Any] | None = None) -> PipelineRepo:
    """Copy the pipeline into ``dest``, ``git init`` + ``dvc init``, apply params, commit."""
    dest.mkdir(parents=True, exist_ok=True)
    repo = PipelineRepo(dest, _env(dest))
    repo.git("init", "--quiet", "--initial-branch=main")
    repo.dvc("init", "--quiet")
    for name in PIPELINE_FILES:
        source, target = REPO_ROOT / name, dest / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=IGNORED, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if params:
        repo.set_params(params)
    repo.commit("pipeline under test")
    return repo


@pytest.fixture(scope="session")
def pipeline_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., PipelineRepo]:
    def factory(name: str = "repo", params: Mapping[str, Any] | None = None) -> PipelineRepo:
        return make_pipeline_repo(
            tmp_path_factory.mktemp(name), {**SMALL_PARAMS, **(params or {})}
        )

    return factory


@pytest.fixture(scope="session")
def foundation_repo(tmp_path_factory: pytest.TempPathFactory) -> PipelineRepo:
    """generate -> validate -> split on 4,000 rows, reproduced and committed.

    Read-only: tests read its files; to run dvc or git, ``clone()`` it first. Built once per
    test run and shared by the xdist workers (a file lock guards the build), so it does not
    matter which worker runs which e2e test.
    """
    shared = _run_dir(tmp_path_factory)
    root, ready = shared / "foundation", shared / "foundation.ready"
    with _locked(shared / "foundation.lock"):
        if not ready.exists():
            if root.exists():  # an earlier attempt in this run failed half-way
                shutil.rmtree(root)
            repo = make_pipeline_repo(root, SMALL_PARAMS)
            repo.repro("split")
            repo.commit("dvc repro split")
            ready.touch()
    return PipelineRepo(root, _env(root))


def _run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory shared by all xdist workers of this run (and only of this run)."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's basetemp is <run dir>/popen-gwN; without xdist the basetemp
    # is the run dir itself (its parent is shared with earlier runs, so it must not be used).
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
