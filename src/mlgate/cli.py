"""The ``mlgate`` console script: each command parses its options and makes one library call.

Every MlgateError becomes its message on stderr and its exit code (a rejection or refusal
exits 1, a missing or invalid input 2), never a traceback: those are for mlgate's own bugs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlgate import log, paths
from mlgate.errors import MlgateError

out = Console(highlight=False, soft_wrap=True)
GATE_PATH = paths.GATE


# --------------------------------------------------------------------------- commands


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


def cmd_serve(args: argparse.Namespace) -> int:
    from mlgate.serving.cli_entry import serve

    return serve(
        args.model,
        host=args.host,
        port=args.port,
        workers=args.workers,
        allow_remote=args.allow_remote,
        params_path=args.params,
    )


def cmd_shadow(args: argparse.Namespace) -> int:
    from mlgate.serving.cli_entry import shadow

    result = shadow(
        args.requests,
        champion=args.champion,
        candidate=args.candidate,
        out=args.out,
        markdown=args.markdown,
        mode=args.mode,
        params_path=args.params,
    )
    out.print(
        f"shadow: {result.get('n_requests', '?')} requests replayed -> {args.out}, {args.markdown}"
    )
    return 0


CANARY_EXIT = {"completed": 0, "rolled_back": 1, "rollback_failed": 2, "no_evidence": 3}


def cmd_canary(args: argparse.Namespace) -> int:
    from mlgate.serving.cli_entry import canary

    result = canary(
        args.requests,
        champion=args.champion,
        candidate=args.candidate,
        out=args.out,
        markdown=args.markdown,
        rollback=not args.no_rollback,
        mode=args.mode,
        params_path=args.params,
    )
    decision = str(result.get("decision"))
    if decision == "no_evidence":
        log.error(f"canary: {result.get('no_evidence')}; wrote {args.out}, {args.markdown}")
    else:
        out.print(f"canary: {decision} -> {args.out}, {args.markdown}")
    return CANARY_EXIT.get(decision, 2)


def cmd_requests(args: argparse.Namespace) -> int:
    from mlgate.serving.cli_entry import make_requests

    path = make_requests(
        args.out,
        n_requests=args.n,
        records_per_request=args.records,
        seed=args.seed,
        synthetic=args.synthetic,
        data=args.data,
        params_path=args.params,
    )
    out.print(f"wrote {args.n} requests to {path}")
    return 0


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


def cmd_validate(args: argparse.Namespace) -> int:
    from mlgate.data.contract import load_contract, validate
    from mlgate.data.ingest import read_table
    from mlgate.report_tables import print_validation_failures

    schema = load_contract(args.contract)
    frame = read_table(args.data, na_values=args.na_value, origin="--data")
    result = validate(frame, schema, max_examples=args.max_examples)
    if result.passed:
        out.print(f"{args.data}: {result.n_rows:,} rows pass {args.contract}")
        return 0
    print_validation_failures(result.summary, source=args.data)
    log.error(f"{args.data} violates {args.contract}: {len(result.summary)} failed check(s)")
    return 1


def cmd_contract_infer(args: argparse.Namespace) -> int:
    from mlgate.data.contract_draft import draft_contract
    from mlgate.data.ingest import read_table
    from mlgate.errors import DataError
    from mlgate.io import write_text

    frame = read_table(args.data, origin="--data")
    if args.id_column and args.id_column not in frame:
        raise DataError(
            f"{args.data}: --id-column '{args.id_column}' is not a column; "
            f"columns are {list(frame.columns)}"
        )
    draft = draft_contract(frame, id_column=args.id_column)
    text = draft.text
    for note in draft.notes:  # on stderr, so stdout stays a clean YAML document
        log.info(f"note: {note}")
    if draft.na_values:
        log.info(
            "note: read those cells as nulls with params.yaml data.na_values: "
            f"{list(draft.na_values)}"
        )
    if not args.out:
        sys.stdout.write(text)
        return 0
    if Path(args.out).exists() and not args.force:
        raise DataError(f"{args.out} exists; pass --force to overwrite it")
    write_text(args.out, text)
    out.print(
        f"wrote a draft contract for {len(frame.columns)} columns to {args.out}; review "
        "the ranges and allowed values before use"
    )
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from mlgate.init_project import init_project

    result = init_project(
        args.data,
        target=args.target,
        id_column=args.id_column,
        positive_label=args.positive_label,
        force=args.force,
    )
    out.print("[bold]mlgate init decided:[/]")
    for line in result.decisions:
        out.print(Text(f"  - {line}"))
    out.print("[bold]wrote:[/] " + ", ".join(result.written))
    out.print("[bold]review before trusting the gate:[/]")
    for line in result.review:
        out.print(Text(f"  - {line}"))
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgate",
        description="Decide, with evidence, whether a candidate model may replace the champion.",
    )
    parser.add_argument(
        "-C",
        dest="directory",
        metavar="DIR",
        help="run as if mlgate was started in DIR (like git -C)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


PARAMS_HELP = "params file naming the artifact and stage (%(default)s)"


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


def add_validate_parser(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="check a data file against a contract",
        description="Validate a CSV/Parquet file against a pandera YAML "
        "contract; exits 1 and prints what broke if it fails.",
    )
    p.add_argument("--contract", required=True, help="pandera YAML contract")
    p.add_argument("--data", required=True, help="CSV or Parquet file")
    p.add_argument(
        "--max-examples", type=int, default=5, help="failing values shown per check (%(default)s)"
    )
    p.add_argument(
        "--na-value",
        action="append",
        default=[],
        metavar="TEXT",
        help="cell text read as missing, as params.yaml data.na_values (repeatable, e.g. ' ')",
    )
    p.set_defaults(func=cmd_validate)


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the prediction API (FastAPI + uvicorn)",
        description="Serve a model behind POST /predict, GET /health and GET /version. MODEL is "
        "'champion' (the GTO stage holder), a GTO ref (churn-model#prod, churn-model@v0.0.2), "
        "a commit, or a model directory (models; ./NAME forces a path). The request schema "
        "comes from the data contract. Loopback only unless --allow-remote.",
    )
    p.add_argument(
        "--model",
        default="models",
        help="'champion', a GTO ref, a commit or a model dir (%(default)s)",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (%(default)s)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the API has no authentication or TLS)",
    )
    p.add_argument("--port", type=int, default=8000, help="port (%(default)s)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers (%(default)s)")
    p.add_argument("--params", default=paths.PARAMS, help="params file (%(default)s)")
    p.set_defaults(func=cmd_serve)


def add_shadow_and_canary_parsers(sub: Any) -> None:
    for name, helptext in (
        ("shadow", "replay a request log to champion and candidate, compare their scores"),
        ("canary", "simulate a staged rollout; roll the GTO stage back on a guard breach"),
    ):
        p = sub.add_parser(
            name,
            help=helptext,
            description=helptext[0].upper()
            + helptext[1:]
            + ". Requests are JSON lines (see `mlgate requests`).",
        )
        p.add_argument("--requests", required=True, help="JSON-lines request log")
        p.add_argument(
            "--champion",
            default="champion",
            help="'champion' (GTO stage), a GTO ref, a commit or a model dir (%(default)s)",
        )
        p.add_argument("--candidate", default="models", help="candidate model (%(default)s)")
        json_out, markdown_out = paths.REPLAY_OUTPUTS[name]
        p.add_argument("--out", default=json_out, help="JSON (%(default)s)")
        p.add_argument("--markdown", default=markdown_out, help="Markdown (%(default)s)")
        p.add_argument(
            "--mode",
            choices=("inprocess", "servers"),
            default="inprocess",
            help="score in this process or through two local servers (%(default)s)",
        )
        p.add_argument("--params", default=paths.PARAMS, help="params file (%(default)s)")
        if name == "canary":
            p.add_argument(
                "--no-rollback",
                action="store_true",
                help="record a breach without moving the GTO stage",
            )
            p.set_defaults(func=cmd_canary)
        else:
            p.set_defaults(func=cmd_shadow)


def add_requests_parser(sub: Any) -> None:
    p = sub.add_parser(
        "requests",
        help="write a request log (JSON lines) for shadow/canary from the holdout rows",
        description="Write a JSON-lines request log of rows drawn (seeded) from the holdout "
        "(data/holdout.parquet: your data, as validated), without the label and checked "
        "against the contract's request schema. --synthetic draws generated churn rows.",
    )
    p.add_argument("--out", required=True, help="file to write")
    p.add_argument("-n", type=int, default=1000, help="number of requests (%(default)s)")
    p.add_argument("--records", type=int, default=1, help="records per request (%(default)s)")
    p.add_argument("--data", default=paths.HOLDOUT, help="rows to draw (%(default)s)")
    p.add_argument(
        "--synthetic", action="store_true", help="draw from the synthetic churn generator"
    )
    p.add_argument(
        "--seed", type=int, help="draw seed (default: serving.seed; generate.seed if synthetic)"
    )
    p.add_argument("--params", default=paths.PARAMS, help="params file (%(default)s)")
    p.set_defaults(func=cmd_requests)


def add_init_parser(sub: Any) -> None:
    p = sub.add_parser(
        "init",
        help="make a project of your own CSV/Parquet table",
        description="Version the table with DVC, draft its contract, write params.yaml "
        "(features, slices, gate floors from a cross-validated baseline) and a starter "
        "behavioral spec; print what was decided and what to review. Then run dvc repro.",
    )
    p.add_argument("--data", required=True, help="CSV or Parquet table, one row per entity")
    p.add_argument("--target", required=True, help="the binary column to predict")
    p.add_argument("--id-column", required=True, help="unique id of each row (decides the split)")
    p.add_argument(
        "--positive-label", help="target value meaning positive (default: Yes/True/1 if present)"
    )
    p.add_argument("--force", action="store_true", help="overwrite files init would write")
    p.set_defaults(func=cmd_init)


def add_contract_parser(sub: Any) -> None:
    p = sub.add_parser("contract", help="data contract tools", description="Data contract tools.")
    contract = p.add_subparsers(dest="contract_command", required=True, metavar="COMMAND")
    p = contract.add_parser(
        "infer",
        help="draft a contract from a data sample",
        description="Draft a pandera YAML contract from a CSV/Parquet "
        "sample: dtypes, observed ranges (widened by 10%%), observed "
        "categories. Review it before use.",
    )
    p.add_argument("--data", required=True, help="CSV or Parquet sample")
    p.add_argument("--id-column", help="column whose values must be unique")
    p.add_argument("--out", help="write here instead of standard output")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(func=cmd_contract_infer)


# One entry per command, in `mlgate --help` order.
COMMANDS = (
    add_check_parser,
    add_report_parser,
    add_promote_parser,
    add_rollback_parser,
    add_status_parser,
    add_validate_parser,
    add_serve_parser,
    add_shadow_and_canary_parsers,
    add_requests_parser,
    add_init_parser,
    add_contract_parser,
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlgate")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.directory:
            os.chdir(args.directory)
        return int(args.func(args))
    except MlgateError as exc:
        log.error(str(exc))
        return exc.exit_code
    except OSError as exc:  # e.g. -C to a missing directory, an unwritable --out, a full disk
        from mlgate.io import os_error_message

        log.error(os_error_message(exc))
        return 2
    except MemoryError:
        from mlgate.io import MEMORY_ERROR_MESSAGE

        log.error(MEMORY_ERROR_MESSAGE)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
