"""Run the API as a real uvicorn process on a free loopback port, and always stop it.

:func:`running_server` is a context manager: it starts ``python -m mlgate.serving.process``
(configured by its arguments) in its own process group, waits (bounded) until ``/health``
answers, yields the base URL, and on exit stops the whole group (SIGTERM, then SIGKILL after a
grace period), whether the body succeeded or raised. Only loopback addresses are accepted:
these servers exist to be measured, never to be reached from elsewhere.

The port is found by binding port 0 and releasing it; another process can take it in
between, so a start that fails with "address already in use" is retried on a new port.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate import paths
from mlgate.errors import ServerError
from mlgate.serving.nodelay import PROTOCOL as NODELAY_PROTOCOL

__all__ = ["ServerHandle", "free_port", "is_loopback", "running_server"]

_PORT_RETRIES = 3
_STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class ServerHandle:
    base_url: str
    pid: int
    port: int
    startup_seconds: float
    log_path: Path


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or 'localhost': reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def _check_loopback(host: str) -> None:
    if is_loopback(host):
        return
    raise ValueError(
        f"host: expected a loopback address (127.0.0.1, ::1, localhost), got {host!r}"
    )


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A preexec hook asking Linux to SIGTERM the server when the stage process dies.

    A stage killed with SIGKILL runs no clean-up, and the server lives in its own session;
    without this it would keep its port and memory until the machine restarts.
    """
    if not sys.platform.startswith("linux"):
        return None

    def hook() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL it if it outlives the grace period."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=_STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=_STOP_GRACE_S)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, deadline: float) -> bool:
    """True once GET /health answers 200; False if the process exits or time runs out."""
    import httpx

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return False


def _command(options: dict[str, Any], *, host: str, port: int, workers: int) -> list[str]:
    """The server process: configured by its arguments only (mlgate.serving.process)."""
    return [
        sys.executable,
        "-m",
        "mlgate.serving.process",
        json.dumps(options),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--http",
        NODELAY_PROTOCOL,
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def _start_failure(model: str, code: int | None, timeout: float, log: str) -> ServerError:
    reason = (
        f"exited with code {code}"
        if code is not None
        else f"did not answer /health within {timeout:.0f} s"
    )
    return ServerError(f"the API server for model '{model}' {reason}; last log lines:\n{log}")


@contextlib.contextmanager
def running_server(
    model: str,
    *,
    root: str | Path = ".",
    contract: str = paths.CONTRACT,
    host: str = "127.0.0.1",
    workers: int = 1,
    max_records: int = 1000,
    startup_timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
) -> Iterator[ServerHandle]:
    """Start the API for ``model`` (path or git ref) and yield its handle; stop it on exit."""
    _check_loopback(host)
    if workers < 1:
        raise ValueError(f"workers: expected an integer >= 1, got {workers!r}")
    root = Path(root).resolve()
    child_env = {**os.environ, **(env or {})}
    options = dict(model=str(model), root=str(root), contract=contract, max_records=max_records)
    # Read by libgomp when it loads: one OpenMP thread per worker, as the service also sets.
    child_env.setdefault("OMP_NUM_THREADS", "1")
    log_dir = Path(tempfile.mkdtemp(prefix="mlgate-server-"))
    try:
        last_error = ""
        for attempt in range(_PORT_RETRIES):
            port = free_port(host)
            url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
            log_path = log_dir / f"server-{attempt}.log"
            cmd = _command(options, host=host, port=port, workers=workers)
            start = time.monotonic()
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    cmd,
                    cwd=root,
                    env=child_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent(os.getpid()),
                )
            exited = False
            try:
                healthy = _wait_healthy(proc, url, start + startup_timeout)
                exited = proc.poll() is not None
                if healthy:
                    yield ServerHandle(url, proc.pid, port, time.monotonic() - start, log_path)
                    return
            finally:
                _stop(proc)
            last_error = _tail(log_path)
            if not exited or "address already in use" not in last_error.lower():
                break
        raise _start_failure(
            model, proc.returncode if exited else None, startup_timeout, last_error
        )
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
