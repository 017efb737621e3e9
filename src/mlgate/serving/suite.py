"""The serving stage's logic: run every check against a real server and summarise it.

:func:`serving_suite` runs the checks against any backend; :func:`run_against_server` starts
the API as a uvicorn process for the model, runs the suite over HTTP and always stops the
server. The summary's top-level keys are what the gate reads (``parity_passed``, ``n_5xx``,
``bad_payloads_passed``, ``latency_ms``); the rest is evidence for a reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandera.pandas as pa

from mlgate.errors import ServerError
from mlgate.serving.checks import (
    ReplyLog,
    bad_payload_catalog,
    check_bad_payloads,
    check_parity,
    measure_latency,
)
from mlgate.serving.client import Backend, HttpBackend
from mlgate.serving.config import ServingParams
from mlgate.serving.derive import derive_request_schema
from mlgate.serving.schema import RequestSchema
from mlgate.serving.server import running_server

__all__ = ["run_against_server", "serving_suite"]


def serving_suite(
    backend: Backend,
    schema: RequestSchema,
    records: Sequence[dict[str, Any]],
    expected: Sequence[float] | np.ndarray,
    cfg: ServingParams,
) -> dict[str, Any]:
    """Parity, bad payloads and latency against ``backend``; every request is counted."""
    log = ReplyLog(backend)
    parity = check_parity(
        log,
        records,
        expected,
        n_single=cfg.parity_single,
        batch_size=cfg.batch_size,
        tolerance=cfg.tolerance,
    )
    bad = check_bad_payloads(log, bad_payload_catalog(schema, records[0]))
    latency = measure_latency(
        log,
        records,
        n_single=cfg.latency_single,
        n_batch=cfg.latency_batch,
        batch_size=cfg.batch_size,
        warmup=cfg.warmup,
    )
    return {
        "parity_passed": parity["passed"],
        "parity_max_abs_diff": parity["max_abs_diff"],
        "bad_payloads_passed": bad["passed"],
        **log.counts(),
        "latency_ms": latency,
        "parity": parity,
        "bad_payloads": bad,
    }


def run_against_server(
    model: str,
    *,
    root: str | Path,
    contract: str,
    contract_schema: pa.DataFrameSchema,
    records: Sequence[dict[str, Any]],
    expected: Sequence[float] | np.ndarray,
    cfg: ServingParams,
) -> dict[str, Any]:
    """Start the API for ``model`` on a free loopback port, run the suite, stop the server.

    The request schema for the bad-payload catalog is derived from the contract and the
    input columns the *server* reports, so the catalog probes what is actually served.
    Raises ServerError if the server does not become healthy or cannot describe itself.
    """
    with (
        running_server(
            model,
            root=root,
            contract=contract,
            host=cfg.host,
            workers=cfg.workers,
            max_records=cfg.max_records,
            startup_timeout=cfg.startup_timeout_s,
        ) as server,
        HttpBackend(server.base_url, timeout=cfg.request_timeout_s, name="server") as http,
    ):
        version = http.get("/version")
        if version.status != 200 or not isinstance(version.content, dict):
            raise ServerError(f"GET /version answered {version.status}: {version.content}")
        info = version.content
        schema = derive_request_schema(
            contract_schema, info["input_columns"], max_records=int(info["max_records"])
        )
        summary = serving_suite(http, schema, records, expected, cfg)
    return {
        "model_sha256": info["sha256"],
        "model_version": info["model_version"],
        **summary,
        "server": {
            "workers": cfg.workers,
            "startup_seconds": round(server.startup_seconds, 3),
        },
    }
