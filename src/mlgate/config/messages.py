"""pydantic's errors -> one line per problem, each starting with its dotted location.

Locations follow the file, not pydantic: ``generate.drift.numeric.tenure_months.shift``,
``tests[3] 'contract_dir': perturb[1].add.b`` (an item of a list that has a ``name`` is
shown by it, and what follows is relative to it); the tag of a tagged union (a test's
``type``) is not a key of the file and is left out. An unknown key gets a did-you-mean from
the keys the model declares at that place.
"""

from __future__ import annotations

import dataclasses
import difflib
import reprlib
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from mlgate.config.fields import EXPECTED

__all__ = ["NESTED", "problems", "show_value"]

# An error carrying problems found below the failing node (a slice predicate's own
# parser): ctx "problems" is a list of (location suffix, message).
NESTED = "mlgate_nested"

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 60, 60
_EXPONENT_HINT = " (YAML reads exponents without a dot as text: write e.g. 1.0e-9)"
_MAPPING_ERRORS = {
    "dict_type",
    "dataclass_type",
    "dataclass_args_type",
    "model_type",
    "model_attributes_type",
}
_LIST_ERRORS = {"list_type", "tuple_type"}
_UNKNOWN = {"extra_forbidden", "unexpected_keyword_argument"}
_MISSING = {"missing", "missing_argument", "missing_keyword_only_argument"}


def show_value(value: Any) -> str:
    """A value's type and shortened repr (never walking a large value whole)."""
    return f"{type(value).__name__} {_REPR.repr(value)[:60]}"


@dataclasses.dataclass
class _Place:
    head: str = ""  # up to the last named list item, e.g. "tests[3] 'contract_dir'"
    path: str = ""  # the keys after it, e.g. "perturb[1].add"
    tp: Any = None  # the declared type there (None: not known)
    raw: Any = None  # the input there
    what: str = ""  # " for a dir test" below a tagged union's member

    def key(self, key: Any) -> str:
        return f"{self.path}[{key}]" if isinstance(key, int) else _join(self.path, key)

    def where(self, path: str | None = None) -> str:
        path = self.path if path is None else path
        return ": ".join(p for p in (self.head, path) if p)


def problems(exc: ValidationError, tp: Any, raw: Any, *, top: str = "a mapping") -> list[str]:
    """Every error of ``exc`` (raised validating ``raw`` as ``tp``) as a line, deduplicated."""
    lines = [_line(error, tp, raw, top) for error in exc.errors()]
    return list(dict.fromkeys(line for group in lines for line in group))


def _line(error: ErrorDetails, tp: Any, raw: Any, top: str) -> list[str]:
    kind, loc, ctx = error["type"], error["loc"], error.get("ctx") or {}
    if kind in _UNKNOWN:
        parent = _walk(tp, raw, loc[:-1])
        hint = _did_you_mean(str(loc[-1]), _keys(parent.tp))
        return [f"{_colon(parent.head)}unknown key '{parent.key(loc[-1])}'{parent.what}{hint}"]
    if kind in _MISSING:
        parent = _walk(tp, raw, loc[:-1])
        return [f"{_colon(parent.where())}missing key '{loc[-1]}'"]
    place = _walk(tp, raw, loc)
    if kind == "union_tag_not_found":
        return [f"{_colon(place.where())}missing key '{_unquote(ctx['discriminator'])}'"]
    if kind == "union_tag_invalid":
        key = place.key(_unquote(ctx["discriminator"]))
        tags = _unquote(ctx["expected_tags"]).replace("', '", ", ")
        return [f"{place.where(key)}: expected one of {tags}, got {show_value(ctx['tag'])}"]
    if kind == NESTED:
        return [f"{place.where()}{suffix}: {message}" for suffix, message in ctx["problems"]]
    where = place.where() or "top level"
    value = error.get("input")
    if kind == EXPECTED:
        if "key" in ctx:  # a rule on a whole node about one of its keys (or items)
            keys = ctx["key"] if isinstance(ctx["key"], list) else [ctx["key"]]
            where = _walk(tp, raw, (*loc, *keys)).where() or "top level"
        if ctx.get("plain"):
            return [f"{where}: {ctx['expected']}"]
        words = ctx["expected"]
    elif kind in _MAPPING_ERRORS:
        words = top if not loc else "a mapping"
    elif kind in _LIST_ERRORS:
        words = "a list"
    else:
        return [f"{where}: {error['msg']}"]
    return [f"{where}: expected {words}, got {show_value(value)}{_hint(words, value)}"]


