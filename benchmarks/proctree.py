"""Run one command and sample the resident memory of its whole process tree from /proc.

``/usr/bin/time`` reports the peak of the process it waited for (and of children it reaped),
not the peak of a Spark JVM that pyspark starts as a grandchild and the sum of everything alive
at once. This wrapper polls /proc every ``--interval`` seconds (0.2 by default; psutil is not a
dependency) and keeps, per class, the peak of the summed VmRSS:

- ``driver``: the command's own Python process (the stage),
- ``jvm``: every ``java`` process below it (the Spark driver JVM in local mode),
- ``workers``: every other descendant (pyspark's Python workers for ``mapInPandas``),
- ``tree``: all of them together.

It writes ``--out`` (JSON) when the command ends and also every 2 s while it runs, so a stage
killed by the harness's time budget still leaves its wall time and peaks so far
(``"running": true``). Exit status is the command's; a negative ``rc`` is the signal that killed
it (-9: SIGKILL, what the kernel's OOM killer sends).

Run: python benchmarks/proctree.py --out FILE.json -- python stages/validate.py
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _stat(pid: int) -> tuple[str, int] | None:
    """(comm, ppid) of ``pid`` from /proc/<pid>/stat; None when it has gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may hold spaces and parentheses: it is everything between the first "(" and last ")".
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    ppid = int(raw[raw.rindex(")") + 2 :].split()[1])
    return comm, ppid


def rss_kib(pid: int) -> int:
    """Resident set of ``pid`` in KiB (/proc/<pid>/statm, cheaper than parsing status)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def descendants(root: int) -> dict[int, str]:
    """Every live process below ``root`` (not ``root`` itself): pid -> comm."""
    table = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            info = _stat(int(entry.name))
            if info is not None:
                table[int(entry.name)] = info
    children: dict[int, list[int]] = {}
    for pid, (_, ppid) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = {}, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found[pid] = table[pid][0]
        todo.extend(children.get(pid, []))
    return found


def sample(root: int) -> dict[str, int]:
    """Summed RSS (KiB) per class for the tree under and including ``root``."""
    totals = {"driver": rss_kib(root), "jvm": 0, "workers": 0}
    for pid, comm in descendants(root).items():
        totals["jvm" if comm == "java" else "workers"] += rss_kib(pid)
    totals["tree"] = sum(totals.values())
    return totals


def run(cmd: list[str], out: Path, interval: float) -> int:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    peaks = {"driver": 0, "jvm": 0, "workers": 0, "tree": 0}
    _write(out, cmd, 0.0, peaks, rc=None)  # a stage killed early still shows it started

    def on_term(signum: int, _frame: object) -> None:
        # The harness stops the whole process group: keep what was measured, then go.
        _write(out, cmd, time.perf_counter() - start, peaks, rc=None)
        proc.send_signal(signum)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    last_write = start
    while proc.poll() is None:
        for key, value in sample(proc.pid).items():
            peaks[key] = max(peaks[key], value)
        now = time.perf_counter()
        if now - last_write > 2.0:
            _write(out, cmd, now - start, peaks, rc=None)
            last_write = now
        time.sleep(interval)
    _write(out, cmd, time.perf_counter() - start, peaks, rc=proc.returncode)
    return proc.returncode


def _write(out: Path, cmd: list[str], wall: float, peaks: dict[str, int], rc: int | None) -> None:
    record = {
        "cmd": cmd,
        "wall_s": round(wall, 2),
        "running": rc is None,
        "rc": rc,
        **{f"peak_{key}_mib": round(kib / 1024, 1) for key, kib in peaks.items()},
    }
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command given after --")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rc = run(cmd, args.out, args.interval)
    sys.exit(rc if rc >= 0 else 128 - rc)


if __name__ == "__main__":
    main()
