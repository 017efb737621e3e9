"""Shadow replay: the champion answers, the candidate is scored on the same requests, unseen.

:class:`ShadowRouter` is what a shadow deployment does: ``handle(body)`` returns the
champion's reply, then sends the same body to the candidate and keeps only an observation of
it. Whatever the candidate does (a different score, a 500, an exception) never changes what the
caller gets. :func:`replay` runs a request log through a router; :func:`summarise_shadow`
turns the observations into the comparison: disagreement at the decision threshold, the
distribution of absolute score differences, error counts and both latencies.

Request logs are JSON lines, one request per line: either the body itself (one record or a
list of records) or an envelope ``{"request_id": ..., "body": ...}``.
:func:`synthetic_request_log` writes one from the synthetic generator, optionally drifted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mlgate.errors import DataError
from mlgate.serving.client import Backend, dumps_body, frame_to_records, latency_summary
from mlgate.serving.service import Reply

__all__ = [
    "Observation",
    "ShadowRouter",
    "parse_request_log",
    "replay",
    "shadow_markdown",
    "summarise_shadow",
    "synthetic_request_log",
]


@dataclass(frozen=True)
class Observation:
    """One request as both models answered it (the candidate's reply went nowhere else)."""

    champion: Reply
    candidate: Reply


@dataclass
class ShadowRouter:
    champion: Backend
    candidate: Backend
    observations: list[Observation] = field(default_factory=list)

    def handle(self, body: bytes) -> Reply:
        """The champion's reply, always; the candidate's is only observed."""
        answer = self.champion.call(body)
        try:
            shadow = self.candidate.call(body)
        except Exception as exc:  # the shadow must never take the caller down with it
            shadow = Reply(0, {"detail": f"{type(exc).__name__}: {exc}"})
        self.observations.append(Observation(answer, shadow))
        return answer


def replay(bodies: Iterable[bytes], router: ShadowRouter) -> list[Reply]:
    """Send every body through ``router``; return what the callers got (champion replies)."""
    return [router.handle(body) for body in bodies]


def _is_error(reply: Reply) -> bool:
    return reply.status == 0 or reply.status >= 500


def summarise_shadow(observations: Sequence[Observation], *, threshold: float) -> dict[str, Any]:
    """Compare the two models on the requests both scored.

    ``disagreement_rate`` is the share of records whose decision (score >= threshold)
    differs. ``candidate_rejected`` counts requests the champion scored but the candidate
    refused or failed: a candidate that cannot take today's traffic is a finding in itself.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold: expected a number strictly between 0 and 1, got {threshold}")
    champ_scores: list[float] = []
    cand_scores: list[float] = []
    candidate_rejected = 0
    for obs in observations:
        a, b = obs.champion.probabilities, obs.candidate.probabilities
        if a is None:
            continue
        if b is None or len(b) != len(a):
            candidate_rejected += 1
            continue
        champ_scores.extend(a)
        cand_scores.extend(b)
    champ = np.asarray(champ_scores, dtype=np.float64)
    cand = np.asarray(cand_scores, dtype=np.float64)
    diff = np.abs(cand - champ)
    n = int(champ.size)

    def stat(fn: Any) -> float | None:
        return float(fn(diff)) if n else None

    return {
        "n_requests": len(observations),
        "n_records_compared": n,
        "threshold": threshold,
        "disagreement_rate": float(np.mean((champ >= threshold) != (cand >= threshold)))
        if n
        else None,
        "abs_diff": {
            "mean": stat(np.mean),
            "p50": stat(lambda d: np.percentile(d, 50)),
            "p95": stat(lambda d: np.percentile(d, 95)),
            "max": stat(np.max),
        },
        "mean_score": {
            "champion": float(champ.mean()) if n else None,
            "candidate": float(cand.mean()) if n else None,
        },
        "champion": {
            "n_ok": sum(o.champion.ok for o in observations),
            "n_4xx": sum(400 <= o.champion.status < 500 for o in observations),
            "n_errors": sum(_is_error(o.champion) for o in observations),
            "latency_ms": latency_summary(o.champion.ms for o in observations if o.champion.ok),
        },
        "candidate": {
            "n_ok": sum(o.candidate.ok for o in observations),
            "n_4xx": sum(400 <= o.candidate.status < 500 for o in observations),
            "n_errors": sum(_is_error(o.candidate) for o in observations),
            "n_rejected_where_champion_scored": candidate_rejected,
            "latency_ms": latency_summary(o.candidate.ms for o in observations if o.candidate.ok),
        },
    }


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def shadow_markdown(summary: dict[str, Any], *, champion: str, candidate: str) -> str:
    """A Markdown section for the report (and a PR comment)."""
    d, c, k = summary["abs_diff"], summary["champion"], summary["candidate"]
    rate = summary["disagreement_rate"]
    lines = [
        "## Shadow replay",
        "",
        *([f"**{summary['no_evidence']}**", ""] if summary.get("no_evidence") else []),
        f"Champion `{champion}` answered {summary['n_requests']} replayed requests; candidate "
        f"`{candidate}` scored the same requests in the shadow (its answers reached no caller).",
        "",
        "| | value |",
        "| --- | --- |",
        f"| records compared | {summary['n_records_compared']} |",
        f"| decisions that differ at {summary['threshold']} | "
        f"{'n/a' if rate is None else f'{rate:.2%}'} |",
        f"| abs score diff mean / p50 / p95 / max | {_fmt(d['mean'])} / {_fmt(d['p50'])} / "
        f"{_fmt(d['p95'])} / {_fmt(d['max'])} |",
        f"| mean score champion / candidate | {_fmt(summary['mean_score']['champion'])} / "
        f"{_fmt(summary['mean_score']['candidate'])} |",
        f"| candidate refused or failed where champion scored | "
        f"{k['n_rejected_where_champion_scored']} |",
        "",
        "| latency (ms) | p50 | p95 | p99 | errors |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, part in (("champion", c), ("candidate", k)):
        lat = part["latency_ms"]
        lines.append(
            f"| {name} | {_fmt(lat['p50'], 2)} | {_fmt(lat['p95'], 2)} | "
            f"{_fmt(lat['p99'], 2)} | {part['n_errors']} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- request logs


def parse_request_log(lines: Iterable[str], *, source: str = "request log") -> list[bytes]:
    """JSON lines -> request bodies; blank lines are skipped, a bad line names its number."""
    bodies = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise DataError(f"{source} line {number}: not JSON ({exc})") from None
        if isinstance(entry, dict) and "body" in entry:
            entry = entry["body"]
        bodies.append(dumps_body(entry))
    if not bodies:
        raise DataError(f"{source}: no requests; expected one JSON request per line")
    return bodies


def synthetic_request_log(
    params: Any,
    *,
    n_requests: int,
    records_per_request: int = 1,
    drop: Sequence[str] = ("churned",),
) -> list[str]:
    """JSON lines of requests drawn from the synthetic generator (``GenerateParams``).

    Drift and corruption knobs of ``params`` apply, so a drifted or partly invalid stream of
    traffic is one argument away. ``drop`` removes columns a client would not send (the label).
    """
    from mlgate.data.generate import generate

    if n_requests < 1 or records_per_request < 1:
        raise ValueError(
            f"n_requests and records_per_request must be >= 1, got "
            f"{n_requests} and {records_per_request}"
        )
    frame = generate(replace(params, n_rows=n_requests * records_per_request))
    records = frame_to_records(frame.drop(columns=list(drop), errors="ignore"))
    lines = []
    for i in range(n_requests):
        chunk = records[i * records_per_request : (i + 1) * records_per_request]
        body: Any = chunk[0] if records_per_request == 1 else chunk
        lines.append(json.dumps({"request_id": i, "body": body}, separators=(",", ":")))
    return lines
