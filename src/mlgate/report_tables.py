"""Rich tables printed to the terminal (validation failures, later the report)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from mlgate import log


def print_validation_failures(summary: list[dict[str, Any]], *, source: str) -> None:
    table = Table(title=f"contract failures in {source}", title_justify="left")
    for header in ("column", "check", "failing rows", "examples (row: value)"):
        table.add_column(header, overflow="fold")
    for item in summary:
        examples = ", ".join(
            f"{'-' if e['row'] is None else e['row']}: {e['value']}" for e in item["examples"]
        )
        check = item["check"] + (f" ({item['meaning']})" if item["meaning"] else "")
        table.add_row(item["column"], check, f"{item['failing_rows']:,}", examples)
    log.console.print(table)
