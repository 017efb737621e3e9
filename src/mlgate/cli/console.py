"""The console every ``mlgate`` command prints its results to (messages go to stderr via log)."""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPE_WIDTH = 120
"""Columns when stdout is a pipe or a file and COLUMNS is not set."""


def output_width(
    environ: dict[str, str] | None = None, is_terminal: bool | None = None
) -> int | None:
    """None (rich follows the terminal) for a terminal; COLUMNS or PIPE_WIDTH otherwise.

    Rich falls back to 80 columns with no terminal, and to fit the report's 8-column tables into
    80 it wrapped their text one word per line in CI logs and `mlgate report | less`.
    """
    environ = dict(os.environ) if environ is None else environ
    if is_terminal is None:
        is_terminal = sys.stdout is not None and sys.stdout.isatty()
    columns = environ.get("COLUMNS", "")
    if is_terminal:
        return None
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


out = Console(highlight=False, soft_wrap=True, width=output_width())
