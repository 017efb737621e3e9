"""The serving checks: score parity with offline predictions, bad-payload catalog, latency.

Each check takes a :class:`~mlgate.serving.client.Backend` (a real server in the stage, the
in-process service in fast tests) and returns plain data; the stage writes it out and the gate
judges it. Request counts are bounded by the caller's arguments; nothing here loops until
something happens.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlgate.serving.client import Backend, dumps_body, latency_summary
from mlgate.serving.schema import FieldSpec, RequestSchema
from mlgate.serving.service import Reply

__all__ = [
    "BadPayload",
    "ReplyLog",
    "bad_payload_catalog",
    "check_bad_payloads",
    "check_parity",
    "measure_latency",
]


class ReplyLog:
    """Wraps a backend and counts every reply by status class (for n_5xx and n_requests)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.name = backend.name
        self.n_requests = 0
        self.n_5xx = 0
        self.n_transport_errors = 0

    def call(self, body: bytes) -> Reply:
        reply = self.backend.call(body)
        self.n_requests += 1
        self.n_5xx += reply.status >= 500
        self.n_transport_errors += reply.status == 0
        return reply

    def counts(self) -> dict[str, int]:
        return {
            "n_requests": self.n_requests,
            "n_5xx": self.n_5xx,
            "n_transport_errors": self.n_transport_errors,
        }


# --------------------------------------------------------------------------- parity


