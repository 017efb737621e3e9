"""The scoring service behind the HTTP API, with no HTTP in it.

:class:`ScoringService` turns a request body into a status code and a JSON document. The
FastAPI app, the in-process shadow and canary replays and the tests all call the same
``predict_body``, so what is checked in-process is exactly what a server answers.

Status codes: 200 with probabilities; 422 when the contract rejects the body (every error names
its field and what was expected); 500 only for a failure after validation, which is a bug:
a payload the contract accepts must always be scored.
"""

from __future__ import annotations

import logging
import platform
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np

from mlgate.scoring import predict_scores
from mlgate.serving.schema import PayloadError, RequestSchema

__all__ = ["ModelIdentity", "Reply", "ScoringService", "library_versions"]

logger = logging.getLogger("mlgate.serving")

_LIBRARIES = (
    "mlgate",
    "scikit-learn",
    "numpy",
    "pandas",
    "pandera",
    "fastapi",
    "uvicorn",
    "pydantic",
)


@dataclass(frozen=True)
class ModelIdentity:
    """Which model is served: what /version reports and every prediction carries."""

    version: str  # GTO version (v1.2.0) when the commit has one, else the ref or sha256 prefix
    sha256: str
    source: str  # "path" | "ref" | "champion"
    ref: str  # the path or git ref it was loaded from
    commit: str | None  # git commit of the model (ref) or of the work tree (path)
    contract: str  # where the request contract came from
    registry_version: str | None = None  # GTO version of the model's commit, if registered

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.version,
            "sha256": self.sha256,
            "source": self.source,
            "ref": self.ref,
            "commit": self.commit,
            "contract": self.contract,
            "registry_version": self.registry_version,
        }


@dataclass(frozen=True)
class Reply:
    """One answer: HTTP status, decoded JSON content, and wall time in milliseconds.

    ``status`` 0 stands for a transport failure (no HTTP answer at all).
    """

    status: int
    content: Any
    ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def probabilities(self) -> list[float] | None:
        if self.status == 200 and isinstance(self.content, dict):
            values = self.content.get("probabilities")
            return values if isinstance(values, list) else None
        return None


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass
class ScoringService:
    """A loaded model, its request schema and identity; thread-safe for reads."""

    pipeline: Any
    meta: dict[str, Any]
    schema: RequestSchema
    identity: ModelIdentity
    # OpenMP threads per prediction. One: a request holds a few rows, where thread start-up
    # costs more than it saves, and on a busy machine idle-spinning OpenMP threads made
    # one-row predictions 20x slower. Parallelism comes from server workers instead.
    threads: int = 1
    started: float = field(default_factory=time.time)
    _pools: Any = field(default=None, init=False, repr=False, compare=False)

    def predict_frame(self, frame: Any) -> np.ndarray:
        if self._pools is None:
            from threadpoolctl import ThreadpoolController

            # Created after the model is loaded, so it sees the OpenMP runtime sklearn loaded.
            self._pools = ThreadpoolController()
        with self._pools.limit(limits=self.threads, user_api="openmp"):
            return predict_scores(self.pipeline, frame)

    def predict_body(self, body: bytes | str) -> Reply:
        """Validate and score one request body; never raises."""
        start = time.perf_counter()
        try:
            frame, _ = self.schema.parse(body)
            scores = self.predict_frame(frame)
            if not np.all(np.isfinite(scores)):
                raise ValueError(f"model returned non-finite probabilities: {scores.tolist()}")
        except PayloadError as exc:
            return Reply(422, {"detail": exc.errors}, _ms(start))
        except Exception as exc:  # a bug, not a bad payload: log it whole, answer 500
            logger.error("request failed:\n%s", traceback.format_exc())
            return Reply(
                500, {"detail": f"internal error while scoring: {type(exc).__name__}"}, _ms(start)
            )
        content = {
            "model_version": self.identity.version,
            "model_sha256": self.identity.sha256,
            "n": len(scores),
            "probabilities": scores.tolist(),
        }
        return Reply(200, content, _ms(start))

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "model_version": self.identity.version,
            "uptime_s": round(time.time() - self.started, 3),
        }

    def version(self) -> dict[str, Any]:
        trained = {k: self.meta[k] for k in self.meta if k.endswith("_version")}
        return {
            **self.identity.to_dict(),
            "estimator": self.meta.get("estimator"),
            "input_columns": list(self.schema.input_columns),
            "max_records": self.schema.max_records,
            "unchecked_contract_rules": list(self.schema.unchecked),
            "trained_with": trained,
            "libraries": library_versions(),
        }


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
