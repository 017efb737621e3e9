"""Shared helper for benchmark scripts: machine facts and one section per script in results.md.

Each script owns the block between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` in
benchmarks/results.md and rewrites only that block, so scripts can run in any order.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import resource
import subprocess
import sys
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).with_name("results.md")


def package_versions(packages: tuple[str, ...]) -> list[str]:
    """ "name version" of each package, or "name (not installed)"."""
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return versions


def machine_line(packages: tuple[str, ...] = ("numpy", "pandas", "scikit-learn")) -> str:
    versions = package_versions(packages)
    cpu = platform.processor() or platform.machine()
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{dt.date.today().isoformat()}, {os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, "
        f"Python {platform.python_version()}, " + ", ".join(versions)
    )


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_measured(cmd: list[str], **kwargs) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a command; return (wall seconds, peak RSS MiB of the child, result)."""
    import time

    start = time.perf_counter()
    proc = (
        subprocess.run(
            ["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, **kwargs
        )
        if Path("/usr/bin/time").exists()
        else subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    )
    wall = time.perf_counter() - start
    peak = float("nan")
    lines = proc.stderr.strip().splitlines()
    if lines and lines[-1].isdigit():
        peak = int(lines[-1]) / 1024
    return wall, peak, proc


def record(name: str, body: str) -> None:
    """Replace this script's section of results.md with ``body`` and echo it."""
    block = f"<!-- BEGIN {name} -->\n{body.rstrip()}\n<!-- END {name} -->"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(
        rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S
    )
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block + "\n"
    )
    RESULTS.write_text(text, encoding="utf-8")
    print(body, file=sys.stdout)
