"""Calling a scoring backend (a server over HTTP, or a service in-process) and timing it.

Everything that replays traffic (the serving checks, shadow, canary, the benchmark) talks to a
:class:`Backend`: ``call(body) -> Reply``. A backend never raises for a bad answer; a transport
failure is a Reply with status 0, so a dead server shows up as failed requests in the results
instead of aborting the run.

:func:`frame_to_records` turns table rows into JSON-ready records with the types the API
expects (ints, floats, bools, ISO-8601 datetimes, null for missing values), so rows scored
offline and rows sent to the API are the same rows.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from mlgate.serving.service import Reply, ScoringService

__all__ = [
    "Backend",
    "HttpBackend",
    "InProcessBackend",
    "dumps_body",
    "frame_to_records",
    "latency_summary",
]


class Backend(Protocol):
    name: str

    def call(self, body: bytes) -> Reply: ...


class InProcessBackend:
    """A ScoringService called directly: the API's logic without HTTP or a process."""

    def __init__(self, service: ScoringService, name: str = "in-process") -> None:
        self.service = service
        self.name = name

    def call(self, body: bytes) -> Reply:
        start = time.perf_counter()
        reply = self.service.predict_body(body)
        return Reply(reply.status, reply.content, (time.perf_counter() - start) * 1000.0)


class HttpBackend:
    """POST /predict on a running server, over one keep-alive connection."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, name: str = "http") -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.name = name
        self._httpx = httpx
        self.client = httpx.Client(base_url=self.base_url, timeout=timeout)

    def call(self, body: bytes) -> Reply:
        start = time.perf_counter()
        try:
            response = self.client.post(
                "/predict", content=body, headers={"content-type": "application/json"}
            )
        except self._httpx.HTTPError as exc:
            return Reply(
                0,
                {"detail": f"{type(exc).__name__}: {exc}"},
                (time.perf_counter() - start) * 1000.0,
            )
        ms = (time.perf_counter() - start) * 1000.0
        try:
            content = response.json()
        except ValueError:
            content = {"detail": response.text[:200]}
        return Reply(response.status_code, content, ms)

    def get(self, path: str) -> Reply:
        start = time.perf_counter()
        try:
            response = self.client.get(path)
            return Reply(
                response.status_code, response.json(), (time.perf_counter() - start) * 1000.0
            )
        except (self._httpx.HTTPError, ValueError) as exc:
            return Reply(
                0,
                {"detail": f"{type(exc).__name__}: {exc}"},
                (time.perf_counter() - start) * 1000.0,
            )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HttpBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- payloads


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp | np.datetime64):
        ts = pd.Timestamp(value)
        return None if pd.isna(ts) else ts.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def frame_to_records(
    frame: pd.DataFrame, columns: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: numpy scalars unwrapped, datetimes ISO-8601, NaN/NaT -> null.

    Floats keep every bit: ``json.dumps`` writes the shortest repr that reads back equal.
    """
    cols = list(columns) if columns is not None else list(frame.columns)
    data = {c: frame[c].astype(object).tolist() for c in cols}
    return [{c: _json_value(data[c][i]) for c in cols} for i in range(len(frame))]


def dumps_body(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def latency_summary(ms: Iterable[float]) -> dict[str, Any]:
    """p50/p95/p99/mean/max of latencies in milliseconds (nearest-rank free: numpy linear)."""
    values = np.asarray(list(ms), dtype=np.float64)
    if values.size == 0:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "n": int(values.size),
        "p50": round(float(p50), 3),
        "p95": round(float(p95), 3),
        "p99": round(float(p99), 3),
        "mean": round(float(values.mean()), 3),
        "max": round(float(values.max()), 3),
    }
