"""``mlgate exp``: `dvc exp show` cut to the headline columns (see :mod:`mlgate.exp_view`)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from rich.table import Table
from rich.text import Text

from mlgate.cli.console import out


def _exp_show(dvc_args: list[str]) -> list[dict[str, Any]]:
    from mlgate.errors import ArtifactError

    # `python -m dvc` of this interpreter: the dvc mlgate was installed with, whatever PATH says.
    command = [sys.executable, "-m", "dvc", "exp", "show", "--json", *dvc_args]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ArtifactError(
            f"`dvc exp show --json {' '.join(dvc_args)}` exited {proc.returncode}: "
            f"{proc.stderr.strip() or proc.stdout.strip()}"
        )
    try:
        found = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"`dvc exp show --json` printed no JSON list: {exc}") from exc
    if not isinstance(found, list):
        raise ArtifactError("`dvc exp show --json` printed no JSON list")
    return found


def _dvc_args(args: argparse.Namespace) -> list[str]:
    found = [flag for flag in ("all_branches", "all_tags", "all_commits") if getattr(args, flag)]
    found = [f"--{flag.replace('_', '-')}" for flag in found]
    found += ["--num", args.num] if args.num is not None else []
    return found + (["--rev", args.rev] if args.rev is not None else [])


def cmd_exp(args: argparse.Namespace) -> int:
    from mlgate.exp_view import HEADERS, cells, rows

    table = Table(*HEADERS, box=None, pad_edge=False)
    for column in table.columns[:-1]:
        column.no_wrap = True  # numbers and names whole; only the changed params wrap
    table.columns[-1].overflow = "fold"
    table.columns[-1].min_width = 20
    lines = [cells(row) for row in rows(_exp_show(_dvc_args(args)))]
    for line in lines:
        # Text, not markup: a param value like [a, b] would read as a rich tag.
        table.add_row(*(Text(cell) for cell in line))
    # Never cut a number to fit a narrow terminal ("0.8737 [0.8646, 0.…"): the table gets the
    # width its unwrappable columns need, and the terminal wraps the long lines instead.
    whole = [max(len(c) for c in column) for column in zip(HEADERS, *lines, strict=True)][:-1]
    needed = sum(whole) + 2 * len(whole) + table.columns[-1].min_width
    if needed > out.width:
        out.width = needed  # rich's print(width=) only narrows
    out.print(table)
    return 0


def add_exp_parser(sub: Any) -> None:
    p = sub.add_parser(
        "exp",
        help="the experiments of `dvc exp show`, headline columns only",
        description="Print `dvc exp show` as one row per commit and experiment with the "
        "decision, the failed check count, the ROC AUC and the paired delta against the "
        "champion (with CIs), and the params each experiment changed against its commit; "
        "it fits 120 columns, where a bare `dvc exp show` has one column per param and "
        "dependency (over 200).",
    )
    # The selection options of `dvc exp show`, passed on as they are.
    p.add_argument("-n", "--num", metavar="N", help="experiments of the last N commits")
    p.add_argument("--rev", metavar="COMMIT", help="experiments of COMMIT (default HEAD)")
    for flag, long, what in (("-a", "all-branches", "branch tips"), ("-T", "all-tags", "tags")):
        p.add_argument(flag, f"--{long}", action="store_true", help=f"experiments of all {what}")
    p.add_argument("-A", "--all-commits", action="store_true", help="experiments of all commits")
    p.set_defaults(func=cmd_exp)
