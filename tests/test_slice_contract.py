"""params.yaml's slices checked against the contract: columns, categories, ranges, one pass."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pandera.pandas as pa
import pytest

from mlgate.data.contract_values import Interval, numeric_ranges
from mlgate.errors import ParamsError
from mlgate.slice_contract import check_slices, slice_problems
from mlgate.slices import parse_slices

WHERE = "params.yaml: evaluate.slices"
CONTRACT = {
    "customer_id": pa.Column(str),
    "contract": pa.Column(str, pa.Check.isin(["Month-to-month", "One year", "Two year"])),
    "senior": pa.Column(int, pa.Check.isin([0, 1])),
    "tenure": pa.Column(int, pa.Check.in_range(0, 80)),
    "spend": pa.Column(float, [pa.Check.gt(0.0), pa.Check.lt(500.0)]),
    "paperless": pa.Column(str, pa.Check.isin(["Yes", "No"])),
}
SCHEMA = pa.DataFrameSchema(CONTRACT, strict=True)


def problems(slices: dict[str, Any], schema: pa.DataFrameSchema = SCHEMA) -> list[str]:
    return slice_problems(parse_slices(slices, where=WHERE), schema)


def cond(column: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"column": column, "op": op, "value": value}


def test_a_misspelt_category_is_refused_with_what_is_allowed_and_a_did_you_mean() -> None:
    [line] = problems({"two_year": cond("contract", "==", "Two-year")})
    assert line.startswith(f"{WHERE}.two_year.value: column 'contract': 'Two-year' ")
    assert "('Month-to-month', 'One year', 'Two year')" in line
    assert line.endswith("did you mean 'Two year'?")


def test_a_category_in_the_wrong_case_suggests_the_contract_spelling() -> None:
    [line] = problems({"paper": cond("paperless", "!=", "yes")})
    assert line.endswith("did you mean 'Yes'?")


@pytest.mark.parametrize("op", ["==", "!=", "in", "not_in"])
def test_every_operator_that_names_a_category_is_checked(op: str) -> None:
    value = ["One year", "Too year"] if op in ("in", "not_in") else "Too year"
    [line] = problems({"s": cond("contract", op, value)})
    assert "'Too year' is not a value the contract allows" in line
    assert "did you mean 'Two year'?" in line


def test_a_value_far_from_every_category_gets_no_guess() -> None:
    [line] = problems({"s": cond("contract", "==", "zzz")})
    assert "did you mean" not in line


def test_an_unknown_column_is_refused_with_a_did_you_mean() -> None:
    [line] = problems({"old": cond("tenur", "<", 6)})
    assert line == (
        f"{WHERE}.old.column: column 'tenur' is not in the contract; did you mean 'tenure'?"
    )


def test_allowed_values_pass() -> None:
    ok = {
        "two_year": cond("contract", "==", "Two year"),
        "not_monthly": cond("contract", "!=", "Month-to-month"),
        "long": cond("contract", "in", ["One year", "Two year"]),
        "short": cond("contract", "not_in", ["One year", "Two year"]),
        "senior": cond("senior", "==", 1),
        "senior_text": cond("senior", "==", "1"),  # YAML may read a category as text
        "new": cond("tenure", "<", 6),
        "free_text": cond("customer_id", "==", "anything"),  # no isin: nothing to check
        "known": {"column": "contract", "op": "not_null"},
        # `<` on a category column names no category (a range of text, not a value).
        "early": cond("contract", "<", "N"),
    }
    assert problems(ok) == []


@pytest.mark.parametrize(
    ("op", "value", "ok"),
    [
        ("==", 0, True),
        ("==", 80, True),
        ("==", -1, False),
        ("==", 81, False),
        ("==", 80.5, False),
        ("<", 0, False),
        ("<", 0.5, True),
        ("<=", 0, True),
        ("<=", -0.5, False),
        (">", 80, False),
        (">", 79.5, True),
        (">=", 80, True),
        (">=", 80.5, False),
        ("!=", 200, True),  # holds for every row: not an empty slice
        ("not_in", [200], True),
    ],
)
def test_a_number_outside_a_closed_range_is_refused_at_the_boundaries(
    op: str, value: Any, ok: bool
) -> None:
    found = problems({"s": cond("tenure", op, value)})
    assert (found == []) is ok, found
    if not ok:
        assert found[0].startswith(f"{WHERE}.s.value: column 'tenure': ")
        assert "[0, 80]" in found[0] and "never holds" in found[0]


@pytest.mark.parametrize(
    ("op", "value", "ok"),
    [("==", 0.0, False), ("==", 0.01, True), ("<=", 0.0, False), ("<", 0.01, True),
     ("==", 500.0, False), (">=", 500.0, False), (">", 499.99, True)],
)  # fmt: skip
def test_open_bounds_exclude_their_end(op: str, value: float, ok: bool) -> None:
    found = problems({"s": cond("spend", op, value)})
    assert (found == []) is ok, found
    if not ok:
        assert "(0, 500)" in found[0]


def test_in_names_each_out_of_range_value() -> None:
    [line] = problems({"s": cond("tenure", "in", [5, 200])})
    assert "200 is outside the range the contract allows [0, 80]" in line


def test_compound_predicates_report_every_bad_condition_at_its_key() -> None:
    slices = {
        "mixed": {
            "all": [
                cond("tenure", "<", 6),
                {"any": [cond("contract", "==", "Two-year"), cond("senoir", "==", 1)]},
                {"not": cond("paperless", "==", "no")},
            ]
        },
        "fine": cond("senior", "==", 0),
    }
    found = problems(slices)
    assert [line.split(": column")[0] for line in found] == [
        f"{WHERE}.mixed.all[1].any[0].value",
        f"{WHERE}.mixed.all[1].any[1].column",
        f"{WHERE}.mixed.all[2].not.value",
    ]
    with pytest.raises(ParamsError) as err:
        check_slices(
            parse_slices(slices, where=WHERE), SCHEMA, contract="contracts/x.yaml", where=WHERE
        )
    message = str(err.value)
    assert message.startswith(f"{WHERE}: 3 problem(s) against the contract contracts/x.yaml:")
    assert all(line in message for line in found)
    # One problem is one line (a log's `error:` line holds all of it), naming the contract.
    with pytest.raises(ParamsError) as err:
        check_slices(
            parse_slices({"s": slices["mixed"]["all"][2]}, where=WHERE),
            SCHEMA,
            contract="contracts/x.yaml",
            where=WHERE,
        )
    assert str(err.value) == (
        f"{WHERE}.s.not.value: column 'paperless': 'no' is not a value the contract allows "
        "('Yes', 'No'); did you mean 'No'? (the contract is contracts/x.yaml)"
    )


def test_a_value_repeated_in_one_condition_is_one_line_and_in_two_conditions_two() -> None:
    twice = {"any": [cond("contract", "==", "Two-year"), cond("contract", "==", "Two-year")]}
    assert len(problems({"s": twice})) == 2  # two keys: both named
    same = {"s": cond("contract", "in", ["Two-year", "Two-year"])}
    assert len(problems(same)) == 1


def test_a_non_strict_contract_leaves_other_columns_to_the_data() -> None:
    # strict: false lets other columns through validation; "filter" drops them.
    slices = {"s": cond("loyalty", "==", 1)}
    assert problems(slices, pa.DataFrameSchema(CONTRACT, strict=False)) == []
    assert len(problems(slices, pa.DataFrameSchema(CONTRACT, strict="filter"))) == 1


def test_range_checks_combine_to_the_tightest_interval() -> None:
    schema = pa.DataFrameSchema(
        {
            "x": pa.Column(
                float,
                [
                    pa.Check.in_range(0, 100),
                    pa.Check.ge(10),
                    pa.Check.gt(10),
                    pa.Check.le(50),
                    pa.Check.in_range(-5, 60, include_max=False),
                ],
            ),
            "d": pa.Column("datetime64[ns]", pa.Check.ge("2020-01-01")),  # not a number
        }
    )
    assert numeric_ranges(schema) == {"x": Interval(10, 50, False, True)}
    assert Interval(10, 50, False, True).describe() == "(10, 50]"
    assert Interval().describe() == "(-inf, inf)"


OPS = ["==", "<", "<=", ">", ">="]
COMPARE = {
    "==": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


ENDS = list(itertools.product([True, False], repeat=2))  # (low_closed, high_closed)


@pytest.mark.parametrize(("low_closed", "high_closed"), ENDS)
def test_can_match_agrees_with_a_search_over_allowed_values(
    low_closed: bool, high_closed: bool
) -> None:
    """Oracle: some allowed x on a fine grid satisfies ``x op value``."""
    interval = Interval(2, 6, low_closed, high_closed)
    grid = [i / 8 for i in range(0, 65)]  # 0 .. 8 in steps of 1/8

    def allowed(x: float) -> bool:
        above = x > 2 or (low_closed and x == 2)
        below = x < 6 or (high_closed and x == 6)
        return above and below

    for op, value in itertools.product(OPS, [i / 4 for i in range(0, 33)]):
        expected = any(allowed(x) and COMPARE[op](x, value) for x in grid)
        assert interval.can_match(op, value) is expected, (op, value)


def test_the_shipped_slices_pass_the_shipped_contract(repo_root: Path) -> None:
    from mlgate.data.contract import load_contract
    from mlgate.params import load_params

    params = load_params(repo_root / "params.yaml")
    slices = parse_slices(params.evaluate.slices, where=WHERE)
    assert len(slices) >= 5
    assert slice_problems(slices, load_contract(repo_root / params.contract.path)) == []


def test_the_target_is_checked_as_the_stage_sees_it_0_or_1() -> None:
    # The contract reads Churn as Yes/No; validate turns it into 1/0 before any slice.
    schema = pa.DataFrameSchema(
        {**CONTRACT, "Churn": pa.Column(str, pa.Check.isin(["No", "Yes"]))}
    )
    churners = {"s": cond("Churn", "==", 1)}
    assert problems(churners, schema) != []  # without the target: the contract's Yes/No
    parsed = parse_slices(churners, where=WHERE)
    assert slice_problems(parsed, schema, target="Churn") == []
    [line] = slice_problems(
        parse_slices({"s": cond("Churn", "==", "Yes")}, where=WHERE), schema, target="Churn"
    )
    assert "'Yes' is not a value the contract allows (0, 1)" in line