def check_parity(
    backend: Backend,
    records: Sequence[dict[str, Any]],
    expected: Sequence[float] | np.ndarray,
    *,
    n_single: int,
    batch_size: int,
    tolerance: float = 1e-9,
) -> dict[str, Any]:
    """Send the first ``n_single`` records one per request and the rest in batches; compare.

    A record whose request failed counts as a mismatch (its difference is reported as
    missing, and parity fails): the API must score every row the contract accepts.
    """
    if len(records) != len(expected):
        raise ValueError(
            f"records ({len(records)}) and expected ({len(expected)}) differ in "
            "length; expected one offline score per record"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
    got = np.full(len(records), np.nan)
    n_failed, first_failure = 0, None
    n_single = min(n_single, len(records))
    chunks = [(i, i + 1) for i in range(n_single)]
    chunks += [
        (i, min(i + batch_size, len(records))) for i in range(n_single, len(records), batch_size)
    ]
    for lo, hi in chunks:
        payload = records[lo] if hi - lo == 1 and lo < n_single else list(records[lo:hi])
        reply = backend.call(dumps_body(payload))
        probs = reply.probabilities
        if probs is None or len(probs) != hi - lo:
            n_failed += 1
            if first_failure is None:
                first_failure = f"rows {lo}-{hi - 1}: HTTP {reply.status} {_short(reply.content)}"
            continue
        got[lo:hi] = probs
    expected_arr = np.asarray(expected, dtype=np.float64)
    diff = np.abs(got - expected_arr)
    n_scored = int(np.isfinite(got).sum())
    max_diff = float(np.nanmax(diff)) if n_scored else None
    return {
        "n_rows": len(records),
        "n_single_requests": n_single,
        "n_batch_requests": len(chunks) - n_single,
        "batch_size": batch_size,
        "n_scored": n_scored,
        "max_abs_diff": max_diff,
        "tolerance": tolerance,
        "passed": bool(
            n_scored == len(records) and max_diff is not None and max_diff <= tolerance
        ),
        "n_failed_requests": n_failed,
        "first_failure": first_failure,
    }


def _short(content: Any, limit: int = 300) -> str:
    text = str(content)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- bad payloads


@dataclass(frozen=True)
class BadPayload:
    """A request the API must refuse with a 4xx that names ``field``."""

    name: str
    body: bytes
    field: str  # the field the error must name ("body" for the body as a whole)
    description: str


def _first(fields: Sequence[FieldSpec], test: Any) -> FieldSpec | None:
    return next((f for f in fields if test(f)), None)


def _outside(spec: FieldSpec, side: str) -> Any:
    """A value just outside the field's contract range on ``side`` ("max" or "min")."""
    bound = spec.maximum if side == "max" else spec.minimum
    if bound is None:
        return None
    step = 1 if spec.kind == "int" else max(abs(float(bound)) * 1e-6, 1e-3)
    return bound + step if side == "max" else bound - step


_WRONG_TYPE = {"int": "twelve", "float": "12.5", "bool": "yes", "str": 12345, "datetime": 20250213}


def bad_payload_catalog(schema: RequestSchema, valid: dict[str, Any]) -> list[BadPayload]:
    """Payloads the contract rejects, built from one valid record and the schema.

    Cases that the contract gives no handle for (no ranged or categorical input, say) are
    left out rather than faked; the list names every case it holds.
    """
    inputs = [f for f in schema.fields if f.model_input]
    cases: list[BadPayload] = []

    def record(name: str, field: str, description: str, **changes: Any) -> None:
        rec = copy.deepcopy(valid)
        for key, value in changes.items():
            if value is _DROP:
                rec.pop(key, None)
            else:
                rec[key] = value
        cases.append(BadPayload(name, dumps_body(rec), field, description))

    required = _first(inputs, lambda f: f.required)
    if required:
        record(
            "missing_field",
            required.name,
            f"record without '{required.name}'",
            **{required.name: _DROP},
        )
    for kind in ("int", "float", "bool", "str", "datetime"):
        spec = _first(inputs, lambda f, k=kind: f.kind == k)
        if spec:
            record(
                f"wrong_type_{kind}",
                spec.name,
                f"'{spec.name}' given a {type(_WRONG_TYPE[kind]).__name__}",
                **{spec.name: _WRONG_TYPE[kind]},
            )
    spec = _first(inputs, lambda f: f.kind == "str" and f.allowed is not None)
    if spec:
        record(
            "unknown_category",
            spec.name,
            f"'{spec.name}' outside its allowed values",
            **{spec.name: "__not_a_category__"},
        )
    for side in ("max", "min"):
        spec = _first(
            inputs, lambda f, s=side: f.kind in ("int", "float") and _outside(f, s) is not None
        )
        if spec:
            value = _outside(spec, side)
            record(
                f"out_of_range_{side}", spec.name, f"'{spec.name}' = {value}", **{spec.name: value}
            )
    spec = _first(inputs, lambda f: not f.nullable)
    if spec:
        record("null_in_non_nullable", spec.name, f"'{spec.name}' = null", **{spec.name: None})
    spec = _first(inputs, lambda f: f.kind == "str" and f.pattern is not None)
    if spec:
        record(
            "pattern_mismatch",
            spec.name,
            f"'{spec.name}' not matching its pattern",
            **{spec.name: "!" + "x" * 8},
        )
    spec = _first(inputs, lambda f: f.kind == "datetime")
    if spec:
        record(
            "unparseable_date",
            spec.name,
            f"'{spec.name}' = 'not-a-date'",
            **{spec.name: "not-a-date"},
        )
        record(
            "date_out_of_range",
            spec.name,
            f"'{spec.name}' = '0001-01-01'",
            **{spec.name: "0001-01-01"},
        )
    spec = _first(inputs, lambda f: f.kind == "int")
    if spec:
        record("huge_integer", spec.name, f"'{spec.name}' = 10**30", **{spec.name: 10**30})
    spec = _first(inputs, lambda f: f.kind == "float")
    if spec:
        body = dumps_body({**valid, spec.name: 0.0}).replace(
            f'"{spec.name}":0.0'.encode(), f'"{spec.name}":NaN'.encode()
        )
        cases.append(BadPayload("nan_number", body, spec.name, f"'{spec.name}' = NaN"))
    if not schema.extra_allowed:
        record(
            "extra_field",
            "unexpected_field",
            "a field the contract does not declare",
            unexpected_field=1,
        )
    if required:
        bad_row = copy.deepcopy(valid)
        bad_row.pop(required.name, None)
        cases.append(
            BadPayload(
                "bad_row_in_batch",
                dumps_body([valid, bad_row]),
                required.name,
                f"second record of two lacks '{required.name}'",
            )
        )
    cases.append(BadPayload("empty_list", b"[]", "body", "an empty list of records"))
    cases.append(BadPayload("non_json", b"{this is not json", "body", "a body that is not JSON"))
    cases.append(BadPayload("scalar_body", b"42", "body", "a JSON number as the body"))
    cases.append(
        BadPayload(
            "deeply_nested",
            b"[" * 50_000 + b"]" * 50_000,
            "body",
            "50,000 nested lists (the JSON decoder recurses per level)",
        )
    )
    cases.append(
        BadPayload(
            "too_many_records",
            dumps_body([valid] * (schema.max_records + 1)),
            "body",
            f"{schema.max_records + 1} records in one request",
        )
    )
    return cases


_DROP = object()


def _names_field(content: Any, field: str) -> bool:
    """Whether a 4xx body's errors name ``field`` (in a ``field`` entry or the location)."""
    detail = content.get("detail") if isinstance(content, dict) else None
    if not isinstance(detail, list):
        return False
    for err in detail:
        if not isinstance(err, dict):
            continue
        if err.get("field") == field or field in [str(p) for p in err.get("loc", [])]:
            return True
    return False


def check_bad_payloads(backend: Backend, cases: Sequence[BadPayload]) -> dict[str, Any]:
    """Send each bad payload once; a case passes on a 4xx whose errors name its field."""
    results: dict[str, Any] = {}
    for case in cases:
        reply = backend.call(case.body)
        is_4xx = 400 <= reply.status < 500
        named = is_4xx and _names_field(reply.content, case.field)
        results[case.name] = {
            "field": case.field,
            "status": reply.status,
            "passed": bool(named),
            # Only a failing case carries prose: metrics files stay small tables of numbers.
            **(
                {}
                if named
                else {"description": case.description, "response": _short(reply.content)}
            ),
        }
    return {
        "n_cases": len(cases),
        "n_passed": sum(r["passed"] for r in results.values()),
        "passed": all(r["passed"] for r in results.values()) and bool(results),
        "cases": results,
    }


# --------------------------------------------------------------------------- latency


def measure_latency(
    backend: Backend,
    records: Sequence[dict[str, Any]],
    *,
    n_single: int,
    n_batch: int,
    batch_size: int,
    warmup: int = 5,
) -> dict[str, Any]:
    """Client-side wall time of ``n_single`` one-record and ``n_batch`` batch requests.

    Requests are sent one after another (no concurrency), cycling through ``records``; the
    first ``warmup`` requests of each kind are not counted. Only 200 replies are timed, the
    rest are counted as errors.
    """
    if not records:
        raise ValueError("records: expected at least one record to time")

    def run(bodies: list[bytes]) -> tuple[list[float], int]:
        for body in bodies[:warmup]:
            backend.call(body)
        times, errors = [], 0
        for body in bodies[warmup:]:
            reply = backend.call(body)
            if reply.ok:
                times.append(reply.ms)
            else:
                errors += 1
        return times, errors

    n = len(records)
    singles = [dumps_body(records[i % n]) for i in range(warmup + n_single)]
    batches = [
        dumps_body([records[(j * batch_size + k) % n] for k in range(batch_size)])
        for j in range(warmup + n_batch)
    ]
    single_ms, single_errors = run(singles)
    batch_ms, batch_errors = run(batches)
    return {
        "single": {**latency_summary(single_ms), "errors": single_errors},
        "batch": {
            **latency_summary(batch_ms),
            "errors": batch_errors,
            "batch_size": batch_size,
            "records_per_s": _throughput(batch_ms, batch_size),
        },
    }


def _throughput(ms: list[float], per_request: int) -> float | None:
    total = sum(ms)
    return round(len(ms) * per_request / (total / 1000.0), 1) if total > 0 else None
