"""DVC's own views (`dvc exp show`, `dvc metrics diff`) show the headline numbers only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlgate.summary import SUMMARY

from .conftest import PipelineRepo, pipeline_stages

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

# ~25 columns of numbers is what a 200-character terminal shows without wrapping.
MAX_COLUMNS = 25
HEADLINE = {"decision", "roc_auc", "roc_auc_ci_low", "n_failed_checks", "p95_single_ms"}


def _leaves(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        return {leaf for k, v in value.items() for leaf in _leaves(v, f"{prefix}{k}.")}
    return {prefix.rstrip(".")}


def test_exp_show_and_metrics_diff_fit_a_terminal(pipeline_factory: Any) -> None:
    repo: PipelineRepo = pipeline_factory("views")
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
