"""Real uvicorn processes on loopback ports: the serving stage's logic, start-up and clean-up.

Each test starts at most one server (a few seconds to import the stack), bounded by a
start-up timeout, and checks that no server process outlives it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

from mlgate.errors import ServerError
from mlgate.serving.server import running_server

from .conftest import CONTRACT, REPO_ROOT

STARTUP_TIMEOUT = 120.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _servers_for(root: Path) -> list[int]:
    """PIDs of processes working in ``root`` (servers left running): the server process and
    its uvicorn workers start there, and workers have no options on their command line."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if os.readlink(proc / "cwd") == str(root):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_server_is_stopped_even_when_the_caller_fails(model_dir: Path) -> None:
    pid = None
    with pytest.raises(RuntimeError, match="caller failed"):  # noqa: SIM117
        with running_server(
            str(model_dir),
            root=model_dir.parent,
            contract=str(CONTRACT),
            startup_timeout=STARTUP_TIMEOUT,
        ) as server:
            pid = server.pid
            assert server.base_url.startswith("http://127.0.0.1:")
            assert httpx.get(f"{server.base_url}/health").json()["status"] == "ok"
            raise RuntimeError("caller failed")
    assert pid is not None and not _alive(pid)
    assert _servers_for(model_dir.parent.resolve()) == []


def test_a_server_that_cannot_load_its_model_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match=r"(?s)exited with code.*neither a model"):  # noqa: SIM117
        with running_server(
            "no-such-model", root=tmp_path, contract=str(CONTRACT), startup_timeout=STARTUP_TIMEOUT
        ):
            pass
    assert _servers_for(tmp_path.resolve()) == []


def test_two_workers_answer_without_a_delayed_ack_wait(model_dir: Path) -> None:
    # With --workers > 1 uvicorn's own socket left Nagle on: every keep-alive answer waited
    # for the client's delayed ACK, >= 40 ms. With TCP_NODELAY /health takes ~1 ms; 20 ms
    # leaves room for a busy machine and still catches the wait.
    with (
        running_server(
            str(model_dir),
            root=model_dir.parent,
            contract=str(CONTRACT),
            workers=2,
            startup_timeout=STARTUP_TIMEOUT,
        ) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        for _ in range(5):
            client.get("/health")
        ms = []
        for _ in range(30):
            reply = client.get("/health")
            assert reply.status_code == 200
            ms.append(reply.elapsed.total_seconds() * 1000.0)
    assert float(np.median(ms)) < 20.0, ms


def test_only_loopback_addresses_are_served(model_dir: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):  # noqa: SIM117
        with running_server(str(model_dir), host="0.0.0.0"):
            pass


def _stage_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "serving_stage", REPO_ROOT / "stages" / "serving.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_serving_stage_against_a_real_server(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    model_dir: Path,
    traffic: pd.DataFrame,
    offline: np.ndarray,
) -> None:
    root = tmp_path
    shutil.copytree(model_dir, root / "models")
    (root / "contracts").mkdir()
    shutil.copy(CONTRACT, root / "contracts" / "churn.yaml")
    (root / "data").mkdir()
    holdout = traffic.head(300).astype({"signup_date": "datetime64[ns]"})
    holdout.to_parquet(root / "data" / "holdout.parquet", index=False)
    pd.DataFrame(
        {
            "customer_id": holdout["customer_id"],
            "label": holdout["churned"],
            "score": offline[:300],
        }
    ).to_parquet(root / "data" / "holdout_predictions.parquet", index=False)
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    params["serving"] = {
        "parity_rows": 120,
        "parity_single": 10,
        "batch_size": 25,
        "latency_single": 20,
        "latency_batch": 4,
        "warmup": 2,
        "startup_timeout_s": STARTUP_TIMEOUT,
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(root)

    _stage_module().main()

    metrics = json.loads((root / "metrics" / "serving.json").read_text())
    assert metrics["parity_passed"] is True
    assert metrics["parity_max_abs_diff"] <= 1e-9
    assert metrics["parity"]["n_scored"] == 120
    assert (metrics["parity"]["n_single_requests"], metrics["parity"]["n_batch_requests"]) == (
        10,
        5,
    )
    assert metrics["n_5xx"] == 0 and metrics["n_transport_errors"] == 0
    assert metrics["bad_payloads_passed"] is True
    cases = metrics["bad_payloads"]["cases"]
    assert cases["extra_field"]["status"] == 422 and cases["non_json"]["passed"]
    single, batch = metrics["latency_ms"]["single"], metrics["latency_ms"]["batch"]
    assert single["n"] == 20 and batch["n"] == 4 and batch["batch_size"] == 25
    assert 0 < single["p50"] <= single["p95"] <= single["p99"]
    n_cases = metrics["bad_payloads"]["n_cases"]
    assert metrics["n_requests"] == 15 + n_cases + (20 + 2) + (4 + 2)
    assert metrics["served_sha256_matches"] is True
    assert _servers_for(root.resolve()) == []
