"""The slice predicate language's syntax: parse a declarative predicate, collecting problems.

Pure Python (no pandas), so params.yaml can be checked without importing the data stack.
The parser builds nodes through ``nodes``: :mod:`mlgate.slices` passes its Predicate
classes, :func:`predicate_problems` / :func:`slices_problems` pass placeholders and keep only
the problems. A problem is (location below the parsed node, message), e.g.
``(".all[1].op", "unknown operator '~'; ...")``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from mlgate.config.messages import show_value

__all__ = [
    "NULL_OPS",
    "OPS",
    "SET_OPS",
    "Nodes",
    "Problem",
    "Scalar",
    "parse",
    "parse_map",
    "predicate_problems",
    "slices_problems",
]

Scalar = str | int | float | bool | dt.date

OPS: tuple[str, ...] = (
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "not_in",
    "is_null",
    "not_null",
)
SET_OPS = ("in", "not_in")
NULL_OPS = ("is_null", "not_null")
_COMBINATORS = ("all", "any", "not")
_LEAF_KEYS = ("column", "op", "value")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
Problem = tuple[str, str]


class Nodes(NamedTuple):
    """Constructors of the parsed tree: (column, op, value, where=), (parts, where=), ..."""

    condition: Callable[..., Any]
    all: Callable[..., Any]
    any: Callable[..., Any]
    not_: Callable[..., Any]


def _placeholder(*args: Any, **kwargs: Any) -> bool:
    return True


_CHECK_ONLY = Nodes(_placeholder, _placeholder, _placeholder, _placeholder)


def predicate_problems(obj: Any) -> list[Problem]:
    """Every problem of a declarative predicate, located relative to it (empty: valid)."""
    problems: list[Problem] = []
    parse(obj, "", "", problems, _CHECK_ONLY)
    return problems


def slices_problems(mapping: Any) -> list[Problem]:
    """Every problem of ``{name: predicate, ...}``, located relative to the mapping."""
    problems: list[Problem] = []
    parse_map(mapping, "", problems, _CHECK_ONLY)
    return problems


def parse_map(mapping: Any, where: str, problems: list[Problem], nodes: Nodes) -> dict[str, Any]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        got = show_value(mapping)
        problems.append(("", f"expected a mapping of slice name -> predicate, got {got}"))
        return {}
    out: dict[str, Any] = {}
    for name, obj in mapping.items():
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(
                (
                    "",
                    f"slice name {name!r} is not valid; use letters, digits, '_' or '-', "
                    f"starting with a letter or '_'",
                )
            )
            continue
        predicate = parse(obj, f"{where}.{name}", f".{name}", problems, nodes)
        if predicate is not None:
            out[name] = predicate
    return out


def parse(obj: Any, where: str, at: str, problems: list[Problem], nodes: Nodes) -> Any:
    """The predicate at ``obj`` (None if it has a problem); ``at`` locates it for messages,
    ``where`` (the full key path) is kept in the predicate for errors against data."""
    if not isinstance(obj, Mapping):
        problems.append(
            (
                at,
                "expected a mapping {column, op, value} or {all|any|not: ...}, "
                f"got {show_value(obj)}",
            )
        )
        return None
    combinators = [k for k in obj if k in _COMBINATORS]
    if not combinators:
        return _parse_condition(obj, where, at, problems, nodes)
    key = combinators[0]
    if len(obj) != 1:
        others = sorted(str(k) for k in obj if k != key)
        problems.append(
            (at, f"a '{key}' combinator must be the only key of its mapping; also found {others}")
        )
        return None
    inner = obj[key]
    if key == "not":
        part = parse(inner, f"{where}.not", f"{at}.not", problems, nodes)
        return None if part is None else nodes.not_(part, where=where)
    if not isinstance(inner, list | tuple) or not inner:
        got = show_value(inner)
        problems.append((f"{at}.{key}", f"expected a non-empty list of predicates, got {got}"))
        return None
    parts = [
        parse(p, f"{where}.{key}[{i}]", f"{at}.{key}[{i}]", problems, nodes)
        for i, p in enumerate(inner)
    ]
    if any(p is None for p in parts):
        return None
    return (nodes.all if key == "all" else nodes.any)(tuple(parts), where=where)


def _parse_condition(
    obj: Mapping[Any, Any], where: str, at: str, problems: list[Problem], nodes: Nodes
) -> Any:
    before = len(problems)
    for key in obj:
        if key not in _LEAF_KEYS:
            problems.append(
                (
                    at,
                    f"unknown key '{key}'; expected column, op, value "
                    f"or one of the combinators all, any, not",
                )
            )
    problems.extend((at, f"missing key '{k}'") for k in ("column", "op") if k not in obj)
    column, op = obj.get("column"), obj.get("op")
    if "column" in obj and (not isinstance(column, str) or not column):
        problems.append((f"{at}.column", f"expected a column name, got {show_value(column)}"))
    if "op" in obj and op not in OPS:
        problems.append((f"{at}.op", f"unknown operator {op!r}; expected one of {', '.join(OPS)}"))
        op = None
    value = _parse_value(obj, op, at, problems)
    if len(problems) > before:
        return None
    return nodes.condition(column, op, value, where=where)


def _parse_value(obj: Mapping[Any, Any], op: Any, at: str, problems: list[Problem]) -> Any:
    if op is None:
        return None
    if op in NULL_OPS:
        if "value" in obj:
            problems.append((f"{at}.value", f"'{op}' takes no value; remove the key"))
        return None
    if "value" not in obj:
        problems.append((at, f"missing key 'value' (required by '{op}')"))
        return None
    raw = obj["value"]
    if op not in SET_OPS:
        return _parse_scalar(raw, f"{at}.value", problems)
    if not isinstance(raw, list | tuple) or not raw:
        got = show_value(raw)
        problems.append((f"{at}.value", f"'{op}' expects a non-empty list of values, got {got}"))
        return None
    return tuple(_parse_scalar(v, f"{at}.value[{i}]", problems) for i, v in enumerate(raw))


def _parse_scalar(value: Any, at: str, problems: list[Problem]) -> Scalar | None:
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()  # a numpy scalar, without importing numpy
    if value is None:
        problems.append((at, "null never matches a comparison; use op is_null / not_null"))
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append((at, f"expected a finite number, got {value!r}"))
    elif isinstance(value, str | bool | int | float | dt.date):
        return value
    else:
        got = show_value(value)
        problems.append((at, f"expected a string, number, boolean or date, got {got}"))
    return None
