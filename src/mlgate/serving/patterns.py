"""Per-value string checks of the API, with regexes matched in linear time (RE2).

A contract's ``str_matches``/``str_contains`` pattern is compiled by RE2 rather than Python's
backtracking ``re``, so no request body can hold a worker for long.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic_core import PydanticCustomError

from mlgate.errors import ContractError

__all__ = ["string_check"]


def _linear_regex(pattern: str, column: str) -> Any:
    """``pattern`` compiled by RE2, whose matching time is linear in the input.

    Python's ``re`` backtracks: ``^(\\w+)+$`` against 26 word characters and a '!' took 3.3 s,
    4x more per 2 characters, so one request could hold a worker for hours. RE2 has no
    backreferences or lookaround; a contract using them cannot be served (ContractError).
    RE2's ``\\d`` and ``\\w`` are ASCII-only where Python's (and so pandera's) are Unicode;
    they are rewritten to Unicode classes (:func:`_python_classes`) so the API accepts what
    the contract accepts. ``\\s`` and ``\\b`` stay ASCII, and ``$`` does not match before a
    final newline as Python's does: there the API is stricter than pandera, never looser.
    """
    import re2

    options = re2.Options()
    options.log_errors = False  # the error is raised below; RE2 would also print it
    try:
        return re2.compile(_python_classes(pattern), options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise ContractError(
            f"contract column '{column}': pattern {pattern!r} cannot be checked in linear "
            f"time by the API ({reason}); expected a pattern without backreferences or "
            "lookaround"
        ) from None


# Python's Unicode meaning of \\d and \\w in RE2 syntax, outside and inside a [...] class.
_OUTSIDE = {"d": r"\p{Nd}", "D": r"\P{Nd}", "w": r"[\p{L}\p{N}_]", "W": r"[^\p{L}\p{N}_]"}
_INSIDE = {"d": r"\p{Nd}", "D": r"\P{Nd}", "w": r"\p{L}\p{N}_"}  # \W in a class stays ASCII


def _python_classes(pattern: str) -> str:
    """Rewrite ``\\d \\D \\w \\W`` to the Unicode classes Python's ``re`` gives them."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            table = _INSIDE if in_class else _OUTSIDE
            out.append(table.get(nxt, char + nxt))
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            out.append(char)
            # A ']' right after '[' or '[^' is a literal, not the end of the class.
            for prefix in ("^", "]"):
                if pattern.startswith(prefix, i + 1):
                    out.append(prefix)
                    i += 1
            i += 1
            continue
        if char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


def string_check(kind: str, pattern: str, column: str = "") -> Callable[..., Any]:
    if kind == "str_matches":  # pandera: Series.str.match, anchored at the start only
        regex = _linear_regex(pattern, column)
        test, text = (lambda v: regex.match(v) is not None), "match the pattern {pattern}"
    elif kind == "str_contains":
        regex = _linear_regex(pattern, column)
        test, text = (lambda v: regex.search(v) is not None), "contain the pattern {pattern}"
    elif kind == "str_startswith":
        test, text = (lambda v: v.startswith(pattern)), "start with {pattern}"
    else:
        test, text = (lambda v: v.endswith(pattern)), "end with {pattern}"

    def check(value: Any) -> Any:
        if value is not None and not test(value):
            raise PydanticCustomError(kind, "String should " + text, {"pattern": repr(pattern)})
        return value

    return check
