"""Benchmark the scoring API: latency and throughput, single records and batches of 100.

For 1 and 2 uvicorn workers (real processes on a loopback port), N client threads (one per
worker, each on its own keep-alive connection) send one-record and 100-record requests. The
baseline is the raw in-process ``predict_scores`` on the very frames the API builds from the
same records (the floor: no JSON, no validation, no HTTP), timed in the same round right
before each HTTP series, so a busy shared machine slows both alike; ratios are per round.
The in-process service (JSON + validation + frame + predict, no HTTP) is timed interleaved
with the floor, call by call, to isolate what validation costs. Figures are medians of 3
rounds.

Targets: single-record p95 < 20 ms; batch p50 < 2x the raw predict time of the same 100 rows.
``predict_scores`` takes the fast path of :mod:`mlgate.scoring`; scikit-learn's own
``pipeline.predict_proba`` (same scores, bit for bit) is timed beside it for reference.
The raw floor runs with OMP_NUM_THREADS=1, as the server does (see ScoringService.threads).

Uses the pipeline's candidate (models/, data/holdout.parquet) when present, else a small
model trained here. Client and server share the machine's cores, as the serving stage does.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import machine_line, record  # noqa: E402

from mlgate.scoring import predict_scores  # noqa: E402
from mlgate.serving.client import HttpBackend, dumps_body, frame_to_records  # noqa: E402
from mlgate.serving.loading import load_service  # noqa: E402
from mlgate.serving.server import running_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = "contracts/churn.yaml"
N_SINGLE, N_BATCH, BATCH, ROUNDS, WARMUP = 300, 40, 100, 3, 10
TARGET_SINGLE_P95_MS, TARGET_BATCH_RATIO = 20.0, 2.0


def _model_and_rows() -> tuple[str, pd.DataFrame, str]:
    model, holdout = ROOT / "models", ROOT / "data" / "holdout.parquet"
    if (model / "model.joblib").exists() and holdout.exists():
        return str(model), pd.read_parquet(holdout).head(2000), "pipeline candidate (models/)"
    from mlgate.data.generate import generate
    from mlgate.features import FeatureSpec
    from mlgate.model import build_pipeline, save_model
    from mlgate.params import GenerateParams

    frame = generate(GenerateParams(n_rows=6000, seed=1))
    spec = FeatureSpec(
        numeric=("tenure_months", "monthly_spend", "support_tickets", "is_enterprise"),
        categorical=("contract_type", "region"),
        frequency=("city",),
        cyclical_dates=("signup_date",),
        days_since_dates=("signup_date",),
        date_reference="2026-01-01",
    )
    pipe = build_pipeline(
        spec, estimator="hist_gradient_boosting", hyperparams={"max_iter": 150}, seed=0
    )
    pipe.fit(frame.iloc[:4000][list(spec.columns)], frame.iloc[:4000]["churned"])
    out = Path(tempfile.mkdtemp()) / "models"
    out.mkdir()
    save_model(pipe, out / "model.joblib", out / "model.json", metadata={})
    return str(out), frame.iloc[4000:], "small model trained by the benchmark"


def _pcts(ms: list[float]) -> dict[str, float]:
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99)}


def _median(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}


def _clock(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


class Workload:
    """Request bodies and the frames the API builds from them, for 1 record and a batch."""

    def __init__(self, model: str, records: list[dict]) -> None:
        self.service = load_service(model, root=ROOT, contract=CONTRACT)
        n = len(records)
        self.single_bodies = [dumps_body(r) for r in records[:N_SINGLE]]
        self.batch_bodies = [
            dumps_body(records[(j * BATCH) % (n - BATCH) :][:BATCH]) for j in range(N_BATCH)
        ]
        parse = self.service.schema.parse
        self.single_frames = [parse(b)[0] for b in self.single_bodies]
        self.batch_frames = [parse(b)[0] for b in self.batch_bodies]

    def raw(self, kind: str) -> list[float]:
        frames = self.single_frames if kind == "single" else self.batch_frames
        pipeline = self.service.pipeline
        for frame in frames[:WARMUP]:
            predict_scores(pipeline, frame)
        return [_clock(lambda f=f: predict_scores(pipeline, f)) for f in frames]


def _in_process(work: Workload) -> dict[str, Any]:
    """Floor, service and sklearn's predict_proba timed call by call, alternating, so load
    hits all three alike. predict_proba is what predict_scores ran before mlgate.scoring's
    shortcuts."""
    out: dict[str, Any] = {}
    pipeline, service = work.service.pipeline, work.service
    for kind, frames, bodies in (
        ("single", work.single_frames, work.single_bodies),
        ("batch", work.batch_frames, work.batch_bodies),
    ):
        rounds: dict[str, list[dict[str, float]]] = {"raw": [], "service": [], "sklearn": []}
        for _ in range(ROUNDS):
            ms: dict[str, list[float]] = {name: [] for name in rounds}
            for f, b in zip(frames, bodies, strict=True):
                ms["raw"].append(_clock(lambda f=f: predict_scores(pipeline, f)))
                ms["service"].append(_clock(lambda b=b: service.predict_body(b)))
                ms["sklearn"].append(_clock(lambda f=f: pipeline.predict_proba(f)))
            for name, values in ms.items():
                rounds[name].append(_pcts(values))
        for name, parts in rounds.items():
            out[f"{name}_{kind}"] = _median(parts)
    return out


def _load(url: str, bodies: list[bytes], clients: int) -> tuple[list[float], float]:
    """Every body once, spread over ``clients`` threads; (latencies ms, wall seconds)."""
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def worker(k: int) -> None:
        with HttpBackend(url, timeout=60) as http:
            for body in bodies[:WARMUP]:
                http.call(body)
            for body in bodies[k::clients]:
                reply = http.call(body)
                lat[k].append(reply.ms)
                errors[k] += not reply.ok

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if sum(errors):
        raise RuntimeError(f"{sum(errors)} failed requests during the benchmark")
    return [x for part in lat for x in part], wall


def _server(model: str, work: Workload, workers: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with running_server(
        model, root=ROOT, contract=CONTRACT, workers=workers, startup_timeout=180
    ) as server:
        for kind, bodies, per_request in (
            ("single", work.single_bodies, 1),
            ("batch", work.batch_bodies, BATCH),
        ):
            rounds = []
            for _ in range(ROUNDS):
                floor = _pcts(work.raw(kind))
                ms, wall = _load(server.base_url, bodies, workers)
                http = _pcts(ms)
                rounds.append(
                    {
                        **http,
                        "rps": len(bodies) / wall,
                        "records_s": len(bodies) * per_request / wall,
                        "floor_p50": floor["p50"],
                        "ratio_p50": http["p50"] / floor["p50"],
                    }
                )
            out[kind] = _median(rounds)
        out["startup_s"] = server.startup_seconds
    return out


def main() -> None:
    model, frame, which = _model_and_rows()
    records = frame_to_records(frame.drop(columns=["churned"], errors="ignore"))
    load_before = os.getloadavg()[0]
    work = Workload(model, records)
    floor = _in_process(work)
    servers = {w: _server(model, work, w) for w in (1, 2)}
    load_after = os.getloadavg()[0]

    def row(label: str, part: dict[str, float], extra: str = "") -> str:
        return f"| {label} | {part['p50']:.2f} | {part['p95']:.2f} | {part['p99']:.2f} | {extra} |"

    lines = [
        "## serving",
        "",
        f"{machine_line(('numpy', 'pandas', 'scikit-learn', 'fastapi', 'uvicorn'))}. Model: "
        f"{which}. 1-minute load average {load_before:.1f} before, {load_after:.1f} after "
        "(other jobs share the 2 cores). Median of 3 rounds; client threads = workers, each on "
        f"one keep-alive connection, client and server on the same 2 cores; {N_SINGLE} "
        f"single-record and {N_BATCH} batch ({BATCH} records) requests per round; OpenMP "
        "pinned to 1 thread per process. x floor = p50 / p50 of raw predict_scores on the "
        "same frames, timed in the same round.",
        "",
        "| what | p50 ms | p95 ms | p99 ms | throughput / x floor |",
        "| --- | --- | --- | --- | --- |",
        row("raw predict_scores, 1 record (floor)", floor["raw_single"]),
        row(f"raw predict_scores, {BATCH} records (floor)", floor["raw_batch"]),
        row(
            "sklearn pipeline.predict_proba, 1 record (before the mlgate.scoring shortcuts)",
            floor["sklearn_single"],
            f"{floor['sklearn_single']['p50'] / floor['raw_single']['p50']:.2f}x floor",
        ),
        row(
            f"sklearn pipeline.predict_proba, {BATCH} records",
            floor["sklearn_batch"],
            f"{floor['sklearn_batch']['p50'] / floor['raw_batch']['p50']:.2f}x floor",
        ),
        row(
            "in-process service, 1 record (JSON + validation + predict)",
            floor["service_single"],
            f"{floor['service_single']['p50'] / floor['raw_single']['p50']:.2f}x floor",
        ),
        row(
            f"in-process service, {BATCH} records",
            floor["service_batch"],
            f"{floor['service_batch']['p50'] / floor['raw_batch']['p50']:.2f}x floor",
        ),
    ]
    for w, res in servers.items():
        s, b = res["single"], res["batch"]
        lines.append(
            row(
                f"HTTP, {w} worker(s), 1 record",
                s,
                f"{s['rps']:.0f} req/s; {s['ratio_p50']:.2f}x floor",
            )
        )
        lines.append(
            row(
                f"HTTP, {w} worker(s), {BATCH} records",
                b,
                f"{b['records_s']:.0f} records/s; {b['ratio_p50']:.2f}x floor",
            )
        )
    p95 = servers[1]["single"]["p95"]
    ratio = servers[1]["batch"]["ratio_p50"]
    lines += [
        "",
        f"* Single-record p95 over HTTP (1 worker): **{p95:.1f} ms** (target < "
        f"{TARGET_SINGLE_P95_MS:.0f} ms: {'met' if p95 < TARGET_SINGLE_P95_MS else 'NOT met'}; "
        f"the raw one-record predict alone has p95 {floor['raw_single']['p95']:.1f} ms here).",
        f"* Batch of {BATCH} over HTTP vs raw predict of the same rows (p50): **{ratio:.2f}x** "
        f"(target < {TARGET_BATCH_RATIO:.0f}x: "
        f"{'met' if ratio < TARGET_BATCH_RATIO else 'NOT met'}).",
        f"* Server start-up to healthy: {servers[1]['startup_s']:.1f} s (1 worker), "
        f"{servers[2]['startup_s']:.1f} s (2 workers).",
    ]
    record("serving", "\n".join(lines))


if __name__ == "__main__":
    main()
