"""The console script: --help everywhere, exit codes, and messages instead of tracebacks."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlgate.cli import build_parser, main

MLGATE = Path(sys.executable).parent / "mlgate"
COMMANDS = [
    ["check"],
    ["report"],
    ["exp"],
    ["promote"],
    ["rollback"],
    ["status"],
    ["validate"],
    ["contract"],
    ["contract", "infer"],
    ["serve"],
    ["shadow"],
    ["canary"],
    ["requests"],
    ["init"],
]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script in a real process (what CI and users run)."""
    env = {**os.environ, **GIT_ENV, "COLUMNS": "200"}
    return subprocess.run(
        [str(MLGATE), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def gate_file(root: Path, promote: bool, edit: dict[str, object] | None = None) -> Path:
    """A consistent decision in ``root/metrics/gate.json`` (``edit`` may break that)."""
    checks = [
        {"name": "holdout_auc_floor", "passed": True, "reason": "AUC 0.87 vs floor 0.8"},
        {"name": "auc_improvement", "passed": promote, "reason": "delta +0.0010 < 0.005"},
    ]
    decision = {
        "promote": promote,
        "decision": "promote" if promote else "reject",
        "n_checks": 2,
        "n_failed": 0 if promote else 1,
        "failed": [] if promote else ["auc_improvement"],
        "checks": checks,
        **(edit or {}),
    }
    path = root / "metrics/gate.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(decision))
    return path


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: mlgate " + " ".join(command))
    assert "--help" in text


def _parser_commands(parser: argparse.ArgumentParser, prefix: list[str]) -> list[list[str]]:
    found = []
    for action in parser._actions:  # argparse has no public walk over subcommands
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [[*prefix, name], *_parser_commands(sub, [*prefix, name])]
    return found


def test_help_is_tested_for_every_command_the_parser_has() -> None:
    assert sorted(_parser_commands(build_parser(), [])) == sorted(COMMANDS)


def test_parser_lists_every_command() -> None:
    help_text = build_parser().format_help()
    for command in (
        "check",
        "report",
        "promote",
        "rollback",
        "status",
        "validate",
        "contract",
        "serve",
        "shadow",
        "canary",
        "requests",
        "init",
    ):
        assert command in help_text


def test_console_script_is_installed() -> None:
    proc = cli("--help")
    assert proc.returncode == 0 and "promote" in proc.stdout


# --------------------------------------------------------------------------- check


# Verified decisions (exit 0 and 1) need a pipeline run: tests/e2e/test_team_flow.py.


@pytest.mark.parametrize("promote", [True, False])
def test_check_unverified_decision_exits_2_and_says_what_to_run(
    workdir: Path, capsys: pytest.CaptureFixture[str], promote: bool
) -> None:
    gate_file(workdir, promote)  # a decision, but no dvc.lock or evidence beside it
    assert main(["check"]) == 2
    captured = capsys.readouterr()
    verdict = "PROMOTE: 2/2" if promote else "REJECT: 1/2"
    assert f"{verdict} checks passed (metrics/gate.json, read, NOT verified)" in captured.out
    assert "NOT verified: no dvc.lock" in captured.err
    assert "next: `dvc repro`, then `mlgate check` again" in captured.err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # issue 14 item 4: only the boolean says promote
        ({"decision": "reject", "checks": [{"passed": False}]}, "lack a string 'name'"),
        ({"decision": "reject"}, "'decision' is 'reject' but the checks say 'promote'"),
        ({"promote": False}, "'promote' is False but 0 of 2 checks failed"),
        ({"n_failed": 1}, "'n_failed' is 1, 0 checks failed"),
        ({"failed": ["auc_improvement"]}, "the failed checks are []"),
        ({"n_checks": 3}, "'n_checks' is 3, the checks number 2"),
        ({"checks": []}, "'checks' must be a non-empty list"),
    ],
    ids=["item-4", "decision", "promote", "n_failed", "failed", "n_checks", "no-checks"],
)
def test_check_inconsistent_decision_exits_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], edit: dict[str, object], message: str
) -> None:
    gate_file(workdir, True, edit)
    assert main(["check"]) == 2
    captured = capsys.readouterr()
    assert "PROMOTE" not in captured.out  # an inconsistent file is not shown as a decision
    assert "invalid decision: metrics/gate.json is inconsistent" in captured.err
    assert message in captured.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "metrics/gate.json does not exist: the gate has not run"),
        ("", "cannot be read"),
        ("gate: PROMOTE\n", "cannot be read"),
        ("[true]", "not a JSON object"),
        ('{"decision": "promote"}', "'checks' must be a non-empty list"),
    ],
    ids=["missing", "empty", "text", "list", "no-promote-key"],
)
def test_check_missing_or_invalid_exits_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    if content is not None:
        (workdir / "metrics").mkdir()
        (workdir / "metrics/gate.json").write_text(content)
    assert main(["check"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "error:" in captured.err
    assert "next: `dvc repro`" in captured.err


def test_check_refuses_a_decision_file_it_cannot_verify(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = gate_file(workdir / "elsewhere", True)
    assert main(["check", "--gate", str(other)]) == 2
    assert "only metrics/gate.json" in capsys.readouterr().err


# --------------------------------------------------------------------------- user mistakes


MISTAKES = [
    (["check"], 2, "metrics/gate.json does not exist"),
    (["check", "--gate", "text.json"], 2, "only metrics/gate.json"),
    (["report", "--path", "nope.md"], 2, "run `dvc repro`"),
    (["promote"], 2, "not a git repository"),
    (["promote", "--force"], 2, "--force needs --reason"),
    (["status", "--params", "missing.yaml"], 2, "missing.yaml: file not found"),
    (["validate", "--contract", "nope.yaml", "--data", "x.csv"], 2, "nope.yaml does not"),
    (["contract", "infer", "--data", "x.txt"], 2, "unsupported file type"),
    (["-C", "no-such-dir", "status"], 2, "no-such-dir"),
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory (not a git repository) as the cwd; restored after the test."""
    (tmp_path / "text.json").write_text("not json")
    (tmp_path / "params.yaml").write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    return tmp_path


@pytest.mark.parametrize(("args", "code", "message"), MISTAKES)
def test_user_mistakes_print_a_message(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    assert main(args) == code  # an exception escaping main would fail the test here
    captured = capsys.readouterr()
    assert message in captured.err and "error:" in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check"], "metrics/gate.json does not exist"),
        (["promote"], "not a git repository"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_no_traceback_from_the_console_script(
    workdir: Path, args: list[str], message: str
) -> None:
    proc = cli(*args, cwd=workdir)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


# --------------------------------------------------------------------------- report


def test_report_renders_markdown_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.md"
    report.write_text(
        "# mlgate report\n\n## Decision: REJECT\n\n| check | reason |\n|---|---|\n"
        "| `auc_improvement` | too small |\n"
    )
    assert main(["report", "--path", str(report)]) == 0
    text = capsys.readouterr().out
    assert "Decision: REJECT" in text and "auc_improvement" in text
    assert "|---|" not in text  # rendered as a table, not echoed raw


WIDE_REPORT = (
    "# mlgate report\n\n"
    "| test | type | expectation | rows tested | failures | failure rate | allowed | result |\n"
    "|---|---|---|---|---|---|---|---|\n"
    "| new_monthly_many_tickets_is_risky | MFT | A brand-new monthly customer who keeps "
    "calling support is a churn risk. | 6 | 0 | 0.00% | 0.00% | pass |\n"
)


@pytest.mark.parametrize(("columns", "width"), [(None, 120), ("100", 100)])
def test_piped_report_is_not_wrapped_one_word_per_line(
    tmp_path: Path, columns: str | None, width: int
) -> None:
    # Piped (CI logs, `mlgate report | less`): rich alone used 80 columns and wrapped this
    # table's expectation one word per line ("A", "brand-n…", "monthly", ...).
    report = tmp_path / "report.md"
    report.write_text(WIDE_REPORT)
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    proc = subprocess.run(
        [str(MLGATE), "report", "--path", str(report)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) == width
    if columns is None:  # 80 columns left one to three words per line of the expectation
        assert any("A brand-new monthly customer" in line for line in lines), proc.stdout


def test_a_terminal_keeps_rich_s_own_width() -> None:
    from mlgate.cli.console import PIPE_WIDTH, output_width

    assert output_width({"COLUMNS": "90"}, is_terminal=True) is None  # rich follows resizes
    assert output_width({}, is_terminal=False) == PIPE_WIDTH
    assert output_width({"COLUMNS": "90"}, is_terminal=False) == 90
    assert output_width({"COLUMNS": "wide"}, is_terminal=False) == PIPE_WIDTH
    assert output_width({"COLUMNS": "0"}, is_terminal=False) == PIPE_WIDTH


# --------------------------------------------------------------------------- data


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "customers.csv"
    pd.DataFrame(
        {"id": [1, 2, 3, 4], "plan": ["a", "b", "a", "b"], "spend": [1.0, 2.5, 3.0, 4.0]}
    ).to_csv(path, index=False)
    return path


def test_contract_infer_then_validate(
    tmp_path: Path, table: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contract = tmp_path / "contract.yaml"
    assert (
        main(
            [
                "contract",
                "infer",
                "--data",
                str(table),
                "--id-column",
                "id",
                "--out",
                str(contract),
            ]
        )
        == 0
    )
    schema = yaml.safe_load(contract.read_text())
    assert set(schema["columns"]) == {"id", "plan", "spend"}
    assert main(["validate", "--contract", str(contract), "--data", str(table)]) == 0
    assert "4 rows pass" in capsys.readouterr().out

    pd.DataFrame({"id": [1, 1], "plan": ["a", "zzz"], "spend": [1.0, 2.0]}).to_csv(
        table, index=False
    )
    assert main(["validate", "--contract", str(contract), "--data", str(table)]) == 1
    err = capsys.readouterr().err
    assert "contract failures" in err and "zzz" in err and "failed check(s)" in err


def test_contract_infer_prints_yaml_and_will_not_overwrite(
    tmp_path: Path, table: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["contract", "infer", "--data", str(table)]) == 0
    assert "schema_type: dataframe" in capsys.readouterr().out
    existing = tmp_path / "keep.yaml"
    existing.write_text("mine")
    assert main(["contract", "infer", "--data", str(table), "--out", str(existing)]) == 2
    assert existing.read_text() == "mine"
    assert main(["contract", "infer", "--data", str(table), "--id-column", "nope"]) == 2
    assert "--id-column 'nope' is not a column" in capsys.readouterr().err


# --------------------------------------------------------------------------- registry


def _commit_run(root: Path, promote: bool) -> None:
    gate = gate_file(root, promote).read_bytes()
    md5 = hashlib.md5(gate, usedforsecurity=False).hexdigest()
    (root / "dvc.lock").write_text(
        yaml.safe_dump(
            {
                "schema": "2.0",
                "stages": {
                    "gate": {"cmd": "x", "outs": [{"path": "metrics/gate.json", "md5": md5}]}
                },
            }
        )
    )
    (root / "params.yaml").write_text("{}\n")
    for args in (["add", "-A"], ["commit", "-q", "-m", "run"]):
        subprocess.run(["git", *args], cwd=root, check=True, env={**os.environ, **GIT_ENV})


def test_promote_status_rollback_through_the_cli(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = workdir / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    _commit_run(repo, promote=False)
    assert main(["-C", str(repo), "promote"]) == 1
    assert "the gate rejected" in capsys.readouterr().err

    _commit_run(repo, promote=True)
    # -C above moved the cwd into the repository. It holds a decision but no pipeline to
    # recompute it with: not verified, exit 2, unless forced with a reason.
    assert main(["promote"]) == 2
    assert "decision not verified: stages/gate.py does not exist" in capsys.readouterr().err
    assert main(["promote", "--force", "--reason", "no pipeline in this test"]) == 0
    text = capsys.readouterr().out
    assert "promoted churn-model v0.0.1 (newly registered)" in text
    assert "forced" in text and "overrode 1 blocker(s)" in text

    assert main(["status"]) == 0
    text = capsys.readouterr().out
    assert "champion (prod): churn-model v0.0.1" in text
    assert "churn-model#prod#1" in text and "assignment" in text

    assert main(["rollback"]) == 1
    assert "nothing to roll back to" in capsys.readouterr().err
