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

Types are strict (JSON ``5.0`` is not an integer, ``"5"`` is not a number, ``1`` is not a
boolean), as the contract's dtypes are without ``coerce``. Dates are ISO-8601 strings.

Records then become a DataFrame with the dtypes the model saw in training (int64, float64,
bool, pandas ``str``, datetime64[ns]; an integer or boolean column holding a null becomes
float64, as pandas does), so API scores equal offline scores on the same rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NotRequired, Required

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, WithJsonSchema
from pydantic.functional_validators import AfterValidator, PlainValidator
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from mlgate.errors import ContractError

__all__ = [
    "FieldSpec",
    "PayloadError",
    "RequestSchema",
    "derive_request_schema",
]

Kind = Literal["int", "float", "bool", "str", "datetime"]

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


# --------------------------------------------------------------------------- derivation


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


def _string_check(kind: str, pattern: str, column: str = "") -> Callable[..., Any]:
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
            build.validators.append(_string_check(cname, pattern, name))
            build.pattern = pattern
            verb = "matching" if cname == "str_matches" else "containing"
            build.expected.append(f"{verb} {pattern!r}")
        elif cname in ("str_startswith", "str_endswith") and kind == "str":
            build.validators.append(_string_check(cname, str(stats["string"])))
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
