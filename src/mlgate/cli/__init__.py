"""The ``mlgate`` console script: each command parses its options and makes one library call.

Every MlgateError becomes its message on stderr and its exit code (a rejection or refusal
exits 1, a missing or invalid input 2), never a traceback: those are for mlgate's own bugs.
Commands live by concern in :mod:`mlgate.cli.decision`, :mod:`mlgate.cli.registry`,
:mod:`mlgate.cli.serving`, :mod:`mlgate.cli.data` and :mod:`mlgate.cli.experiments`, each
beside its parser.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from mlgate import log
from mlgate.cli.data import add_contract_parser, add_init_parser, add_validate_parser
from mlgate.cli.decision import add_check_parser, add_report_parser
from mlgate.cli.experiments import add_exp_parser
from mlgate.cli.registry import add_promote_parser, add_rollback_parser, add_status_parser
from mlgate.cli.serving import (
    add_requests_parser,
    add_serve_parser,
    add_shadow_and_canary_parsers,
)
from mlgate.errors import MlgateError

__all__ = ["build_parser", "main"]


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


# One entry per command, in `mlgate --help` order.
COMMANDS = (
    add_check_parser,
    add_report_parser,
    add_exp_parser,
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