def _walk(tp: Any, raw: Any, loc: tuple[Any, ...]) -> _Place:
    place = _Place(tp=tp, raw=raw)
    for key in loc:
        tags = _tags(place.tp)
        if tags is not None:  # pydantic puts the tag of a tagged union in the location
            place.tp = tags.get(key)
            place.what = getattr(place.tp, "what", "")
            continue
        if key == "[key]":
            continue
        place.what = ""  # the tag's words apply to the member's own keys only
        if isinstance(key, int) and isinstance(place.raw, Mapping) and _is_list(place.tp):
            place.tp = _item_type(place.tp, key)  # one mapping written for a list of one
            continue
        place.raw = _child(place.raw, key)
        if isinstance(key, int) and isinstance(place.raw, Mapping):
            name = place.raw.get("name")
            if isinstance(name, str) and name:
                head = ": ".join(p for p in (place.head, f"{place.path}[{key}]") if p)
                place.head, place.path = f"{head} '{name}'", ""
                place.tp = _item_type(place.tp, key)
                continue
        place.path = place.key(key)
        place.tp = _item_type(place.tp, key)
    return place


def _strip(tp: Any) -> Any:
    """The type under Annotated and Optional."""
    while True:
        if typing.get_origin(tp) is Annotated:
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _tags(tp: Any) -> dict[str, Any] | None:
    """Tag -> member, when ``tp`` is a union of dataclasses told apart by a Literal ``type``."""
    tp = _strip(tp)
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    members = typing.get_args(tp)
    if not all(dataclasses.is_dataclass(m) for m in members):
        return None
    out = {}
    for member in members:
        for tag in typing.get_args(_strip(typing.get_type_hints(member)["type"])):
            out[tag] = member
    return out


def _item_type(tp: Any, key: Any) -> Any:
    tp = _strip(tp)
    if tp is None:
        return None
    if dataclasses.is_dataclass(tp):
        return typing.get_type_hints(tp, include_extras=True).get(key)
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    if origin in (list, tuple) and args:
        return args[0]
    return None


def _is_list(tp: Any) -> bool:
    return typing.get_origin(_strip(tp)) in (list, tuple)


def _keys(tp: Any) -> list[str]:
    tp = _strip(tp)
    return [f.name for f in dataclasses.fields(tp)] if dataclasses.is_dataclass(tp) else []


def _child(raw: Any, key: Any) -> Any:
    if isinstance(raw, Mapping):
        return raw.get(key)
    if isinstance(raw, list | tuple) and isinstance(key, int) and 0 <= key < len(raw):
        return raw[key]
    return None


def _did_you_mean(key: str, keys: list[str]) -> str:
    if not keys:
        return ""
    close = difflib.get_close_matches(key, keys, n=1)
    return f"; did you mean '{close[0]}'?" if close else f"; expected one of {sorted(keys)}"


def _hint(words: str, value: Any) -> str:
    if not ("number" in words and isinstance(value, str) and "e" in value.lower()):
        return ""
    try:
        float(value)
    except ValueError:
        return ""
    return _EXPONENT_HINT  # PyYAML follows YAML 1.1: 1e-9 (no dot) is a string


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _colon(where: str) -> str:
    return f"{where}: " if where else ""


def _unquote(text: str) -> str:
    return text.strip("'")
