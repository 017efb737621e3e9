"""Console output: a line or two per stage on stderr; progress bars only on a terminal.

CI logs stay quiet because rich disables live displays when stderr is not a TTY.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

# markup=False: messages carry user data (column values, check names like
# ``slice_auc_floor[smb]``) that rich would otherwise eat as style tags or crash on ("[/x]").
console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def info(message: str) -> None:
    console.print(message)


def error(message: str) -> None:
    console.print(Text.assemble(("error:", "bold red"), " ", message))


def progress() -> Progress:
    """A progress bar that renders only when stderr is a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
