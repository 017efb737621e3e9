"""A small, safe predicate language for naming rows of a table ("slices").

Slices are written in YAML by users, so they are *data*, never code: nothing here calls
``eval`` or ``DataFrame.query``. A predicate is either a condition on one column::

    {column: tenure_months, op: "<", value: 6}
    {column: contract_type, op: in, value: [monthly, annual]}
    {column: monthly_spend, op: is_null}

or a combinator of predicates::

    {all: [p, q, ...]}    # every part holds (and)
    {any: [p, q, ...]}    # at least one part holds (or)
    {not: p}

Null semantics (the rule that surprises people, so it is stated once, here): a null value
never satisfies a comparison, including ``!=`` and ``not_in``. ``{column: region, op: "!=",
value: north}`` therefore keeps rows whose region is known and not north, while ``{not:
{column: region, op: "==", value: north}}`` also keeps rows whose region is null, because
``not`` negates the row mask. Use ``is_null`` / ``not_null`` to select on missingness.

Values are checked against the column when the mask is computed, not ignored: comparing a
numeric column with a string, or a text column of pandas' ``str`` dtype with a number, is a
:class:`~mlgate.errors.DataError` rather than an empty slice, because an empty slice is
later reported as "skipped" and the typo would go unnoticed. Date columns accept ISO strings
and YAML dates.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlgate.config import join_problems, show_value
from mlgate.config.slice_syntax import (
    NULL_OPS,
    OPS,
    SET_OPS,
    Nodes,
    Problem,
    Scalar,
    parse,
    parse_map,
)
from mlgate.errors import DataError, ParamsError

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


class Predicate:
    """Base of the parsed predicate tree. Instances are frozen and compare by structure.

    ``where`` records where the predicate was declared (e.g. ``evaluate.slices.enterprise``)
    so that errors found later, against real data, can still name the slice.
    """

    where: str

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean array, one entry per row of ``frame``: True where the predicate holds."""
        raise NotImplementedError

    def describe(self) -> str:
        """Readable form for reports, e.g. ``tenure_months < 6 and contract_type == 'monthly'``."""
        raise NotImplementedError

    def columns(self) -> frozenset[str]:
        """Every column the predicate reads (to check a frame before any work is done)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The declarative form again, so parse -> to_dict -> parse round-trips."""
        raise NotImplementedError


@dataclass(frozen=True)
class Condition(Predicate):
    column: str
    op: str
    # A scalar for comparisons, a tuple of scalars for in/not_in, None for the null tests.
    value: Scalar | tuple[Scalar, ...] | None = None
    where: str = field(default="", compare=False, repr=False)

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        series = _column(frame, self.column, self.where)
        present = series.notna().to_numpy(dtype=bool)
        if self.op == "is_null":
            return ~present
        if self.op == "not_null":
            return present
        if self.op in SET_OPS:
            values = [_coerce(series, v, self) for v in self.value]  # type: ignore[union-attr]
            hit = series.isin(values).to_numpy(dtype=bool)
            return (hit if self.op == "in" else ~hit) & present
        value = _coerce(series, self.value, self)
        if isinstance(series.dtype, pd.CategoricalDtype) and self.op not in ("==", "!="):
            # Unordered categoricals refuse <, >; compare the underlying values instead.
            series = series.astype(series.cat.categories.dtype)
        try:
            result = _COMPARE[self.op](series, value)
        except TypeError as exc:
            raise DataError(
                f"{self.where}: cannot compare column '{self.column}' ({series.dtype}) with "
                f"{value!r} using '{self.op}': {exc}"
            ) from None
        return np.asarray(result.to_numpy(dtype=bool, na_value=False)) & present

    def describe(self) -> str:
        column = _show_column(self.column)
        if self.op == "is_null":
            return f"{column} is null"
        if self.op == "not_null":
            return f"{column} is not null"
        if self.op in SET_OPS:
            items = ", ".join(_show_value(v) for v in self.value)  # type: ignore[union-attr]
            return f"{column} {self.op.replace('_', ' ')} [{items}]"
        return f"{column} {self.op} {_show_value(self.value)}"

    def columns(self) -> frozenset[str]:
        return frozenset({self.column})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "op": self.op}
        if self.op in SET_OPS:
            out["value"] = list(self.value)  # type: ignore[arg-type]
        elif self.op not in NULL_OPS:
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class AllOf(Predicate):
    parts: tuple[Predicate, ...]
    where: str = field(default="", compare=False, repr=False)

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.ones(len(frame), dtype=bool)
        for part in self.parts:
            out &= part.mask(frame)
        return out

    def describe(self) -> str:
        return " and ".join(_describe_child(p, AllOf) for p in self.parts)

    def columns(self) -> frozenset[str]:
        return frozenset().union(*(p.columns() for p in self.parts))

    def to_dict(self) -> dict[str, Any]:
        return {"all": [p.to_dict() for p in self.parts]}


