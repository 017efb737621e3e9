"""Shadow replay: known score differences are measured, and callers only see the champion."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlgate.errors import DataError
from mlgate.params import DriftKnobs, GenerateParams, NumericDrift
from mlgate.serving.client import InProcessBackend, dumps_body
from mlgate.serving.service import Reply, ScoringService
from mlgate.serving.shadow import (
    ShadowRouter,
    parse_request_log,
    replay,
    shadow_markdown,
    summarise_shadow,
    synthetic_request_log,
)


def _bodies(records: list[dict[str, Any]], n: int) -> list[bytes]:
    # Mixed traffic: single records, then a few batches of 5.
    singles = [dumps_body(r) for r in records[:n]]
    batches = [dumps_body(records[i : i + 5]) for i in range(n, n + 25, 5)]
    return singles + batches


def test_known_difference_is_measured(
    service: ScoringService, shifted: Any, records: list[dict[str, Any]], offline: np.ndarray
) -> None:
    # candidate = 0.5 * p + 0.25: |diff| = |0.25 - 0.5 p| per record, decisions known exactly.
    candidate = shifted(service, 0.5, 0.25)
    router = ShadowRouter(InProcessBackend(service), InProcessBackend(candidate))
    replay(_bodies(records, 20), router)
    summary = summarise_shadow(router.observations, threshold=0.5)
    p = offline[:45]
    q = 0.5 * p + 0.25
    diff = np.abs(q - p)
    assert summary["n_requests"] == 25 and summary["n_records_compared"] == 45
    assert summary["abs_diff"]["mean"] == pytest.approx(diff.mean(), abs=1e-12)
    assert summary["abs_diff"]["max"] == pytest.approx(diff.max(), abs=1e-12)
    assert summary["abs_diff"]["p95"] == pytest.approx(np.percentile(diff, 95), abs=1e-12)
    assert summary["disagreement_rate"] == pytest.approx(np.mean((p >= 0.5) != (q >= 0.5)))
    assert summary["mean_score"]["candidate"] == pytest.approx(q.mean())
    assert summary["candidate"]["latency_ms"]["n"] == 25
    assert summary["candidate"]["n_errors"] == 0


def test_identical_models_agree_exactly(
    service: ScoringService, records: list[dict[str, Any]]
) -> None:
    router = ShadowRouter(InProcessBackend(service), InProcessBackend(service))
    replay(_bodies(records, 10), router)
    summary = summarise_shadow(router.observations, threshold=0.5)
    assert summary["disagreement_rate"] == 0.0 and summary["abs_diff"]["max"] == 0.0


def test_callers_only_ever_get_the_champions_reply(
    service: ScoringService, shifted: Any, records: list[dict[str, Any]]
) -> None:
    class Exploding:
        name = "exploding"

        def __init__(self) -> None:
            self.calls = 0

        def call(self, body: bytes) -> Reply:
            self.calls += 1
            if self.calls % 2:
                raise ConnectionError("candidate down")
            return Reply(500, {"detail": "candidate bug"})

    bodies = _bodies(records, 10)
    alone = [InProcessBackend(service).call(b) for b in bodies]
    for candidate in (Exploding(), InProcessBackend(shifted(service, 0.0, 0.9))):
        router = ShadowRouter(InProcessBackend(service), candidate)
        got = replay(bodies, router)
        assert [(r.status, r.content) for r in got] == [(r.status, r.content) for r in alone]
    summary = summarise_shadow(router.observations, threshold=0.5)
    assert summary["candidate"]["n_errors"] == 0  # the last candidate scored everything
    exploding = ShadowRouter(InProcessBackend(service), Exploding())
    replay(bodies, exploding)
    failed = summarise_shadow(exploding.observations, threshold=0.5)
    assert failed["candidate"]["n_errors"] == len(bodies)
    assert failed["candidate"]["n_rejected_where_champion_scored"] == len(bodies)
    assert failed["n_records_compared"] == 0 and failed["disagreement_rate"] is None


def test_markdown_section(
    service: ScoringService, shifted: Any, records: list[dict[str, Any]]
) -> None:
    router = ShadowRouter(InProcessBackend(service), InProcessBackend(shifted(service, 1, 0.01)))
    replay(_bodies(records, 5), router)
    text = shadow_markdown(
        summarise_shadow(router.observations, threshold=0.5), champion="v1", candidate="v2"
    )
    assert text.startswith("## Shadow replay")
    assert "`v1`" in text and "`v2`" in text and "0.0100" in text


def test_request_log_round_trip_and_drift(service: ScoringService) -> None:
    base = GenerateParams(seed=3)
    lines = synthetic_request_log(base, n_requests=30, records_per_request=2)
    assert len(lines) == 30 and json.loads(lines[0])["request_id"] == 0
    bodies = parse_request_log(["", *lines, ""])
    assert len(bodies) == 30
    assert all(InProcessBackend(service).call(b).status == 200 for b in bodies)
    assert "churned" not in json.loads(bodies[0])[0]

    drifted = replace(base, drift=DriftKnobs(numeric={"tenure_months": NumericDrift(shift=-10)}))
    tenure = [
        pd.DataFrame(
            [json.loads(line)["body"] for line in synthetic_request_log(p, n_requests=300)]
        )["tenure_months"].mean()
        for p in (base, drifted)
    ]
    assert tenure[1] < tenure[0] - 5
    # A bare body per line works too.
    assert parse_request_log([json.dumps({"tenure_months": 1})]) == [b'{"tenure_months":1}']


def test_bad_request_log_lines_are_named() -> None:
    with pytest.raises(DataError, match="line 2"):
        parse_request_log(['{"body": {}}', "{oops"])
    with pytest.raises(DataError, match="no requests"):
        parse_request_log(["", "  "])
