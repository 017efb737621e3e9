"""What a data contract allows in each column, for files that name columns and values.

Slices (params.yaml ``evaluate.slices``) and behavioral tests name columns and values. A
name the contract does not allow matches no row and is reported later as "skipped" or
"passed", so both are checked against the contract first, with the words here: the
categories an ``isin`` check allows, the interval the range checks allow, and a problem
worded with a did-you-mean. Only a pandera schema is read; nothing here touches data.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    import pandera.pandas as pa

__all__ = [
    "Interval",
    "allowed_values",
    "column_problem",
    "is_number",
    "numeric_ranges",
    "value_problem",
]


def allowed_values(schema: pa.DataFrameSchema) -> dict[str, list[Any]]:
    """Column -> the values its ``isin`` check allows (columns without one are absent)."""
    out: dict[str, list[Any]] = {}
    for name, column in schema.columns.items():
        for check in column.checks:
            if check.name == "isin":
                out[str(name)] = list(check.statistics.get("allowed_values", []))
    return out


@dataclass(frozen=True)
class Interval:
    """The values a column's range checks allow: ``low``..``high``, each end open or closed."""

    low: float = -math.inf
    high: float = math.inf
    low_closed: bool = True
    high_closed: bool = True

    def can_match(self, op: str, value: float) -> bool:
        """Whether some allowed x satisfies ``x <op> value`` (False: the condition is empty)."""
        above_low = value > self.low or (self.low_closed and value == self.low)
        below_high = value < self.high or (self.high_closed and value == self.high)
        return {
            "==": above_low and below_high,
            "<": value > self.low,
            "<=": above_low,
            ">": value < self.high,
            ">=": below_high,
        }.get(op, True)

    def describe(self) -> str:
        low = "(" if not self.low_closed or self.low == -math.inf else "["
        high = ")" if not self.high_closed or self.high == math.inf else "]"
        return f"{low}{_number(self.low)}, {_number(self.high)}{high}"

    def narrow(self, check: str, stats: Mapping[str, Any]) -> Interval:
        """This interval and one pandera range check together (other checks: unchanged)."""
        low, high = stats.get("min_value"), stats.get("max_value")
        out = self
        if check in ("in_range", "greater_than_or_equal_to", "greater_than") and is_number(low):
            closed = stats.get("include_min", True) and check != "greater_than"
            if low > out.low or (low == out.low and not closed):
                out = Interval(low, out.high, bool(closed), out.high_closed)
        if check in ("in_range", "less_than_or_equal_to", "less_than") and is_number(high):
            closed = stats.get("include_max", True) and check != "less_than"
            if high < out.high or (high == out.high and not closed):
                out = Interval(out.low, high, out.low_closed, bool(closed))
        return out


def numeric_ranges(schema: pa.DataFrameSchema) -> dict[str, Interval]:
    """Column -> the interval its range checks allow (columns without one are absent)."""
    out: dict[str, Interval] = {}
    for name, column in schema.columns.items():
        interval = Interval()
        for check in column.checks:
            interval = interval.narrow(str(check.name), check.statistics or {})
        if interval != Interval():
            out[str(name)] = interval
    return out


def column_problem(column: str, columns: list[str]) -> str:
    """``column 'x' is not in the contract; did you mean 'y'?`` (the hint when one is close)."""
    close = difflib.get_close_matches(column, columns, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"column '{column}' is not in the contract{hint}"


def value_problem(value: Any, allowed: list[Any]) -> str | None:
    """None when ``value`` is one of ``allowed``; otherwise what is allowed and a guess."""
    if any(_same(value, a) for a in allowed):
        return None
    texts = [str(a) for a in allowed]
    close = difflib.get_close_matches(str(value), texts, n=1, cutoff=0.6)
    folded = [t for t in texts if t.casefold() == str(value).casefold()]
    guess = folded[0] if folded else close[0] if close else None
    hint = f"; did you mean {guess!r}?" if guess is not None else ""
    shown = ", ".join(repr(a) for a in allowed[:10]) + (", ..." if len(allowed) > 10 else "")
    return f"is not a value the contract allows ({shown}){hint}"


def _same(value: Any, allowed: Any) -> bool:
    if isinstance(value, bool) or isinstance(allowed, bool):
        return value is allowed or str(value) == str(allowed)
    if isinstance(value, Mapping):
        return False
    # YAML may read a category such as 1 as an int where the contract holds "1" (or back).
    return bool(value == allowed) or str(value) == str(allowed)


def is_number(value: Any) -> TypeGuard[float]:
    """A real number that can bound or fall in a range (not a bool, not NaN)."""
    # numbers.Real also covers numpy scalars; a bool is a category, not a bound; NaN != NaN.
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value


def _number(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:g}" if isinstance(value, float) else str(value)
