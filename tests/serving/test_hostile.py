"""Hostile input costs bounded time and memory: linear-time patterns, streamed body cap,
loopback unless asked.

The regex cases would take hours with Python's backtracking ``re`` (``^(\\w+)+$`` doubled its
time per extra character); each request runs in a daemon thread so that a regression fails
the test after a few seconds instead of hanging it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mlgate.cli import main
from mlgate.data.contract import load_contract
from mlgate.errors import ContractError
from mlgate.serving.client import dumps_body
from mlgate.serving.derive import derive_request_schema
from mlgate.serving.server import running_server
from mlgate.serving.service import ScoringService

from .conftest import CONTRACT

BUDGET_S = 0.050
PATHOLOGICAL = [r"^(\w+)+$", r"^(a+)+$", r"^(a|aa)+$", r"^(a|a?)+$", r"(x+x+)+y", r"^(\d+)*$"]


def _contract_with_pattern(tmp_path: Path, pattern: str, check: str = "str_matches") -> Path:
    data = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    data["columns"]["city"]["checks"] = [{"pattern": pattern, "options": {"check_name": check}}]
    path = tmp_path / "contract.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _timed(service: ScoringService, body: bytes) -> tuple[float, Any]:
    """(seconds, reply) of one request, or (inf, None) if it did not finish within 5 s."""
    done: dict[str, Any] = {}

    def call() -> None:
        start = time.perf_counter()
        done["reply"] = service.predict_body(body)
        done["s"] = time.perf_counter() - start

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(timeout=5.0)
    return (done["s"], done["reply"]) if "s" in done else (float("inf"), None)


@pytest.mark.parametrize("check", ["str_matches", "str_contains"])
@pytest.mark.parametrize("pattern", PATHOLOGICAL)
def test_pathological_patterns_answer_within_50_ms(
    tmp_path: Path,
    service: ScoringService,
    records: list[dict[str, Any]],
    pattern: str,
    check: str,
) -> None:
    contract = load_contract(_contract_with_pattern(tmp_path, pattern, check))
    schema = derive_request_schema(contract, service.schema.input_columns)
    hostile = ScoringService(service.pipeline, service.meta, schema, service.identity)
    worst = 0.0
    for n in (41, 1_000, 100_000):
        for value in ("a" * n + "!", "1" * n + "!", "x" * n):
            seconds, reply = _timed(hostile, dumps_body({**records[0], "city": value}))
            assert reply is not None, f"{pattern!r} on {n} characters did not finish in 5 s"
            assert reply.status in (200, 422), reply.content
            worst = max(worst, seconds)
    assert worst < BUDGET_S, f"{pattern!r}: worst request {worst * 1000:.1f} ms"


def test_pattern_rejects_and_accepts_as_the_contract_says(
    tmp_path: Path, service: ScoringService, records: list[dict[str, Any]]
) -> None:
    schema = derive_request_schema(
        load_contract(_contract_with_pattern(tmp_path, r"^city_\d{3}$")),
        service.schema.input_columns,
    )
    # Python's \d is Unicode (pandera accepts '١٢٣'); the API must accept it too.
    for value in ("city_123", "city_١٢٣"):
        frame, _ = schema.parse(dumps_body({**records[0], "city": value}))
        assert frame["city"].tolist() == [value]
    for value in ("city_12", "city_1234", "x"):
        with pytest.raises(ValueError, match="city"):
            schema.parse(dumps_body({**records[0], "city": value}))


def test_pattern_without_a_linear_time_form_is_refused(
    tmp_path: Path, service: ScoringService
) -> None:
    contract = load_contract(_contract_with_pattern(tmp_path, r"^(?=city_)city_\d+$"))
    with pytest.raises(ContractError, match="column 'city'.*linear time"):
        derive_request_schema(contract, service.schema.input_columns)


# --------------------------------------------------------------------------- body size


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def test_chunked_300_mb_upload_is_refused_while_streaming(model_dir: Path) -> None:
    """No Content-Length: the cap must be applied as chunks arrive, memory staying flat."""
    mib = 1 << 20
    sent = {"bytes": 0}

    def body() -> Iterator[bytes]:
        chunk = b"x" * mib
        for _ in range(300):
            sent["bytes"] += mib
            yield chunk

    with running_server(
        str(model_dir), root=model_dir.parent, contract=str(CONTRACT), startup_timeout=120
    ) as server:
        before = peak = _rss_kib(server.pid)
        stop = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _rss_kib(server.pid))
                time.sleep(0.01)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        status = None
        try:
            response = httpx.post(f"{server.base_url}/predict", content=body(), timeout=60)
            status = response.status_code
        except httpx.HTTPError:
            status = "closed"  # the server may close before the client finishes writing
        stop.set()
        watcher.join()
        health = httpx.get(f"{server.base_url}/health", timeout=10)
    growth_mib = (peak - before) / 1024
    print(
        f"300 MB chunked upload: status {status}, sent {sent['bytes'] / mib:.0f} MiB, "
        f"server RSS {before / 1024:.0f} -> peak {peak / 1024:.0f} MiB"
    )
    assert status in (413, "closed")
    assert sent["bytes"] < 300 * mib, "the server read the whole upload"
    assert growth_mib < 40, f"server memory grew by {growth_mib:.0f} MiB"
    assert health.status_code == 200


# --------------------------------------------------------------------------- host


def test_non_loopback_host_needs_allow_remote(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["serve", "--host", "0.0.0.0", "--model", "no-such-model"])
    err = capsys.readouterr().err
    assert code == 2 and "--host 0.0.0.0 is not a loopback address" in err
    assert "--allow-remote" in err
    # With the flag, the host is accepted and the next problem (the model) is reported.
    code = main(["serve", "--host", "0.0.0.0", "--allow-remote", "--model", "./no-such-model"])
    err = capsys.readouterr().err
    assert code == 2 and "loopback" not in err and "no-such-model" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_need_no_flag(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["serve", "--host", host, "--model", "./no-such-model"])
    err = capsys.readouterr().err
    assert code == 2 and "loopback" not in err and "no-such-model" in err
