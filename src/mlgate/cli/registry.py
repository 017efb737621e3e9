"""``mlgate promote``, ``rollback`` and ``status``: the champion in the GTO registry."""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.table import Table

from mlgate import paths
from mlgate.cli.console import out

PARAMS_HELP = "params file naming the artifact and stage (%(default)s)"


def _champion_params(args: argparse.Namespace) -> Any:
    from mlgate.params import load_params

    return load_params(args.params).gate.champion


def cmd_promote(args: argparse.Namespace) -> int:
    from mlgate import registry

    cfg = _champion_params(args)
    result = registry.promote(
        ".",
        artifact=cfg.artifact,
        stage=cfg.stage,
        rev=args.rev,
        force=args.force,
        reason=args.reason,
    )
    if result.already:
        out.print(
            f"{result.artifact} {result.version} ({result.commit[:10]}) already holds "
            f"'{result.stage}'; nothing to do"
        )
        return 0
    new = " (newly registered)" if result.registered else ""
    out.print(
        f"promoted {result.artifact} {result.version}{new} at {result.commit[:10]} to "
        f"'{result.stage}' (tag {result.tag})"
    )
    if result.replaced:
        out.print(f"previous holder: {', '.join(result.replaced)}; `mlgate rollback` restores it")
    if result.forced:
        out.print(
            "[yellow]forced[/]: the reason is kept in the tag message"
            + (f"; overrode {len(result.overridden)} blocker(s)" if result.overridden else "")
        )
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from mlgate import registry

    cfg = _champion_params(args)
    start = time.perf_counter()
    result = registry.rollback(".", artifact=cfg.artifact, stage=cfg.stage)
    seconds = time.perf_counter() - start
    out.print(
        f"rolled back '{result.stage}' of {result.artifact}: {result.from_version} -> "
        f"{result.to_version} ({result.commit[:10]}, tag {result.tag}) in {seconds:.2f} s"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from mlgate import registry

    cfg = _champion_params(args)
    st = registry.status(".", artifact=cfg.artifact, stage=cfg.stage)
    if st.champion is None:
        out.print(
            f"no champion: no version of '{st.artifact}' is in '{st.stage}' "
            "(`mlgate promote` assigns it)"
        )
    else:
        c = st.champion
        out.print(
            f"champion ({st.stage}): {st.artifact} {c.version} at commit {c.commit[:10]}"
            f" (committed {c.commit_date or '?'}; promoted {c.promoted_at.isoformat()},"
            f" tag {c.tag})"
        )
        if isinstance(st.holdout, dict):
            table = Table(
                "metric", "value", title="headline metrics (committed)", title_justify="left"
            )
            for key, value in st.holdout.items():
                table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
            out.print(table)
        else:
            out.print(f"headline metrics unavailable: {st.holdout}")
        if isinstance(st.decision, dict):
            out.print(
                f"its gate decision: {st.decision.get('decision')} ({st.decision.get('summary')})"
            )
        else:
            out.print(f"its gate decision unavailable: {st.decision}")
    if st.history:
        table = Table(
            "#",
            "event",
            "version",
            "commit",
            "time",
            "message",
            title=f"history of '{st.stage}' (newest first)",
            title_justify="left",
        )
        for e in reversed(st.history):
            table.add_row(
                str(e.number),
                e.event,
                e.version,
                e.commit[:10],
                e.timestamp.isoformat(),
                e.message.splitlines()[0] if e.message else "",
            )
        out.print(table)
    return 0


def add_promote_parser(sub: Any) -> None:
    p = sub.add_parser(
        "promote",
        help="make a commit's model the champion (GTO stage)",
        description="Assign the GTO stage (params gate.champion.stage) to the "
        "model at REV, only if REV's committed metrics/gate.json says promote, "
        "its committed files match its dvc.lock, the decision was taken against "
        "the current champion, (for HEAD) the work tree matches dvc.lock, and the "
        "decision recomputed from REV's evidence is the same (exit 2 otherwise). "
        "Registers a version (next patch) if REV has none.",
    )
    p.add_argument("--rev", default="HEAD", help="commit to promote (%(default)s)")
    p.add_argument(
        "--force", action="store_true", help="promote despite the blockers (needs --reason)"
    )
    p.add_argument("--reason", help="why --force is justified; kept in the GTO tag message")
    p.add_argument("--params", default=paths.PARAMS, help=PARAMS_HELP)
    p.set_defaults(func=cmd_promote)


def add_rollback_parser(sub: Any) -> None:
    p = sub.add_parser(
        "rollback",
        help="give the stage back to the previous champion",
        description="Move the GTO stage back to the version that held it before "
        "the current one (from the stage's tag history); refuses if there is "
        "none. Prints how long it took.",
    )
    p.add_argument("--params", default=paths.PARAMS, help=PARAMS_HELP)
    p.set_defaults(func=cmd_rollback)


def add_status_parser(sub: Any) -> None:
    p = sub.add_parser(
        "status",
        help="show the champion, its metrics and the stage history",
        description="Show the current champion (version, commit, dates), its "
        "committed headline metrics and gate decision, and every assignment of "
        "the stage.",
    )
    p.add_argument("--params", default=paths.PARAMS, help=PARAMS_HELP)
    p.set_defaults(func=cmd_status)
