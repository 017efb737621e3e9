"""FastAPI app: ``POST /predict``, ``GET /health``, ``GET /version``.

The body of ``/predict`` is read as raw bytes and validated by the contract-derived schema
(:mod:`mlgate.serving.derive`, :mod:`mlgate.serving.schema`) rather than by a FastAPI body
parameter, because a body that is "one record or a list of records" would otherwise produce
pydantic union errors (one per branch) instead of one error per bad field. The OpenAPI
document still shows the schema.

Scoring runs inline in the event loop: it is CPU-bound and holds the GIL for most of its
time, so a thread pool would add a hop without adding parallelism; throughput comes from
uvicorn workers (processes). Request bodies are capped at ``max_body_bytes`` (413) while they
arrive: a chunked upload has no Content-Length, so the body is counted chunk by chunk and
refused as soon as it passes the cap, never held whole in memory.

Served by :mod:`mlgate.serving.process` (what the serving stage and ``mlgate serve --workers N``
run); the model is loaded once per worker, at startup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from mlgate.serving.service import Reply, ScoringService

__all__ = ["app_from_options", "create_app"]

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


def _json(reply: Reply) -> Response:
    # allow_nan=False: a NaN would make the body invalid JSON; predict_body never returns one.
    body = json.dumps(reply.content, allow_nan=False, separators=(",", ":"))
    return Response(body, status_code=reply.status, media_type="application/json")


def create_app(
    service: ScoringService, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> FastAPI:
    """The API for one loaded model."""
    app = FastAPI(
        title="mlgate scoring API",
        version=service.identity.version,
        description="Churn probabilities from the model gated by mlgate. Request fields, "
        "types and allowed values come from the data contract.",
    )
    app.state.service = service

    @app.post(
        "/predict",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": service.schema.json_schema()}},
            }
        },
        responses={
            422: {
                "description": "The contract rejects the body; each error names "
                "its field and what was expected"
            }
        },
    )
    async def predict(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            return _too_large(max_body_bytes)
        body = await _read_capped(request, max_body_bytes)
        if body is None:
            return _too_large(max_body_bytes)
        return _json(service.predict_body(body))

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return service.health()

    @app.get("/version")
    async def version() -> dict[str, Any]:
        return service.version()

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)

    return app


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as more than ``limit`` bytes have arrived.

    Stopping early leaves the rest unread; uvicorn then closes the connection after the 413
    instead of reading on (its receive buffer is paused at 64 KiB), so memory stays bounded.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Response:
    detail = [
        {
            "field": "body",
            "row": None,
            "loc": ["body"],
            "type": "too_large",
            "msg": "request body too large",
            "expected": f"at most {limit} bytes",
        }
    ]
    # Connection: close tells the client not to send the rest of an oversized upload.
    return Response(
        json.dumps({"detail": detail}),
        status_code=413,
        media_type="application/json",
        headers={"connection": "close"},
    )


def app_from_options(options: Mapping[str, Any]) -> FastAPI:
    """The app for :func:`mlgate.serving.loading.load_service` keyword arguments: ``model``
    (path or git ref, required), ``root``, ``contract``, ``max_records``, ``threads`` (OpenMP
    threads per prediction, default 1; see ScoringService.threads)."""
    from mlgate.serving.loading import load_service

    if "model" not in options:
        raise RuntimeError("server options lack 'model'; expected a model path or git ref")
    return create_app(load_service(**{"threads": 1, **options}))
