"""Request bodies of the scoring API: parsed, checked and turned into the model's input frame.

A :class:`RequestSchema` (built from the data contract by
:func:`mlgate.serving.derive.derive_request_schema`) takes a body and either rejects it with a
:class:`PayloadError` naming each field and what was expected, or returns the records.

Types are strict (JSON ``5.0`` is not an integer, ``"5"`` is not a number, ``1`` is not a
boolean), as the contract's dtypes are without ``coerce``. Dates are ISO-8601 strings.

Records then become a DataFrame with the dtypes the model saw in training (int64, float64,
bool, pandas ``str``, datetime64[ns]; an integer or boolean column holding a null becomes
float64, as pandas does), so API scores equal offline scores on the same rows.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError

__all__ = [
    "FieldSpec",
    "Kind",
    "PayloadError",
    "RequestSchema",
]

Kind = Literal["int", "float", "bool", "str", "datetime"]

_MAX_ECHO = 80  # characters of a rejected value echoed back in a 422


@dataclass(frozen=True)
class FieldSpec:
    """One request field: a contract column as the API checks it."""

    name: str
    kind: Kind
    nullable: bool
    required: bool  # must be present in every record
    model_input: bool  # the model reads it (others are checked, then ignored)
    expected: str  # what a valid value looks like, for error messages and docs
    minimum: Any = None  # contract bounds, when it declares them
    maximum: Any = None
    allowed: tuple[Any, ...] | None = None  # isin
    pattern: str | None = None  # str_matches / str_contains


class PayloadError(ValueError):
    """A request body the contract rejects; ``errors`` name each field and what was expected."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['msg']}" for e in errors[:5]))


@dataclass(frozen=True)
class RequestSchema:
    """Validates request bodies and turns them into the model's input frame."""

    fields: tuple[FieldSpec, ...]
    input_columns: tuple[str, ...]  # in the order the model's frame gets them
    unchecked: tuple[str, ...]  # "column: check" that cannot be judged per record
    max_records: int
    extra_allowed: bool
    _record: TypeAdapter[Any] = field(repr=False, compare=False)
    _records: TypeAdapter[Any] = field(repr=False, compare=False)

    @functools.cached_property
    def by_name(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}

    # ------------------------------------------------------------------ validation

    def parse(self, body: bytes | str) -> tuple[pd.DataFrame, bool]:
        """Body bytes -> (model input frame, whether the body was a single record).

        Raises :class:`PayloadError` for anything the contract rejects, including a body that
        is not JSON, an empty list and a list longer than ``max_records``.
        """
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise PayloadError(
                [
                    _body_error(
                        "json_invalid",
                        f"body is not valid JSON: {exc}",
                        "a JSON object (one record) or a JSON array of records",
                    )
                ]
            ) from None
        except RecursionError:  # json's C scanner recurses per nesting level
            raise PayloadError(
                [
                    _body_error(
                        "json_too_deep",
                        "body is nested too deeply to decode",
                        "a JSON object (one record) or a JSON array of flat records",
                    )
                ]
            ) from None
        records, single = self.validate(payload)
        return self.to_frame(records), single

    def validate(self, payload: Any) -> tuple[list[dict[str, Any]], bool]:
        """A decoded JSON value -> (validated records, single); raises PayloadError."""
        if isinstance(payload, dict):
            adapter, single = self._record, True
        elif isinstance(payload, list):
            if not payload:
                raise PayloadError(
                    [_body_error("too_short", "empty list of records", "at least 1 record")]
                )
            if len(payload) > self.max_records:
                raise PayloadError(
                    [
                        _body_error(
                            "too_long",
                            f"{len(payload)} records in one request",
                            f"at most {self.max_records} records per request",
                        )
                    ]
                )
            adapter, single = self._records, False
        else:
            raise PayloadError(
                [
                    _body_error(
                        "body_type",
                        f"body is a JSON {_json_type(payload)}",
                        "a JSON object (one record) or a JSON array of records",
                    )
                ]
            )
        try:
            validated = adapter.validate_python(payload)
        except ValidationError as exc:
            raise PayloadError(self._explain(exc, single)) from None
        return ([validated] if single else list(validated)), single

    def _explain(self, exc: ValidationError, single: bool) -> list[dict[str, Any]]:
        specs = self.by_name
        out = []
        for err in exc.errors(include_url=False):
            loc = list(err["loc"])
            row = None if single else (loc.pop(0) if loc and isinstance(loc[0], int) else None)
            name = str(loc[0]) if loc else None
            spec = specs.get(name) if name is not None else None
            msg = err["msg"]
            if name is None:
                name = "body" if row is None else f"body[{row}]"
                expected = "a JSON object whose keys are contract columns"
            elif spec is None:
                expected = f"no field '{name}': the contract has {[f.name for f in self.fields]}"
            else:
                expected = spec.expected
                if err["input"] is None and err["type"] != "missing" and not spec.nullable:
                    msg = "null is not allowed: the contract marks this column non-nullable"
            out.append(
                {
                    "field": name,
                    "row": row,
                    "loc": ["body", *([] if row is None else [row]), *loc],
                    "type": err["type"],
                    "msg": msg,
                    "expected": expected,
                    **({} if err["type"] == "missing" else {"input": _echo(err["input"])}),
                }
            )
        return out

    # ------------------------------------------------------------------ frame

    def to_frame(self, records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Validated records -> DataFrame of the model's input columns, training dtypes."""
        specs = self.by_name
        columns = {}
        for name in self.input_columns:
            values = [r.get(name) for r in records]
            columns[name] = _column(values, specs[name].kind)
        return pd.DataFrame(columns, index=pd.RangeIndex(len(records)))

    def json_schema(self) -> dict[str, Any]:
        """JSON schema of a request body: one record or a list of records (for OpenAPI)."""
        record = self._record.json_schema()
        return {
            "anyOf": [
                record,
                {"type": "array", "items": record, "minItems": 1, "maxItems": self.max_records},
            ]
        }


def _column(values: list[Any], kind: Kind) -> pd.Series:
    has_null = any(v is None for v in values)
    if kind == "int":
        if has_null:
            return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
        return pd.Series(values, dtype="int64")
    if kind == "bool":
        if has_null:
            return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
        return pd.Series(values, dtype="bool")
    if kind == "float":
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    if kind == "str":
        return pd.Series(values, dtype="str")
    return pd.Series(values, dtype="datetime64[ns]")  # None -> NaT


# --------------------------------------------------------------------------- errors


def _body_error(kind: str, msg: str, expected: str) -> dict[str, Any]:
    return {
        "field": "body",
        "row": None,
        "loc": ["body"],
        "type": kind,
        "msg": msg,
        "expected": expected,
    }


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__


def _echo(value: Any) -> Any:
    """A rejected value, safe to put in a JSON response (no NaN, bounded length)."""
    if value is None or isinstance(value, bool | str) and len(str(value)) <= _MAX_ECHO:
        return value
    if isinstance(value, int) and abs(value) < 2**53:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    text = repr(value)
    return text if len(text) <= _MAX_ECHO else text[: _MAX_ECHO - 3] + "..."
