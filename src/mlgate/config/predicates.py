"""Field checks for slice predicates (the language of :mod:`mlgate.slices`).

The value is kept as written (the stages parse it into Predicate objects, which name their
key in errors against data); the check runs the same parser (mlgate.config.slice_syntax)
without building anything, so every problem of every predicate is reported with the other
problems of the file, and reading params.yaml does not import pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import PydanticCustomError

from mlgate.config.fields import Check, Expected
from mlgate.config.messages import NESTED
from mlgate.config.slice_syntax import OPS, predicate_problems, slices_problems

__all__ = ["PLACEHOLDER", "PREDICATE_REF", "PREDICATE_SCHEMA", "Predicate", "SliceMap"]

PREDICATE_REF = {"$ref": "#/$defs/SlicePredicate"}
# What the fields report to pydantic, which would try to resolve a $ref of its own making;
# mlgate.config_schemas replaces it with PREDICATE_REF and adds the definition.
PLACEHOLDER = {"x-mlgate-predicate": True}
_SCALAR = {"type": ["string", "number", "boolean"]}


def _combinator(key: str, inner: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: inner},
        "required": [key],
        "additionalProperties": False,
    }


# Recursive, so schemas.py puts it under $defs and fields refer to it by PREDICATE_REF.
PREDICATE_SCHEMA: dict[str, Any] = {
    "description": "A condition {column, op, value} or a combinator {all|any|not: ...}.",
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "column": {"type": "string", "minLength": 1},
                "op": {"enum": list(OPS)},
                "value": {"anyOf": [_SCALAR, {"type": "array", "items": _SCALAR, "minItems": 1}]},
            },
            "required": ["column", "op"],
            "additionalProperties": False,
        },
        _combinator("all", {"type": "array", "items": PREDICATE_REF, "minItems": 1}),
        _combinator("any", {"type": "array", "items": PREDICATE_REF, "minItems": 1}),
        _combinator("not", PREDICATE_REF),
    ],
}


def _nested(problems: list[tuple[str, str]]) -> PydanticCustomError:
    return PydanticCustomError(
        NESTED, "{count} problem(s)", {"problems": problems, "count": len(problems)}
    )


class Predicate(Check):
    """One predicate (a test's ``rows``)."""

    def check(self, value: Any) -> Any:
        problems = predicate_problems(value)
        if problems:
            raise _nested(problems)
        return value

    def schema(self) -> dict[str, Any]:
        return dict(PLACEHOLDER)


class SliceMap(Check):
    """``{slice name: predicate}`` (``evaluate.slices``)."""

    def check(self, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise Expected("a mapping of slice name -> predicate")
        problems = slices_problems(value)
        if problems:
            raise _nested(problems)
        return dict(value)

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_-]*$"},
            "additionalProperties": dict(PLACEHOLDER),
        }
