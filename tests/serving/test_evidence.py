"""No evidence is never a pass: shadow and canary fail closed when nothing was compared, and
`mlgate requests` draws requests that fit the contract from the pipeline's own rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from mlgate.cli import main
from mlgate.serving.canary import CanaryGuards, canary_markdown, run_canary
from mlgate.serving.client import InProcessBackend, dumps_body
from mlgate.serving.service import ScoringService

from .conftest import CONTRACT, REPO_ROOT

NO_LATENCY_GUARD = CanaryGuards(max_p95_ratio=1e6)


def _refused(records: list[dict[str, Any]], n: int = 40) -> list[bytes]:
    """Requests every model refuses: the required field tenure_months is missing."""
    return [dumps_body({k: v for k, v in r.items() if k != "tenure_months"}) for r in records[:n]]


def test_canary_with_every_request_refused_is_no_evidence(
    service: ScoringService, records: list[dict[str, Any]]
) -> None:
    called = []
    result = run_canary(
        _refused(records),
        InProcessBackend(service),
        InProcessBackend(service),
        steps=(0.5, 1.0),
        requests_per_step=20,
        guards=NO_LATENCY_GUARD,
        rollback=lambda: called.append(1) or {},
    )
    assert result["decision"] == "no_evidence" and result["final_share"] == 0.0
    assert called == []  # no guard was breached: the registry is not touched
    step = result["timeline"][-1]
    assert step["n_candidate"] > 0 and step["n_records_compared"] == 0
    assert step["candidate_4xx"] == step["champion_4xx"] == step["n_candidate"]
    assert f"got {step['n_candidate']} requests and 0 records" in result["no_evidence"]
    text = canary_markdown(result, champion="a", candidate="b")
    assert "**Decision: no evidence**" in text and "no guard was breached" not in text


def test_canary_with_evidence_still_completes(
    service: ScoringService, records: list[dict[str, Any]]
) -> None:
    # The same log with one request that fits: a step that compares anything has evidence.
    bodies = [*_refused(records, 19), dumps_body(records[0])]
    result = run_canary(
        bodies,
        InProcessBackend(service),
        InProcessBackend(service),
        steps=(1.0,),
        requests_per_step=20,
        guards=NO_LATENCY_GUARD,
    )
    assert result["decision"] == "completed", result
    assert result["timeline"][0]["n_records_compared"] == 1


# --------------------------------------------------------------------------- the commands


@pytest.fixture
def workdir(tmp_path: Path, model_dir: Path, traffic: pd.DataFrame) -> Path:
    """A directory as a user has it after `dvc repro`: params, contract, model, holdout."""
    root = tmp_path / "work"
    (root / "contracts").mkdir(parents=True)
    (root / "data").mkdir()
    shutil.copy(CONTRACT, root / "contracts" / "churn.yaml")
    shutil.copy(REPO_ROOT / "params.yaml", root / "params.yaml")
    shutil.copytree(model_dir, root / "models")
    traffic.to_parquet(root / "data" / "holdout.parquet", index=False)
    return root


def _mlgate(root: Path, *args: str) -> int:
    return main(["-C", str(root), *args])


def test_requests_draw_holdout_rows_and_shadow_compares_them(
    workdir: Path, traffic: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _mlgate(workdir, "requests", "--out", "r.jsonl", "-n", "30") == 0
    lines = [json.loads(x) for x in (workdir / "r.jsonl").read_text().splitlines()]
    ids = set(traffic["customer_id"])
    assert len(lines) == 30 and all(x["body"]["customer_id"] in ids for x in lines)
    assert all("churned" not in x["body"] for x in lines)
    code = _mlgate(workdir, "shadow", "--requests", "r.jsonl", "--champion", "models")
    assert code == 0, capsys.readouterr().err
    assert json.loads((workdir / "metrics" / "shadow.json").read_text())["evidence"] is True


def test_shadow_and_canary_commands_fail_closed_on_a_refused_log(
    workdir: Path, records: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [json.dumps({"body": json.loads(b)}) for b in _refused(records)]
    (workdir / "bad.jsonl").write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    code = _mlgate(workdir, "shadow", "--requests", "bad.jsonl", "--champion", "models")
    err = capsys.readouterr().err
    assert code == 2 and "no evidence: 0 records compared in 40 requests" in err
    assert "40 refused with 4xx" in err
    written = json.loads((workdir / "metrics" / "shadow.json").read_text())
    assert written["evidence"] is False and written["no_evidence"].startswith("no evidence")
    code = _mlgate(workdir, "canary", "--requests", "bad.jsonl", "--champion", "models")
    err = capsys.readouterr().err
    assert code == 3 and "no evidence at step 1" in err
    assert json.loads((workdir / "metrics" / "canary.json").read_text())["final_share"] == 0.0


def test_requests_work_on_a_users_own_contract(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Other columns than churn's: holdout rows fit, synthetic churn rows would not."""
    contract = {
        "schema_type": "dataframe",
        "columns": {
            "account": {"dtype": "int64", "nullable": False},
            "plan": {
                "dtype": "str",
                "nullable": False,
                "checks": [
                    {"allowed_values": ["basic", "pro"], "options": {"check_name": "isin"}}
                ],
            },
            "left": {"dtype": "int64", "nullable": False},
        },
        "strict": True,
    }
    (workdir / "contracts" / "own.yaml").write_text(yaml.safe_dump(contract))
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    params["contract"]["path"] = "contracts/own.yaml"
    params["data"].update(id_column="account", target="left")
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))
    own = pd.DataFrame({"account": range(50), "plan": ["basic", "pro"] * 25, "left": [0, 1] * 25})
    own.to_parquet(workdir / "data" / "holdout.parquet", index=False)
    assert _mlgate(workdir, "requests", "--out", "r.jsonl", "-n", "10") == 0
    bodies = [json.loads(x)["body"] for x in (workdir / "r.jsonl").read_text().splitlines()]
    assert all(set(b) == {"account", "plan"} for b in bodies)
    # Rows the contract refuses are skipped; with none left there is nothing to send.
    own.assign(plan="gold").to_parquet(workdir / "data" / "holdout.parquet", index=False)
    capsys.readouterr()
    assert _mlgate(workdir, "requests", "--out", "r.jsonl", "-n", "10") == 2
    err = capsys.readouterr().err
    assert "none of the 10 rows drawn from data/holdout.parquet fits" in err and "plan" in err


def test_requests_without_a_holdout_say_what_to_do(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "data" / "holdout.parquet").unlink()
    assert _mlgate(workdir, "requests", "--out", "r.jsonl") == 2
    err = capsys.readouterr().err
    assert "data/holdout.parquet does not exist" in err and "--synthetic" in err
    assert _mlgate(workdir, "requests", "--out", "r.jsonl", "-n", "5", "--synthetic") == 0
    assert len((workdir / "r.jsonl").read_text().splitlines()) == 5


@pytest.mark.parametrize("command", ["shadow", "canary"])
def test_an_empty_request_log_is_no_traffic_not_a_pass(
    workdir: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "empty.jsonl").write_text("\n\n")
    capsys.readouterr()
    assert _mlgate(workdir, command, "--requests", "empty.jsonl", "--champion", "models") == 2
    assert "empty.jsonl: no requests" in capsys.readouterr().err
    assert not (workdir / "metrics" / f"{command}.json").exists()
