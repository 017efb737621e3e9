"""Formatting helpers for the Markdown report: cells, numbers, intervals and tables.

Shared by the report's sections (:mod:`mlgate.report_sections`, :mod:`mlgate.report_evidence`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Unavailable:
    """An input that could not be read, and why (shown in its section)."""

    reason: str


def _esc(value: Any) -> str:
    # A pipe would end a table cell and a newline the row; both can come from user data.
    text = str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _num(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:.{digits}f}"
    return _esc(value)


def _num_vs(value: Any, bound: Any) -> tuple[str, str]:
    """Both numbers with enough decimals to tell them apart: 0.73996 vs 0.74000, not 0.7400."""
    digits = 4
    if isinstance(value, float) and isinstance(bound, int | float) and not isinstance(bound, bool):
        while digits < 17 and value != bound and _num(value, digits) == _num(float(bound), digits):
            digits += 1
        return _num(value, digits), _num(float(bound), digits)
    return _num(value), _num(bound)


def _p_vs(value: Any, bound: Any) -> tuple[str, str]:
    """A p-value and its alpha in significant digits that tell them apart (0.0500004 vs 0.05)."""
    if _is_number(value) and _is_number(bound):
        digits = 3
        while digits < 17 and value != bound and f"{value:.{digits}g}" == f"{bound:.{digits}g}":
            digits += 1
        return f"{value:.{digits}g}", f"{bound:.{digits}g}"
    return _p(value), _p(bound)


def _signed(value: Any, digits: int = 4) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:+.{digits}f}"
    return "—"


def _p(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.3g}"
    return "—"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _rate(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.2%}"
    return "—"


def _ci(low: Any, high: Any, signed: bool = False) -> str:
    fmt = _signed if signed else _num
    if low is None and high is None:
        return "—"
    return f"[{fmt(low)}, {fmt(high)}]"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _missing(what: str, item: Unavailable) -> list[str]:
    return [f"_{what} missing: {_esc(item.reason)}_", ""]


def _ok(passed: Any) -> str:
    return "✅ pass" if passed is True else "❌ fail" if passed is False else "—"


def _lower_is_better(metric: str) -> bool:
    return metric.endswith(("_loss", "_error"))
