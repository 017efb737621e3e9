"""The console every ``mlgate`` command prints its results to (messages go to stderr via log)."""

from __future__ import annotations

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
