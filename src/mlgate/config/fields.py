"""Field checks for configuration models, used as ``Annotated`` metadata.

``Annotated[float, Num(ge=0, le=1)]`` checks a value strictly (YAML ``true`` is not 1,
``"0.3"`` is not a number, no text is converted) and, when it fails, raises an error carrying
the expectation in words ("a number in [0, 1]") that :mod:`mlgate.config.messages` turns
into ``key: expected a number in [0, 1], got str 'x'``. The same object gives the field's
JSON Schema, so an editor and the loader agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, GetCoreSchemaHandler
from pydantic import GetJsonSchemaHandler as JsonHandler
from pydantic_core import PydanticCustomError, core_schema

__all__ = [
    "EXPECTED",
    "Check",
    "Bool",
    "Expected",
    "Flag",
    "Integer",
    "Kinds",
    "Num",
    "OneOf",
    "OneOrMore",
    "Rule",
    "Str",
    "Text",
]

# The error type every check raises; ``expected`` in its context is the words.
EXPECTED = "mlgate_expected"


def Expected(  # noqa: N802
    text: str, *, key: str | list[str | int] | None = None, plain: bool = False
) -> PydanticCustomError:
    """An error saying what was expected. ``key`` names a field below the failing node (a
    rule on a whole section about one of its keys); ``plain`` makes ``text`` the whole
    message (no "expected", no ", got ...")."""
    ctx: dict[str, Any] = {"expected": text, "plain": plain}
    if key is not None:
        ctx["key"] = key
    return PydanticCustomError(EXPECTED, "expected {expected}", ctx)


class Check:
    """Base: a plain validator (``check``) plus a fixed JSON Schema (``schema``)."""

    def check(self, value: Any) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_plain_validator_function(self.check)

    def __get_pydantic_json_schema__(self, schema: Any, handler: JsonHandler) -> dict[str, Any]:
        return self.schema()


def _bounds_words(lo: Any, hi: Any, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f" in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f" {'<' if hi_open else '<='} {hi:g}"
    return ""


@dataclass(frozen=True)
class Num(Check):
    """A finite int or float (returned as float), optionally bounded."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    text: str | None = None

    def words(self) -> str:
        lo, hi = (
            (self.ge if self.gt is None else self.gt),
            (self.le if self.lt is None else self.lt),
        )
        return (
            self.text
            or f"a number{_bounds_words(lo, hi, self.gt is not None, self.lt is not None)}"
        )

    def ok(self, v: float) -> bool:
        return (
            (self.ge is None or v >= self.ge)
            and (self.gt is None or v > self.gt)
            and (self.le is None or v <= self.le)
            and (self.lt is None or v < self.lt)
        )

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Expected(self.words())
        if not math.isfinite(value) or not self.ok(value):
            raise Expected(self.words())
        return float(value)

    def schema(self) -> dict[str, Any]:
        keys = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
        values = (self.ge, self.gt, self.le, self.lt)
        return {
            "type": "number",
            **{k: v for k, v in zip(keys, values, strict=True) if v is not None},
        }


@dataclass(frozen=True)
class Integer(Check):
    """An int (YAML ``true`` is not 1), optionally bounded."""

    ge: int | None = None
    le: int | None = None
    text: str | None = None

    def check(self, value: Any) -> int:
        bad = isinstance(value, bool) or not isinstance(value, int)
        if (
            bad
            or (self.ge is not None and value < self.ge)
            or (self.le is not None and value > self.le)
        ):
            raise Expected(
                self.text or f"an integer{_bounds_words(self.ge, self.le, False, False)}"
            )
        return value

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer"}
        if self.ge is not None:
            out["minimum"] = self.ge
        if self.le is not None:
            out["maximum"] = self.le
        return out


@dataclass(frozen=True)
class Text(Check):
    """A string; ``non_empty`` also refuses blank text (``text`` names what it is)."""

    non_empty: bool = False
    text: str | None = None

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or (self.non_empty and not value.strip()):
            raise Expected(self.text or ("a non-empty string" if self.non_empty else "a string"))
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "minLength": 1} if self.non_empty else {"type": "string"}


@dataclass(frozen=True)
class Flag(Check):
    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise Expected("true or false")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class OneOf(Check):
    """One of ``values``; ``listed`` shows them as a Python list in messages."""

    def __init__(self, *values: Any, listed: bool = False) -> None:
        self.values = values
        self.text = f"one of {list(values)}" if listed else f"one of {', '.join(map(str, values))}"

    def check(self, value: Any) -> Any:
        if isinstance(value, bool) or value not in self.values:
            raise Expected(self.text)
        return value

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


class Kinds(Check):
    """A value of one of the Python ``types`` (e.g. str or int or bool), unconverted."""

    _JSON = {str: "string", int: "integer", float: "number", bool: "boolean"}

    def __init__(self, *types: type) -> None:
        self.types = types
        self.text = " or ".join(t.__name__ for t in types)

    def check(self, value: Any) -> Any:
        if not isinstance(value, self.types):
            raise Expected(self.text)
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": [self._JSON[t] for t in self.types]}


Bool = Annotated[bool, Flag()]
Str = Annotated[str, Text()]


def Rule(check: Callable[[Any], bool], words: str) -> AfterValidator:  # noqa: N802
    """A condition on an already typed value (e.g. a list's order)."""

    def validate(value: Any) -> Any:
        if not check(value):
            raise Expected(words)
        return value

    return AfterValidator(validate)


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, Mapping) else value


def OneOrMore(item: Any) -> BeforeValidator:  # noqa: N802
    """``x`` or ``[x, ...]`` for a list of mappings: a single mapping is a list of one."""
    return BeforeValidator(_as_list, json_schema_input_type=item | list[item])