@dataclass(frozen=True)
class AnyOf(Predicate):
    parts: tuple[Predicate, ...]
    where: str = field(default="", compare=False, repr=False)

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.zeros(len(frame), dtype=bool)
        for part in self.parts:
            out |= part.mask(frame)
        return out

    def describe(self) -> str:
        return " or ".join(_describe_child(p, AnyOf) for p in self.parts)

    def columns(self) -> frozenset[str]:
        return frozenset().union(*(p.columns() for p in self.parts))

    def to_dict(self) -> dict[str, Any]:
        return {"any": [p.to_dict() for p in self.parts]}


@dataclass(frozen=True)
class Not(Predicate):
    part: Predicate
    where: str = field(default="", compare=False, repr=False)

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        return ~self.part.mask(frame)

    def describe(self) -> str:
        return f"not ({self.part.describe()})"

    def columns(self) -> frozenset[str]:
        return self.part.columns()

    def to_dict(self) -> dict[str, Any]:
        return {"not": self.part.to_dict()}


# --------------------------------------------------------------------------- parsing

_NODES = Nodes(condition=Condition, all=AllOf, any=AnyOf, not_=Not)


def parse_predicate(obj: Any, *, where: str) -> Predicate:
    """Validate a declarative predicate and return its frozen form.

    Every problem is found in one pass (:mod:`mlgate.config.slice_syntax`) and raised
    together as a :class:`ParamsError`, each line starting with the key path of the bad node
    (``where`` plus the nested keys), e.g. ``evaluate.slices.enterprise.op: unknown operator
    '=~'; expected one of ==, !=, ...``.
    """
    problems: list[Problem] = []
    predicate = parse(obj, where, "", problems, _NODES)
    _raise(where, problems)
    assert predicate is not None  # no problem: every node was built
    return predicate  # type: ignore[no-any-return]


def parse_slices(mapping: Any, *, where: str) -> dict[str, Predicate]:
    """Parse ``{name: predicate, ...}``. ``None`` (an empty YAML key) means no slices.

    Names become metric keys and file names, so they are restricted to letters, digits,
    ``_`` and ``-``, starting with a letter or ``_``. Every problem is reported at once.
    """
    problems: list[Problem] = []
    out = parse_map(mapping, where, problems, _NODES)
    _raise(where, problems)
    return out


def _raise(where: str, problems: list[Problem]) -> None:
    if problems:
        lines = [f"{where}{at}: {message}" for at, message in problems]
        raise ParamsError(lines[0] if len(lines) == 1 else join_problems(where, lines))


# --------------------------------------------------------------------------- evaluation helpers


def _column(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    if column not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:20]))
        more = " ..." if len(frame.columns) > 20 else ""
        raise DataError(
            f"{where}: column '{column}' is not in the data; available columns: {shown}{more}"
        )
    return frame[column]


def _kind(dtype: Any) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        return _kind(dtype.categories.dtype)
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.StringDtype):
        return "text"
    return "any"  # object columns may hold anything; let pandas decide


def _coerce(series: pd.Series, value: Any, cond: Condition) -> Any:
    """Check ``value`` fits the column's kind and convert dates; raise DataError if not."""
    kind = _kind(series.dtype)
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    ok = {
        "number": is_number or isinstance(value, bool),
        "bool": isinstance(value, bool) or (is_number and value in (0, 1)),
        "text": isinstance(value, str),
        "datetime": isinstance(value, str | dt.date),
        "any": True,
    }[kind]
    if not ok:
        raise DataError(
            f"{cond.where}: column '{cond.column}' holds {kind} values ({series.dtype}); "
            f"cannot compare it with {show_value(value)}"
        )
    if kind == "datetime":
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"{cond.where}: {value!r} is not a date or time for column '{cond.column}' ({exc})"
            ) from None
        tz = getattr(series.dtype, "tz", None)
        if tz is not None and stamp.tzinfo is None:
            stamp = stamp.tz_localize(tz)
        return stamp
    return value


def _describe_child(part: Predicate, parent: type) -> str:
    text = part.describe()
    if isinstance(part, AllOf | AnyOf) and not isinstance(part, parent) and len(part.parts) > 1:
        return f"({text})"
    return text


def _show_column(column: str) -> str:
    return column if _IDENT.match(column) else f"`{column}`"


def _show_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value)


def conditions(predicate: Predicate) -> Iterator[Condition]:
    """Every single-column condition of ``predicate``, in declaration order."""
    if isinstance(predicate, Condition):
        yield predicate
    elif isinstance(predicate, AllOf | AnyOf):
        for part in predicate.parts:
            yield from conditions(part)
    elif isinstance(predicate, Not):
        yield from conditions(predicate.part)


def describe_rows(predicate: Predicate | None) -> str:
    """``predicate.describe()``, or ``"all rows"`` when there is no predicate."""
    return "all rows" if predicate is None else predicate.describe()


__all__ = [
    "OPS",
    "AllOf",
    "AnyOf",
    "Condition",
    "Not",
    "Predicate",
    "conditions",
    "describe_rows",
    "parse_predicate",
    "parse_slices",
]
