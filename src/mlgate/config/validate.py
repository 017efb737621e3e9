"""Validate a parsed configuration file against its model, reporting every problem at once."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter, ValidationError

from mlgate.config.messages import problems
from mlgate.errors import ParamsError

__all__ = ["adapter", "join_problems", "validate"]


@functools.cache
def adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def validate(tp: Any, raw: Any, *, source: str, top: str = "a mapping") -> Any:
    """``raw`` as an instance of ``tp``, or ParamsError listing every problem of ``source``.

    ``top`` is what the whole document should be, for the message when it is not a mapping.
    """
    try:
        return adapter(tp).validate_python(raw)
    except ValidationError as exc:
        raise ParamsError(join_problems(source, problems(exc, tp, raw, top=top))) from None


def join_problems(source: str, lines: list[str]) -> str:
    """One line for one problem; a count and one indented line each for more."""
    if len(lines) == 1:
        return f"{source}: {lines[0]}"
    body = "\n  ".join(lines)
    return f"{source}: {len(lines)} problems:\n  {body}"
