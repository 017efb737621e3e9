"""`mlgate exp`: `dvc exp show --json` cut to the headline columns, within 120 columns."""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from mlgate.cli import experiments as cli_exp
from mlgate.cli import main
from mlgate.exp_view import HEADERS, cells, rows
from mlgate.summary import SUMMARY

PARAMS = {
    "train": {"estimator": "hist_gradient_boosting", "seed": 42},
    "gate": {"min_delta": 0.005},
}
SUMMARY_DATA = {
    "decision": "promote",
    "n_failed_checks": 0,
    "roc_auc": 0.8690724267,
    "roc_auc_ci_low": 0.8597086989,
    "roc_auc_ci_high": 0.8784361546,
    "auc_delta": None,
}


def _state(rev: str, params: dict[str, Any], summary: dict[str, Any] | None, **extra: Any):
    data = {"params": {"params.yaml": {"data": params}}, "metrics": {}, "deps": {}}
    if summary is not None:
        data["metrics"] = {SUMMARY: {"data": summary}}
    return {"rev": rev, "name": None, "data": data, "error": None, "experiments": None, **extra}


def exp_show(**workspace_params: Any) -> list[dict[str, Any]]:
    """The shape of `dvc exp show --json` (DVC 3): the workspace, then HEAD and its experiments."""
    tried = copy.deepcopy(PARAMS)
    tried["train"]["estimator"] = "logistic_regression"
    tried["gate"]["min_delta"] = 0.0
    better = {**SUMMARY_DATA, "roc_auc": 0.8737, "auc_delta": 0.0046483}
    better |= {"auc_delta_ci_low": 0.0027, "auc_delta_ci_high": 0.0066}
    failed = _state("b" * 40, {}, None, error={"msg": "stage 'train' failed", "type": "x"})
    head = _state("a" * 40, PARAMS, SUMMARY_DATA, name="main")
    head["experiments"] = [
        {"revs": [_state("6cd4454" + "0" * 33, tried, better)], "name": "faery-ghat"},
        {"revs": [failed], "name": "yarer-brig"},
    ]
    workspace = copy.deepcopy(PARAMS)
    for dotted, value in workspace_params.items():
        section, key = dotted.split("__")
        workspace[section][key] = value
    return [_state("workspace", workspace, SUMMARY_DATA), head]


def test_rows_keep_the_headline_and_what_each_experiment_changed() -> None:
    found = {row.label.split()[0]: row for row in rows(exp_show(train__seed=7))}
    assert list(found) == ["workspace", "main", "faery-ghat", "yarer-brig"]
    assert found["workspace"].changed == {"train.seed": 7}  # against HEAD
    assert found["main"].changed == {}
    assert found["faery-ghat"].changed == {
        "train.estimator": "logistic_regression",
        "gate.min_delta": 0.0,
    }
    assert cells(found["faery-ghat"]) == (
        "  faery-ghat 6cd4454",
        "promote",
        "0",
        "0.8737 [0.8597, 0.8784]",
        "+0.0046 [+0.0027, +0.0066]",
        "train.estimator = logistic_regression, gate.min_delta = 0.0",
    )
    assert cells(found["main"])[3:5] == ("0.8691 [0.8597, 0.8784]", "—")
    # A failed experiment: no numbers, and why.
    failed = cells(found["yarer-brig"])
    assert failed[1:3] == ("—", "—")
    assert failed[3:5] == ("—", "—")
    assert failed[5] == f"(no {SUMMARY}: stage 'train' failed)"


def test_a_param_the_experiment_removed_is_named() -> None:
    show = exp_show()
    del show[1]["experiments"][0]["revs"][0]["data"]["params"]["params.yaml"]["data"]["train"][
        "seed"
    ]
    changed = cells(rows(show)[2])[-1]
    assert "train.seed = (removed)" in changed


def test_the_table_fits_120_columns_with_many_changed_params(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    show = exp_show()
    tried = show[1]["experiments"][0]["revs"][0]["data"]["params"]["params.yaml"]["data"]
    tried["features"] = {f"some_rather_long_feature_list_{i}": ["a", "b"] for i in range(12)}
    monkeypatch.setattr(cli_exp, "_exp_show", lambda _args: show)
    monkeypatch.setattr(cli_exp, "out", Console(width=120, highlight=False, soft_wrap=True))
    args = argparse.Namespace(num=None, rev=None, all_branches=False, all_tags=False)
    assert cli_exp.cmd_exp(argparse.Namespace(**vars(args), all_commits=False)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 120
    header = lines[0]
    assert all(h in header for h in HEADERS)
    # The headline cells are never cut or wrapped, only the changed params are.
    row = next(line for line in lines if "faery-ghat" in line)
    assert "promote" in row and "0.8737 [0.8597, 0.8784]" in row
    assert "+0.0046 [+0.0027, +0.0066]" in row
    assert "some_rather_long_feature_list_11=['a','b']" in "".join(lines).replace(" ", "")


def test_selection_options_go_to_dvc_exp_show() -> None:
    parser = argparse.ArgumentParser()
    cli_exp.add_exp_parser(parser.add_subparsers())
    args = parser.parse_args(["exp", "-n", "3", "-A", "--rev", "v1"])
    assert cli_exp._dvc_args(args) == ["--all-commits", "--num", "3", "--rev", "v1"]
    assert cli_exp._dvc_args(parser.parse_args(["exp"])) == []


def test_outside_a_dvc_repository_it_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["exp"]) == 2
    assert "dvc exp show --json" in capsys.readouterr().err


def test_a_narrow_terminal_never_cuts_a_number(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """At 60 columns rich cut cells to "0.8737 [0.8597, 0.87…" (seen in the README test)."""
    monkeypatch.setattr(cli_exp, "_exp_show", lambda _args: exp_show())
    monkeypatch.setattr(cli_exp, "out", Console(width=60, highlight=False, soft_wrap=True))
    args = argparse.Namespace(num=None, rev=None, all_branches=False, all_tags=False)
    assert cli_exp.cmd_exp(argparse.Namespace(**vars(args), all_commits=False)) == 0
    text = capsys.readouterr().out
    assert "…" not in text
    assert "0.8737 [0.8597, 0.8784]" in text and "+0.0046 [+0.0027, +0.0066]" in text
    assert all(h in text.splitlines()[0] for h in HEADERS)
