"""``mlgate check`` and ``mlgate report``: the gate's decision, verified, and its report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from mlgate import log, paths
from mlgate.cli.console import out

GATE_PATH = paths.GATE


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0: promote, verified. 1: reject, verified. 2: no decision that could be verified."""
    from mlgate.errors import ArtifactError
    from mlgate.verify import GATE_OUT, verify_tree

    if Path(args.gate) != Path(GATE_OUT):
        raise ArtifactError(
            f"--gate {args.gate}: only {GATE_OUT}, the gate stage's output in dvc.lock, can be "
            "verified; run `mlgate -C DIR check` to check another repository"
        )
    result = verify_tree(".")
    if result.decision is not None:
        label = {"verified": "verified", "unverified": "[yellow]read, NOT verified[/]"}
        _print_decision(result.decision, label.get(result.status, "[red]contradicted[/]"))
    if result.verified:
        out.print(
            "verified: the evidence matches dvc.lock and the gate, rerun on it, decides the same"
        )
        return 0 if result.decision and result.decision["promote"] else 1
    what = "invalid decision" if result.status == "invalid" else "NOT verified"
    for problem in result.problems:
        log.error(f"{what}: {problem}")
    if result.next_step:
        log.error(f"next: `{result.next_step}`, then `mlgate check` again")
    return 2


def _print_decision(decision: dict[str, Any], how: str) -> None:
    failed = [c for c in decision["checks"] if not c["passed"]]
    verdict = "[green]PROMOTE[/]" if decision["promote"] else "[red]REJECT[/]"
    n_checks = len(decision["checks"])
    out.print(f"{verdict}: {n_checks - len(failed)}/{n_checks} checks passed ({GATE_PATH}, {how})")
    if failed:
        table = Table("failed check", "reason", title="failed checks", title_justify="left")
        for check in failed:
            # Text, not markup: check names like slice_auc_floor[smb] look like rich tags.
            table.add_row(Text(str(check.get("name"))), Text(str(check.get("reason", ""))))
        out.print(table)


def cmd_report(args: argparse.Namespace) -> int:
    from rich.markdown import Markdown

    from mlgate.errors import ArtifactError

    path = Path(args.path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArtifactError(f"{path} does not exist; run `dvc repro` (stage `report`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} cannot be read: {exc}") from exc
    out.print(Markdown(text), soft_wrap=False)  # wrap paragraphs to the terminal width
    return 0


def add_check_parser(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="verify the gate decision: exit 0 promote, 1 reject, 2 no verified decision",
        description="Verify metrics/gate.json and turn it into an exit code for CI: the "
        "decision must be internally consistent, its evidence must match dvc.lock, and the "
        "gate rerun on that evidence must decide the same. Exit 0 promote, 1 reject (both "
        "verified), 2 no decision, an inconsistent or contradicted one, or one that could "
        "not be verified (the message says what to run next).",
    )
    p.add_argument(
        "--gate", default=GATE_PATH, help="decision file; only %(default)s can be verified"
    )
    p.set_defaults(func=cmd_check)


def add_report_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="print report.md in the terminal",
        description="Render the Markdown report (written by the `report` stage) in the terminal.",
    )
    p.add_argument("--path", default=paths.REPORT, help="report file (%(default)s)")
    p.set_defaults(func=cmd_report)
