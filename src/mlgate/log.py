"""Console output: a line or two per stage on stderr; progress bars only on a terminal.

CI logs stay quiet because rich disables live displays when stderr is not a TTY. rich is
imported on first use of :data:`console`, not for :func:`info`: plain lines need none of it,
and the always-run champion stage should not pay ~40 ms of imports on every `dvc repro`.
"""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


@functools.cache
def _console() -> Console:
    from rich.console import Console

    # markup=False: messages carry user data (column values, check names like
    # ``slice_auc_floor[smb]``) that rich would otherwise eat as style tags or crash on ("[/x]").
    return Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def __getattr__(name: str) -> Any:
    if name == "console":  # `log.console`, created on first use
        return _console()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def info(message: str) -> None:
    # What rich prints for plain text with markup, highlighting and wrapping off.
    print(message, file=sys.stderr, flush=True)


def error(message: str) -> None:
    from rich.text import Text

    _console().print(Text.assemble(("error:", "bold red"), " ", message))


def progress() -> Progress:
    """A progress bar that renders only when stderr is a terminal."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = _console()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
