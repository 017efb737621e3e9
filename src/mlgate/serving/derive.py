"""The request model of the scoring API, derived from the data contract (pandera YAML).

The contract is the single source of truth for what a record may hold, so the API reads it
rather than restating it: for each contract column, its dtype, nullability and the per-value
checks (``in_range``, ``isin``, ``str_matches``...) become a pydantic field, and a payload the
contract would reject gets a 422 that names the field and says what was expected.

* Columns the model reads are required (a nullable one may be omitted: it counts as null).
* Other contract columns (the id, the target) are optional but, when sent, checked like the
  rest, so a client sending whole rows is checked against the whole contract.
* A field the contract does not know is rejected when the contract is ``strict: true``.
* Dataset-level checks (``unique_values``, row counts, means) cannot be judged on one record;
  they are listed in :attr:`RequestSchema.unchecked` instead of being silently dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NotRequired, Required

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import ConfigDict, Field, TypeAdapter, WithJsonSchema
from pydantic.functional_validators import AfterValidator, PlainValidator
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from mlgate.errors import ContractError
from mlgate.serving.patterns import string_check
from mlgate.serving.schema import FieldSpec, Kind, RequestSchema

__all__ = ["derive_request_schema"]

# Per-record checks pandera knows; everything else is dataset-level or not supported here.
_BOUND_CHECKS = {
    "in_range",
    "greater_than",
    "greater_than_or_equal_to",
    "less_than",
    "less_than_or_equal_to",
}
# Whole days inside datetime64[ns]'s range, so any accepted date fits the model's frame.
_TS_MIN, _TS_MAX = dt.datetime(1677, 9, 22), dt.datetime(2262, 4, 11)


def _kind(dtype: Any, column: str) -> Kind | None:
    text = str(dtype).lower()
    if text.startswith(("int", "uint")):
        return "int"
    if text.startswith("float"):
        return "float"
    if text in ("bool", "boolean"):
        return "bool"
    if text.startswith(("str", "string")) or text in ("object", "category"):
        return "str"
    if text.startswith("datetime64") or text in ("datetime", "timestamp", "date"):
        return "datetime"
    return None


def _int_bounds(dtype: Any) -> tuple[int, int]:
    try:
        info = np.iinfo(np.dtype(str(dtype).lower()))
    except TypeError:
        info = np.iinfo(np.int64)
    return int(info.min), int(info.max)


def _parse_datetime(value: Any) -> dt.datetime:
    """ISO-8601 string -> naive datetime (aware values converted to UTC), within pandas' range."""
    if not isinstance(value, str):
        raise PydanticCustomError(
            "datetime_type", "Input should be an ISO-8601 date or datetime string"
        )
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise PydanticCustomError(
            "datetime_parsing",
            "Input should be an ISO-8601 date or datetime string, "
            "e.g. 2025-02-13 or 2025-02-13T08:30:00Z",
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    if not _TS_MIN <= parsed <= _TS_MAX:
        raise PydanticCustomError(
            "datetime_range",
            "Input should be a date between {min} and {max}",
            {"min": _TS_MIN.date().isoformat(), "max": _TS_MAX.date().isoformat()},
        )
    return parsed


def _bounds_validator(lo: Any, hi: Any, include_lo: bool, include_hi: bool) -> Callable[..., Any]:
    # Datetime bounds: pydantic's ge/le would compare a datetime with a string from the YAML.
    lo_ts = None if lo is None else pd.Timestamp(lo).to_pydatetime()
    hi_ts = None if hi is None else pd.Timestamp(hi).to_pydatetime()

    def check(value: Any) -> Any:
        if value is None:
            return value
        low_ok = lo_ts is None or (value >= lo_ts if include_lo else value > lo_ts)
        high_ok = hi_ts is None or (value <= hi_ts if include_hi else value < hi_ts)
        if not (low_ok and high_ok):
            raise PydanticCustomError(
                "datetime_range",
                "Input should be between {lo} and {hi}",
                {"lo": str(lo), "hi": str(hi)},
            )
        return value

    return check


def _membership(allowed: Sequence[Any], *, inside: bool) -> Callable[..., Any]:
    values = frozenset(allowed)
    shown = list(allowed)

    def check(value: Any) -> Any:
        if value is None:
            return value
        # bool is an int in Python: True must not pass as 1 (strict types reject it earlier).
        if (value in values) != inside:
            message = (
                "Input should be one of {allowed}"
                if inside
                else "Input should not be one of {allowed}"
            )
            raise PydanticCustomError(
                "isin" if inside else "notin", message, {"allowed": str(shown)}
            )
        return value

    return check


@dataclass
class _FieldBuild:
    constraints: dict[str, Any] = field(default_factory=dict)
    validators: list[Callable[..., Any]] = field(default_factory=list)
    allowed: list[Any] | None = None
    expected: list[str] = field(default_factory=list)
    minimum: Any = None
    maximum: Any = None
    pattern: str | None = None


def _apply_checks(column: pa.Column, kind: Kind, name: str, unchecked: list[str]) -> _FieldBuild:
    build = _FieldBuild()
    for check in column.checks:
        stats = dict(check.statistics or {})
        cname = check.name
        if cname in _BOUND_CHECKS and kind in ("int", "float", "datetime"):
            lo = stats.get("min_value")
            hi = stats.get("max_value")
            if cname in ("less_than", "less_than_or_equal_to"):
                lo = None
            if cname in ("greater_than", "greater_than_or_equal_to"):
                hi = None
            include_lo = stats.get("include_min", cname != "greater_than")
            include_hi = stats.get("include_max", cname != "less_than")
            if kind == "datetime":
                build.validators.append(_bounds_validator(lo, hi, include_lo, include_hi))
            else:
                if lo is not None:
                    build.constraints["ge" if include_lo else "gt"] = lo
                if hi is not None:
                    build.constraints["le" if include_hi else "lt"] = hi
            build.expected.append(_range_text(lo, hi, include_lo, include_hi))
            build.minimum = lo if lo is not None else build.minimum
            build.maximum = hi if hi is not None else build.maximum
        elif cname == "isin":
            allowed = list(stats["allowed_values"])
            build.allowed = allowed
            if kind != "str" or not all(isinstance(v, str) for v in allowed):
                build.validators.append(_membership(allowed, inside=True))
            build.expected.append(f"one of {allowed}")
        elif cname == "notin":
            forbidden = list(stats["forbidden_values"])
            build.validators.append(_membership(forbidden, inside=False))
            build.expected.append(f"not one of {forbidden}")
        elif cname in ("str_matches", "str_contains") and kind == "str":
            pattern = stats["pattern"]
            pattern = pattern.pattern if hasattr(pattern, "pattern") else str(pattern)
            build.validators.append(string_check(cname, pattern, name))
            build.pattern = pattern
            verb = "matching" if cname == "str_matches" else "containing"
            build.expected.append(f"{verb} {pattern!r}")
        elif cname in ("str_startswith", "str_endswith") and kind == "str":
            build.validators.append(string_check(cname, str(stats["string"])))
            verb = "starting with" if cname == "str_startswith" else "ending with"
            build.expected.append(f"{verb} {stats['string']!r}")
        elif cname == "str_length" and kind == "str":
            if stats.get("min_value") is not None:
                build.constraints["min_length"] = stats["min_value"]
            if stats.get("max_value") is not None:
                build.constraints["max_length"] = stats["max_value"]
            build.expected.append(
                f"of length {_range_text(stats.get('min_value'), stats.get('max_value'))}"
            )
        else:
            unchecked.append(f"{name}: {cname}")
    return build


def _range_text(lo: Any, hi: Any, include_lo: bool = True, include_hi: bool = True) -> str:
    if lo is not None and hi is not None:
        return f"in {'[' if include_lo else '('}{lo}, {hi}{']' if include_hi else ')'}"
    if lo is not None:
        return f"{'>=' if include_lo else '>'} {lo}"
    return f"{'<=' if include_hi else '<'} {hi}"


_BASE_TEXT = {
    "int": "an integer",
    "float": "a finite number",
    "bool": "true or false",
    "str": "a string",
    "datetime": "an ISO-8601 date or datetime string",
}


def _annotation(kind: Kind, dtype: Any, build: _FieldBuild) -> Any:
    validators = [AfterValidator(v) for v in build.validators]
    if (
        kind == "str"
        and build.allowed is not None
        and all(isinstance(v, str) for v in build.allowed)
    ):
        base: Any = Literal[tuple(build.allowed)]  # type: ignore[valid-type]
        return Annotated[base, Field(**build.constraints), *validators]
    if kind == "int":
        lo, hi = _int_bounds(dtype)
        # Keep the dtype's range even without a contract check: 10**30 must be a 422, not an
        # overflow while building the frame.
        limits = {"ge": lo, "le": hi, **build.constraints}
        return Annotated[int, Field(strict=True, **limits), *validators]
    if kind == "float":
        return Annotated[
            float, Field(strict=True, allow_inf_nan=False, **build.constraints), *validators
        ]
    if kind == "bool":
        return Annotated[bool, Field(strict=True), *validators]
    if kind == "str":
        return Annotated[str, Field(strict=True, **build.constraints), *validators]
    return Annotated[
        dt.datetime,
        PlainValidator(_parse_datetime),
        WithJsonSchema({"type": "string", "format": "date-time"}),
        *validators,
    ]


def _typed_field(
    column: Any, kind: Kind, name: str, is_input: bool, unchecked: list[str]
) -> tuple[Any, FieldSpec]:
    """The record annotation and FieldSpec of a contract column with a JSON type."""
    build = _apply_checks(column, kind, name, unchecked)
    annotation = _annotation(kind, column.dtype, build)
    nullable = bool(column.nullable)
    if nullable:
        annotation = annotation | None  # type: ignore[operator]
    # A nullable model input may be omitted (it is then null); a non-nullable one may not.
    required = is_input and not nullable
    words = [_BASE_TEXT[kind], *build.expected]
    if build.allowed is not None:  # "one of [...]" already says the type
        words = [w for w in build.expected if w.startswith("one of")]
    text = " ".join(words) + (", or null" if nullable else "")
    spec = FieldSpec(
        name,
        kind,
        nullable,
        required,
        is_input,
        text,
        minimum=build.minimum,
        maximum=build.maximum,
        allowed=None if build.allowed is None else tuple(build.allowed),
        pattern=build.pattern,
    )
    return (Required[annotation] if required else NotRequired[annotation]), spec


def derive_request_schema(
    contract: pa.DataFrameSchema,
    input_columns: Sequence[str],
    *,
    max_records: int = 1000,
) -> RequestSchema:
    """Build the request model for a model reading ``input_columns`` under ``contract``.

    Raises ContractError when the model reads a column the contract does not declare, or one
    whose dtype has no JSON representation here (the message names the column).
    """
    if max_records < 1:
        raise ValueError(f"max_records: expected an integer >= 1, got {max_records!r}")
    missing = [c for c in input_columns if c not in contract.columns]
    if missing:
        raise ContractError(
            f"the model reads column(s) {missing} that the contract does not declare; "
            f"contract columns are {list(contract.columns)}"
        )
    inputs = set(input_columns)
    specs: list[FieldSpec] = []
    annotations: dict[str, Any] = {}
    unchecked: list[str] = []
    for name, column in contract.columns.items():
        name = str(name)
        kind = _kind(column.dtype, name)
        if kind is None:
            if name in inputs:
                raise ContractError(
                    f"contract column '{name}' has dtype {column.dtype}, which the API cannot "
                    "take from JSON; expected an integer, float, bool, string or datetime dtype"
                )
            annotations[name] = NotRequired[Any]
            unchecked.append(f"{name}: dtype {column.dtype}")
            continue
        annotations[name], spec = _typed_field(column, kind, name, name in inputs, unchecked)
        specs.append(spec)
    record_type = TypedDict("Record", annotations)  # type: ignore[misc]  # noqa: UP013
    extra: Literal["ignore", "forbid"] = (
        "ignore" if contract.strict in (False, "filter") else "forbid"
    )
    record_type.__pydantic_config__ = ConfigDict(extra=extra)  # type: ignore[attr-defined]
    return RequestSchema(
        fields=tuple(specs),
        input_columns=tuple(input_columns),
        unchecked=tuple(unchecked),
        max_records=max_records,
        extra_allowed=extra == "ignore",
        _record=TypeAdapter(record_type),
        _records=TypeAdapter(list[record_type]),  # type: ignore[valid-type]
    )
