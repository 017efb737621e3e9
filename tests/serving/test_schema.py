"""The request model derived from the contract: what it accepts, what it refuses, and why."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgate.data.contract import load_contract
from mlgate.errors import ContractError
from mlgate.serving.checks import bad_payload_catalog, check_bad_payloads
from mlgate.serving.client import InProcessBackend, dumps_body
from mlgate.serving.derive import derive_request_schema
from mlgate.serving.schema import FieldSpec, PayloadError
from mlgate.serving.service import ScoringService

from .conftest import CONTRACT


def _errors(schema: Any, payload: Any) -> list[dict[str, Any]]:
    with pytest.raises(PayloadError) as info:
        schema.parse(payload if isinstance(payload, bytes | str) else json.dumps(payload))
    return info.value.errors


def test_fields_follow_the_contract(service: ScoringService) -> None:
    fields = service.schema.by_name
    assert set(fields) == set(load_contract(CONTRACT).columns)
    assert fields["tenure_months"].required and fields["tenure_months"].model_input
    assert (fields["tenure_months"].minimum, fields["tenure_months"].maximum) == (0, 120)
    assert fields["contract_type"].allowed == ("monthly", "annual", "multi-year")
    assert fields["city"].pattern == r"^city_\d{3}$"
    # Not read by the model: optional, but still checked when sent.
    assert not fields["churned"].required and not fields["churned"].model_input
    assert not fields["customer_id"].required
    assert service.schema.unchecked == ("customer_id: unique_values",)


def test_one_error_per_bad_field_each_named(
    service: ScoringService, records: list[dict[str, Any]]
) -> None:
    bad = {
        **records[0],
        "tenure_months": 500,
        "region": "mars",
        "city": None,
        "monthly_spend": "12",
        "churned": 7,
    }
    errors = _errors(service.schema, bad)
    by_field = {e["field"]: e for e in errors}
    assert set(by_field) == {"tenure_months", "region", "city", "monthly_spend", "churned"}
    assert by_field["tenure_months"]["expected"] == "an integer in [0, 120]"
    assert "120" in by_field["tenure_months"]["msg"]
    assert "north" in by_field["region"]["expected"]
    assert "non-nullable" in by_field["city"]["msg"]
    assert by_field["monthly_spend"]["input"] == "12"
    assert "[0, 1]" in by_field["churned"]["expected"]


def test_batch_errors_carry_the_row(
    service: ScoringService, records: list[dict[str, Any]]
) -> None:
    rows = [records[0], {**records[1], "support_tickets": -1}, records[2]]
    (error,) = _errors(service.schema, rows)
    assert (error["row"], error["field"], error["loc"]) == (
        1,
        "support_tickets",
        ["body", 1, "support_tickets"],
    )


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"[]", "empty"),
        (b"nope", "not valid JSON"),
        (b"3", "JSON number"),
        (b"null", "JSON null"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
    ],
)
def test_body_level_errors_name_the_body(service: ScoringService, body: bytes, text: str) -> None:
    (error,) = _errors(service.schema, body)
    assert error["field"] == "body" and text in error["msg"]


def test_strict_types(service: ScoringService, records: list[dict[str, Any]]) -> None:
    for field, value in [
        ("tenure_months", 5.0),
        ("tenure_months", "5"),
        ("tenure_months", True),
        ("is_enterprise", 1),
        ("monthly_spend", "1.5"),
        ("city", 1),
    ]:
        (error,) = _errors(service.schema, {**records[0], field: value})
        assert error["field"] == field, (field, value)
    # An integer is a valid float, as JSON writes 12.0 as 12.
    frame, _ = service.schema.parse(json.dumps({**records[0], "monthly_spend": 12}))
    assert frame["monthly_spend"].dtype == np.float64


def test_catalog_each_case_refused_with_its_field(
    service: ScoringService, records: list[dict[str, Any]]
) -> None:
    cases = bad_payload_catalog(service.schema, records[0])
    names = {c.name for c in cases}
    assert {
        "missing_field",
        "wrong_type_int",
        "unknown_category",
        "out_of_range_max",
        "null_in_non_nullable",
        "empty_list",
        "non_json",
        "extra_field",
        "bad_row_in_batch",
        "nan_number",
        "huge_integer",
        "date_out_of_range",
    } <= names
    result = check_bad_payloads(InProcessBackend(service), cases)
    failed = {k: v for k, v in result["cases"].items() if not v["passed"]}
    assert failed == {}
    assert result["passed"] and result["n_passed"] == len(cases)
    assert {v["status"] for v in result["cases"].values()} == {422}


def test_catalog_check_fails_when_the_field_is_not_named(
    service: ScoringService, records: list[dict[str, Any]]
) -> None:
    class Vague:
        name = "vague"

        def call(self, body: bytes) -> Any:
            from mlgate.serving.service import Reply

            return Reply(422, {"detail": [{"field": "something", "loc": ["body"]}]})

    result = check_bad_payloads(Vague(), bad_payload_catalog(service.schema, records[0]))
    assert not result["passed"]
    assert not result["cases"]["missing_field"]["passed"]
    assert result["cases"]["empty_list"]["passed"]  # "body" is what that case must name


def test_frame_has_training_dtypes(
    service: ScoringService, records: list[dict[str, Any]], traffic: pd.DataFrame
) -> None:
    frame, single = service.schema.parse(dumps_body(records[:5]))
    assert not single
    # The validate stage coerces dates to the contract's datetime64[ns]; the model trains on that.
    expected = traffic[list(service.schema.input_columns)].head(5)
    expected = expected.astype({"signup_date": "datetime64[ns]"})
    pd.testing.assert_frame_equal(frame, expected.reset_index(drop=True), check_dtype=True)


def test_datetimes_accept_iso_forms_and_convert_to_utc(
    service: ScoringService, records: list[dict[str, Any]]
) -> None:
    for text, want in [
        ("2025-02-13", "2025-02-13 00:00"),
        ("2025-02-13T08:30:00", "2025-02-13 08:30"),
        ("2025-02-13T08:30:00+02:00", "2025-02-13 06:30"),
        ("2025-02-13T08:30:00Z", "2025-02-13 08:30"),
    ]:
        frame, _ = service.schema.parse(json.dumps({**records[0], "signup_date": text}))
        assert frame["signup_date"].iloc[0] == pd.Timestamp(want), text
        assert frame["signup_date"].dtype == "datetime64[ns]"


def _tiny_contract(**kwargs: Any) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "n": pa.Column("int64", pa.Check.in_range(0, 10), nullable=True),
            "x": pa.Column("float64", pa.Check.greater_than(0.0), nullable=True),
            "flag": pa.Column("bool", nullable=True),
            "code": pa.Column("int64", pa.Check.isin([1, 2, 3])),
            "label": pa.Column("str", pa.Check.str_startswith("L")),
            "other": pa.Column("object", nullable=True),
        },
        **kwargs,
    )


def test_nullable_columns_may_be_null_or_omitted() -> None:
    schema = derive_request_schema(_tiny_contract(strict=True), ["n", "x", "flag", "code"])
    frame, _ = schema.parse(
        json.dumps(
            [{"code": 1, "n": None, "flag": True}, {"code": 2, "n": 3, "x": 0.5, "flag": None}]
        )
    )
    assert frame["n"].dtype == np.float64 and np.isnan(frame["n"][0]) and frame["n"][1] == 3
    assert np.isnan(frame["x"][0]) and frame["x"][1] == 0.5
    assert frame["flag"].dtype == np.float64 and frame["flag"][0] == 1.0
    assert frame["code"].dtype == np.int64
    (error,) = _errors(schema, {"code": 4})
    assert error["field"] == "code" and "[1, 2, 3]" in error["expected"]
    (error,) = _errors(schema, {"code": 1, "x": 0.0})
    assert error["field"] == "x" and error["expected"] == "a finite number > 0.0, or null"
    (error,) = _errors(schema, {"code": 1, "label": "M"})
    assert error["field"] == "label"


def test_extra_fields_are_ignored_when_the_contract_is_not_strict() -> None:
    schema = derive_request_schema(_tiny_contract(strict=False), ["code"])
    assert schema.extra_allowed
    frame, _ = schema.parse(json.dumps({"code": 1, "whatever": [1, 2]}))
    assert list(frame.columns) == ["code"]


def test_contract_must_declare_every_model_input() -> None:
    with pytest.raises(ContractError, match=r"\['ghost'\]"):
        derive_request_schema(_tiny_contract(), ["code", "ghost"])
    with pytest.raises(ContractError, match="other"):
        derive_request_schema(
            pa.DataFrameSchema({"other": pa.Column("timedelta64[ns]")}), ["other"]
        )


def test_max_records_is_enforced(service: ScoringService, records: list[dict[str, Any]]) -> None:
    schema = derive_request_schema(
        load_contract(CONTRACT), service.schema.input_columns, max_records=3
    )
    (error,) = _errors(schema, records[:4])
    assert error["field"] == "body" and "at most 3" in error["expected"]
    assert len(schema.parse(dumps_body(records[:3]))[0]) == 3


# --------------------------------------------------------------------------- property


def _strategy(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.allowed is not None:
        return st.sampled_from(spec.allowed)
    if spec.kind == "int":
        lo = -(2**63) if spec.minimum is None else spec.minimum
        hi = 2**63 - 1 if spec.maximum is None else spec.maximum
        return st.integers(lo, hi)
    if spec.kind == "float":
        return st.floats(spec.minimum, spec.maximum, allow_nan=False)
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "datetime":
        # The whole range the API accepts (datetime64[ns]'s, in whole days).
        return st.datetimes(dt.datetime(1677, 9, 22), dt.datetime(2262, 4, 10)).map(
            lambda d: d.isoformat()
        )
    return st.from_regex(spec.pattern or r".*", fullmatch=True)


@st.composite
def _valid_bodies(draw: st.DrawFn, fields: tuple[FieldSpec, ...]) -> Any:
    def record() -> dict[str, Any]:
        return {f.name: draw(_strategy(f)) for f in fields if f.model_input or draw(st.booleans())}

    if draw(st.booleans()):
        return record()
    return [record() for _ in range(draw(st.integers(1, 4)))]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_payload_the_contract_accepts_is_scored(
    service: ScoringService, data: st.DataObject
) -> None:
    body = data.draw(_valid_bodies(service.schema.fields))
    reply = service.predict_body(dumps_body(body))
    assert reply.status == 200, reply.content
    probs = reply.probabilities
    n = 1 if isinstance(body, dict) else len(body)
    assert probs is not None and len(probs) == n
    assert all(0.0 <= p <= 1.0 for p in probs)


def test_dates_far_from_the_reference_are_scored(
    service: ScoringService, records: list[dict[str, Any]]
) -> None:
    # Found by the property test above: DaysSince used to subtract in datetime64[ns], which
    # overflows ~292 years from date_reference, a 500 for dates the contract accepts.
    for date in ("1677-09-22", "1700-01-01", "2262-04-10"):
        reply = service.predict_body(dumps_body({**records[0], "signup_date": date}))
        assert reply.status == 200, (date, reply.content)
