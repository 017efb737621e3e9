"""The console script: --help everywhere, exit codes, and messages instead of tracebacks."""

from __future__ import annotations

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


def gate_file(tmp_path: Path, promote: bool) -> Path:
    path = tmp_path / "gate.json"
    path.write_text(
        json.dumps(
            {
                "promote": promote,
                "n_checks": 2,
                "checks": [
                    {
                        "name": "holdout_auc_floor",
                        "passed": True,
                        "reason": "AUC 0.87 vs floor 0.8",
                    },
                    {
                        "name": "auc_improvement",
                        "passed": promote,
                        "reason": "delta +0.0010 < 0.005",
                    },
                ],
            }
        )
    )
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


def test_check_promote_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--gate", str(gate_file(tmp_path, True))]) == 0
    assert "PROMOTE: 2/2 checks passed" in capsys.readouterr().out


def test_check_reject_exits_1_and_lists_failed_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--gate", str(gate_file(tmp_path, False))]) == 1
    text = capsys.readouterr().out
    assert "REJECT: 1/2 checks passed" in text
    assert "auc_improvement" in text and "holdout_auc_floor" not in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("", "is empty"),
        ("gate: PROMOTE\n", "is not valid JSON"),
        ("[true]", "expected a JSON object"),
        ('{"decision": "promote"}', "expected a boolean 'promote' key"),
    ],
    ids=["missing", "empty", "text", "list", "no-promote-key"],
)
def test_check_missing_or_invalid_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "gate.json"
    if content is not None:
        path.write_text(content)
    assert main(["check", "--gate", str(path)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "error:" in captured.err


# --------------------------------------------------------------------------- user mistakes


MISTAKES = [
    (["check", "--gate", "nope.json"], 2, "nope.json does not exist"),
    (["check", "--gate", "text.json"], 2, "is not valid JSON"),
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
        (["check", "--gate", "text.json"], "is not valid JSON"),
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
    gate = json.dumps(
        {"promote": promote, "summary": "s", "champion": None, "checks": []}
    ).encode()
    (root / "metrics").mkdir(exist_ok=True)
    (root / "metrics/gate.json").write_bytes(gate)
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
    assert main(["promote"]) == 0  # -C above moved the cwd into the repository
    assert "promoted churn-model v0.0.1 (newly registered)" in capsys.readouterr().out

    assert main(["status"]) == 0
    text = capsys.readouterr().out
    assert "champion (prod): churn-model v0.0.1" in text
    assert "churn-model#prod#1" in text and "assignment" in text

    assert main(["rollback"]) == 1
    assert "nothing to roll back to" in capsys.readouterr().err
