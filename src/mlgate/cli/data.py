"""``mlgate validate``, ``contract infer`` and ``init``: the data and its contract."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.text import Text

from mlgate import log
from mlgate.cli.console import out


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
