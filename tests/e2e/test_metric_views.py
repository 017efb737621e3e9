"""DVC's own views (`dvc exp show`, `dvc metrics diff`) show the headline numbers only;
`mlgate exp` shows them within 120 columns, and `dvc exp run -S` leaves params.yaml's comments.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

import pytest

from mlgate.summary import SUMMARY

from .conftest import REPO_ROOT, SMALL_PARAMS, VENV_BIN, PipelineRepo, pipeline_stages

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

# ~25 columns of numbers is what a 200-character terminal shows without wrapping.
MAX_COLUMNS = 25
HEADLINE = {"decision", "roc_auc", "roc_auc_ci_low", "n_failed_checks", "p95_single_ms"}
META = ["Experiment", "rev", "typ", "Created", "parent"]  # dvc's own first columns
WIDTH = 120


def _leaves(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        return {leaf for k, v in value.items() for leaf in _leaves(v, f"{prefix}{k}.")}
    return {prefix.rstrip(".")}


def test_exp_show_and_metrics_diff_fit_a_terminal(pipeline_factory: Any) -> None:
    repo: PipelineRepo = pipeline_factory("views")
    _params_with_comments(repo)
    repo.repro()
    first = repo.commit("run 1")

    rows = json.loads(repo.dvc("exp", "show", "--json").stdout)
    for row in rows:
        metrics = row["data"]["metrics"]
        assert set(metrics) == {SUMMARY}  # gate.json, slices.json, serving.json: not columns
        assert _leaves(metrics[SUMMARY]["data"]) >= HEADLINE
        assert len(_leaves(metrics[SUMMARY]["data"])) <= MAX_COLUMNS

    # An experiment, compared as the README shows it.
    repo.dvc("exp", "run", "-S", "train.hyperparams.hist_gradient_boosting.max_iter=60")
    # -S rewrote params.yaml: only the line of the key it set differs, comments included.
    committed = repo.git("show", "HEAD:params.yaml").stdout.splitlines()
    now = (repo.path / "params.yaml").read_text(encoding="utf-8").splitlines()
    assert len(now) == len(committed)
    assert [b for a, b in zip(committed, now, strict=True) if a != b] == ["      max_iter: 60"]
    header = repo.dvc("exp", "show", "--only-changed", "--csv").stdout.splitlines()[0]
    # dvc also lists the md5 of each changed dependency file; those columns name a path.
    deps = {d for s in pipeline_stages(repo.path).values() for d in s.get("deps", [])}
    columns = [c for c in header.split(",") if c not in deps]
    # dvc prefixes a column name with its file (or key path) only where it is ambiguous.
    assert any(c.endswith("roc_auc") for c in columns), columns
    assert any(c.endswith("hist_gradient_boosting.max_iter") for c in columns), columns
    assert len(columns) <= MAX_COLUMNS, columns

    # Against run 1 (the champion it would replace): the headline numbers, nothing else.
    diff = json.loads(repo.dvc("metrics", "diff", first, "--all", "--json").stdout)
    assert set(diff) == {SUMMARY}
    assert set(diff[SUMMARY]) >= HEADLINE
    assert diff[SUMMARY]["roc_auc"]["new"] != diff[SUMMARY]["roc_auc"]["old"]
    assert len(diff[SUMMARY]) <= MAX_COLUMNS

    # A bare `dvc exp show`: one column per param and per dependency. DVC 3 has no setting to
    # hide them (it lists every dependency that is not a param), hence `mlgate exp`.
    bare = repo.dvc("exp", "show", "--csv").stdout.splitlines()[0].split(",")
    rows = json.loads(repo.dvc("exp", "show", "--json").stdout)
    data = rows[0]["data"]
    metrics = _leaves({k: v for k, v in data["metrics"][SUMMARY]["data"].items() if v is not None})
    params = _leaves(data["params"]["params.yaml"]["data"])
    assert bare[: len(META)] == META
    assert set(bare[len(META) :]) <= metrics | params | set(data["deps"])
    assert len(bare) > 200  # 5 + 17 metrics + 116 params + 83 deps in this repo
    assert len(metrics) <= MAX_COLUMNS

    # `mlgate exp`, piped: within 120 columns, the headline of each row and what it changed.
    env = {k: v for k, v in repo.env.items() if k != "COLUMNS"}
    proc = subprocess.run(
        [str(VENV_BIN / "mlgate"), "exp"], cwd=repo.path, env=env, capture_output=True,
        text=True, check=True, timeout=120,
    )  # fmt: skip
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= WIDTH, proc.stdout
    assert lines[0].split()[:3] == ["experiment", "decision", "failed"]
    auc = re.compile(r"\b(promote|reject)\s+\d+\s+0\.\d{4} \[0\.\d{4}, 0\.\d{4}\]")
    assert sum(bool(auc.search(line)) for line in lines) == 3, proc.stdout  # workspace, HEAD, exp
    assert "hist_gradient_boosting.max_iter=60" in "".join(proc.stdout.split()), proc.stdout


def _params_with_comments(repo: PipelineRepo) -> None:
    """The real params.yaml, comments and all, with the small-run values set as -S sets them."""
    from dvc.utils.hydra import apply_overrides

    path = repo.path / "params.yaml"
    shutil.copy(REPO_ROOT / "params.yaml", path)
    apply_overrides(os.fspath(path), [f"{k}={json.dumps(v)}" for k, v in SMALL_PARAMS.items()])
    repo.commit("params.yaml with its comments")
