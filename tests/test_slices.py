"""mlgate.slices: the safe predicate language (operators, combinators, nulls, errors)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.errors import DataError, ParamsError
from mlgate.slices import (
    OPS,
    AllOf,
    AnyOf,
    Condition,
    Not,
    describe_rows,
    parse_predicate,
    parse_slices,
)


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tenure_months": [1, 5, 6, 12, None],
            "contract_type": ["monthly", "annual", None, "monthly", "multi-year"],
            "is_enterprise": [True, False, False, True, False],
            "signup_date": pd.to_datetime(
                ["2020-01-01", "2021-06-01", "2022-01-01", None, "2019-03-01"]
            ),
            "region": pd.Categorical(["north", "south", "east", None, "west"]),
            "spend": pd.array([10, 20, None, 40, 50], dtype="Int64"),
        }
    )


def mask(obj: dict, df: pd.DataFrame) -> list[bool]:
    return parse_predicate(obj, where="t").mask(df).tolist()


# --------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("==", 6, [False, False, True, False, False]),
        ("!=", 6, [True, True, False, True, False]),  # the null row matches nothing
        ("<", 6, [True, True, False, False, False]),
        ("<=", 6, [True, True, True, False, False]),
        (">", 5, [False, False, True, True, False]),
        (">=", 5, [False, True, True, True, False]),
        ("in", [1, 12], [True, False, False, True, False]),
        ("not_in", [1, 12], [False, True, True, False, False]),
        ("is_null", None, [False, False, False, False, True]),
        ("not_null", None, [True, True, True, True, False]),
    ],
)
def test_each_operator_on_a_numeric_column(frame, op, value, expected):
    obj = {"column": "tenure_months", "op": op}
    if value is not None:
        obj["value"] = value
    assert mask(obj, frame) == expected


def test_every_operator_is_covered_by_the_table_above():
    assert set(OPS) == {"==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null", "not_null"}


def test_text_column_and_nulls_never_match_comparisons(frame):
    assert mask({"column": "contract_type", "op": "==", "value": "monthly"}, frame) == [
        True, False, False, True, False,
    ]  # fmt: skip
    # != and not_in skip the null contract too ...
    assert mask({"column": "contract_type", "op": "!=", "value": "monthly"}, frame) == [
        False, True, False, False, True,
    ]  # fmt: skip
    assert mask({"column": "contract_type", "op": "not_in", "value": ["monthly"]}, frame) == [
        False, True, False, False, True,
    ]  # fmt: skip
    # ... while `not` negates the mask, so it keeps the null row (documented difference).
    negated = {"not": {"column": "contract_type", "op": "==", "value": "monthly"}}
    assert mask(negated, frame) == [False, True, True, False, True]


def test_bool_column(frame):
    assert mask({"column": "is_enterprise", "op": "==", "value": True}, frame) == [
        True, False, False, True, False,
    ]  # fmt: skip


def test_nullable_integer_column(frame):
    assert mask({"column": "spend", "op": ">=", "value": 20}, frame) == [
        False, True, False, True, True,
    ]  # fmt: skip


def test_dates_accept_iso_strings_and_yaml_dates(frame):
    iso = mask({"column": "signup_date", "op": "<", "value": "2021-01-01"}, frame)
    date = mask({"column": "signup_date", "op": "<", "value": dt.date(2021, 1, 1)}, frame)
    assert iso == date == [True, False, False, False, True]


def test_categorical_column_supports_ordering_on_its_values(frame):
    assert mask({"column": "region", "op": "<", "value": "south"}, frame) == [
        True, False, True, False, False,
    ]  # fmt: skip
    assert mask({"column": "region", "op": "in", "value": ["west", "east"]}, frame) == [
        False, False, True, False, True,
    ]  # fmt: skip


# --------------------------------------------------------------------------- combinators


def test_all_any_not_nest(frame):
    obj = {
        "all": [
            {"column": "tenure_months", "op": "<", "value": 10},
            {
                "any": [
                    {"column": "contract_type", "op": "==", "value": "annual"},
                    {"not": {"column": "is_enterprise", "op": "==", "value": False}},
                ]
            },
        ]
    }
    assert mask(obj, frame) == [True, True, False, False, False]


def test_describe_reads_like_the_rule():
    p = parse_predicate(
        {
            "all": [
                {"column": "tenure_months", "op": "<", "value": 6},
                {"column": "contract_type", "op": "==", "value": "monthly"},
            ]
        },
        where="t",
    )
    assert p.describe() == "tenure_months < 6 and contract_type == 'monthly'"
    q = parse_predicate(
        {
            "any": [
                p.to_dict(),
                {"not": {"column": "my col", "op": "in", "value": [True, 2.5]}},
                {"column": "d", "op": ">=", "value": dt.date(2024, 1, 31)},
                {"column": "x", "op": "is_null"},
            ]
        },
        where="t",
    )
    assert q.describe() == (
        "(tenure_months < 6 and contract_type == 'monthly') or not (`my col` in [true, 2.5])"
        " or d >= 2024-01-31 or x is null"
    )
    assert describe_rows(None) == "all rows"


def test_to_dict_round_trips_and_predicates_are_frozen_values():
    obj = {
        "all": [
            {"column": "a", "op": "in", "value": ["x", "y"]},
            {"not": {"column": "b", "op": "not_null"}},
            {"any": [{"column": "c", "op": ">", "value": 1.5}]},
        ]
    }
    p = parse_predicate(obj, where="one")
    assert p.to_dict() == obj
    again = parse_predicate(p.to_dict(), where="other")
    assert again == p and hash(again) == hash(p)  # `where` is not part of equality
    assert isinstance(p, AllOf) and isinstance(p.parts[1], Not)
    assert isinstance(p.parts[2], AnyOf) and isinstance(p.parts[0], Condition)
    assert p.columns() == frozenset({"a", "b", "c"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.parts = ()  # type: ignore[misc]


# --------------------------------------------------------------------------- parse errors


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (
            {"column": "x", "op": "=~", "value": 1},
            "evaluate.slices.enterprise.op: unknown operator '=~'; expected one of ==, !=",
        ),
        ({"op": "==", "value": 1}, "evaluate.slices.enterprise: missing key 'column'"),
        ({"column": "x", "value": 1}, "evaluate.slices.enterprise: missing key 'op'"),
        ({"column": "x", "op": "<"}, "missing key 'value' (required by '<')"),
        ({"column": "x", "op": "is_null", "value": 1}, ".value: 'is_null' takes no value"),
        ({"column": "x", "op": "in", "value": "a"}, "'in' expects a non-empty list"),
        ({"column": "x", "op": "in", "value": []}, "'in' expects a non-empty list"),
        ({"column": "x", "op": "==", "value": None}, "use op is_null / not_null"),
        ({"column": "x", "op": "==", "value": float("nan")}, "expected a finite number"),
        ({"column": "x", "op": "==", "value": [1]}, "expected a string, number, boolean"),
        ({"column": "x", "op": "in", "value": [1, None]}, ".value[1]: null never matches"),
        ({"column": "", "op": "==", "value": 1}, ".column: expected a column name"),
        ({"column": "x", "op": "==", "value": 1, "vale": 2}, "unknown key 'vale'"),
        ({"all": []}, "enterprise.all: expected a non-empty list of predicates"),
        ({"any": {"column": "x"}}, "enterprise.any: expected a non-empty list"),
        ({"all": [{"column": "x", "op": "==", "value": 1}], "column": "y"}, "only key"),
        (
            {"all": [{"column": "x", "op": "==", "value": 1}, {"column": "y", "op": "~"}]},
            "evaluate.slices.enterprise.all[1].op: unknown operator '~'",
        ),
        ({"not": {"column": "x", "op": "<>", "value": 1}}, "enterprise.not.op: unknown"),
        ("tenure < 6", "evaluate.slices.enterprise: expected a mapping"),
    ],
)
def test_parse_errors_name_the_key(obj, message):
    with pytest.raises(ParamsError) as err:
        parse_predicate(obj, where="evaluate.slices.enterprise")
    assert message in str(err.value)


def test_parse_slices_names_and_empty():
    slices = parse_slices(
        {
            "enterprise": {"column": "is_enterprise", "op": "==", "value": True},
            "new-customers_2": {"column": "tenure_months", "op": "<", "value": 6},
        },
        where="evaluate.slices",
    )
    assert list(slices) == ["enterprise", "new-customers_2"]
    assert slices["enterprise"].where == "evaluate.slices.enterprise"
    assert parse_slices(None, where="evaluate.slices") == {}
    with pytest.raises(ParamsError, match=r"evaluate.slices: slice name 'bad name' is not valid"):
        parse_slices({"bad name": {"column": "a", "op": "is_null"}}, where="evaluate.slices")
    with pytest.raises(ParamsError, match=r"evaluate.slices: expected a mapping"):
        parse_slices([{"column": "a", "op": "is_null"}], where="evaluate.slices")
    with pytest.raises(ParamsError, match=r"evaluate.slices.x.op: unknown operator"):
        parse_slices({"x": {"column": "a", "op": "like", "value": "b"}}, where="evaluate.slices")


# --------------------------------------------------------------------------- data errors


def test_missing_column_names_the_slice_and_column(frame):
    slices = parse_slices(
        {"enterprise": {"column": "enterprise_flag", "op": "==", "value": True}},
        where="evaluate.slices",
    )
    with pytest.raises(DataError) as err:
        slices["enterprise"].mask(frame)
    text = str(err.value)
    assert text.startswith("evaluate.slices.enterprise: column 'enterprise_flag'")
    assert "tenure_months" in text  # the available columns are listed


def test_missing_column_inside_a_combinator_still_names_the_slice(frame):
    p = parse_predicate(
        {
            "all": [
                {"column": "tenure_months", "op": "<", "value": 6},
                {"column": "nope", "op": "is_null"},
            ]
        },
        where="evaluate.slices.s",
    )
    with pytest.raises(DataError, match=r"evaluate.slices.s.all\[1\]: column 'nope'"):
        p.mask(frame)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"column": "tenure_months", "op": "<", "value": "six"}, "holds number values"),
        ({"column": "contract_type", "op": "==", "value": 3}, "holds text values"),
        ({"column": "is_enterprise", "op": "==", "value": "yes"}, "holds bool values"),
        ({"column": "signup_date", "op": ">", "value": 2020}, "holds datetime values"),
        ({"column": "signup_date", "op": ">", "value": "not a date"}, "is not a date"),
        ({"column": "tenure_months", "op": "in", "value": [1, "x"]}, "holds number values"),
    ],
)
def test_value_of_the_wrong_kind_is_a_data_error_not_an_empty_slice(frame, obj, message):
    with pytest.raises(DataError, match=message):
        parse_predicate(obj, where="evaluate.slices.s").mask(frame)


def test_object_column_comparison_that_python_refuses_is_a_data_error():
    df = pd.DataFrame({"mixed": pd.Series([1, "a", 2.5], dtype=object)})
    with pytest.raises(DataError, match=r"cannot compare column 'mixed'"):
        parse_predicate({"column": "mixed", "op": "<", "value": "b"}, where="s").mask(df)


# --------------------------------------------------------------------------- properties

_OPS_CMP = ["==", "!=", "<", "<=", ">", ">="]


def _oracle(v, op, x):
    if v is None:
        return False
    return {
        "==": v == x, "!=": v != x, "<": v < x, "<=": v <= x, ">": v > x, ">=": v >= x,
    }[op]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=1, max_size=30),
    op=st.sampled_from(_OPS_CMP),
    x=st.integers(-5, 5),
    op2=st.sampled_from(_OPS_CMP),
    y=st.integers(-5, 5),
)
def test_masks_match_a_row_by_row_oracle(values, op, x, op2, y):
    df = pd.DataFrame({"a": pd.array(values, dtype="Int64"), "b": [float(v or 0) for v in values]})
    p = {"column": "a", "op": op, "value": x}
    q = {"column": "b", "op": op2, "value": y}
    expect_p = [_oracle(v, op, x) for v in values]
    expect_q = [_oracle(float(v or 0), op2, y) for v in values]
    assert mask(p, df) == expect_p
    assert mask({"all": [p, q]}, df) == [a and b for a, b in zip(expect_p, expect_q, strict=True)]
    assert mask({"any": [p, q]}, df) == [a or b for a, b in zip(expect_p, expect_q, strict=True)]
    assert mask({"not": p}, df) == [not a for a in expect_p]
    members = [x, y]
    assert mask({"column": "a", "op": "in", "value": members}, df) == [
        v is not None and v in members for v in values
    ]
    assert mask({"column": "a", "op": "not_in", "value": members}, df) == [
        v is not None and v not in members for v in values
    ]


def test_mask_is_a_plain_bool_array_aligned_by_position():
    df = pd.DataFrame({"a": [3, 1, 2]}, index=[10, 5, 7])
    out = parse_predicate({"column": "a", "op": ">", "value": 1}, where="s").mask(df)
    assert isinstance(out, np.ndarray) and out.dtype == bool
    assert out.tolist() == [True, False, True]


def test_every_parse_problem_is_reported_in_one_pass():
    with pytest.raises(ParamsError) as err:
        parse_slices(
            {
                "a": {"column": "x", "op": "=~", "value": 1},
                "b b": {"column": "x", "op": "is_null"},
                "c": {"all": [{"column": "y", "op": "<"}, {"not": {"column": ""}}]},
            },
            where="evaluate.slices",
        )
    assert str(err.value).splitlines() == [
        "evaluate.slices: 5 problems:",
        "  evaluate.slices.a.op: unknown operator '=~'; expected one of ==, !=, <, <=, >, >=, "
        "in, not_in, is_null, not_null",
        "  evaluate.slices: slice name 'b b' is not valid; use letters, digits, '_' or '-', "
        "starting with a letter or '_'",
        "  evaluate.slices.c.all[0]: missing key 'value' (required by '<')",
        "  evaluate.slices.c.all[1].not: missing key 'op'",
        "  evaluate.slices.c.all[1].not.column: expected a column name, got str ''",
    ]
