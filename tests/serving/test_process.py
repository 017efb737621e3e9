"""The server process is configured by its arguments only (no MLGATE_SERVE_* variables)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from mlgate.serving.app import app_from_options
from mlgate.serving.process import ServeConfig
from mlgate.serving.server import free_port
from tests.serving.conftest import REPO_ROOT

STARTUP_TIMEOUT = 120.0


def test_options_reach_every_worker_inside_the_pickled_config() -> None:
    # uvicorn hands each worker process the Config by pickling it: the options must survive.
    options = {"model": "models", "root": "/r", "contract": "c.yaml", "max_records": 7}
    config = pickle.loads(pickle.dumps(ServeConfig(options, host="127.0.0.1", port=1)))
    assert config.options == options


def test_missing_model_is_named() -> None:
    with pytest.raises(RuntimeError, match="'model'"):
        app_from_options({"root": "."})


def _get(url: str, deadline: float) -> httpx.Response | None:
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=2.0)
        except httpx.TransportError:
            time.sleep(0.2)
    return None


def test_serve_with_two_workers_loads_the_model_from_params(
    model_dir: Path, tmp_path: Path
) -> None:
    # `mlgate serve --workers 2` runs uvicorn worker processes; each loads the model named by
    # the command and params.yaml, and no MLGATE_SERVE_* variable is set anywhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLGATE_")}
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    # Not the default (1000): the served value must come from this file.
    params["serving"] |= {"max_records": 37, "batch_size": 30}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    port = free_port()
    cmd = [sys.executable, "-m", "mlgate.cli", "serve", "--model", str(model_dir)]
    cmd += ["--params", str(tmp_path / "params.yaml")]
    log = tmp_path / "serve.log"
    with log.open("wb") as err:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [*cmd, "--workers", "2", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        reply = _get(f"http://127.0.0.1:{port}/version", time.monotonic() + STARTUP_TIMEOUT)
        assert reply is not None and reply.status_code == 200, log.read_text()
        served = reply.json()
        assert served["sha256"] == json.loads((model_dir / "model.json").read_text())["sha256"]
        assert served["max_records"] == 37  # serving.max_records reached the worker
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
