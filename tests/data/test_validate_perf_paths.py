"""The fast validation path (pass prover + pandera on what it cannot clear) gives exactly what
pandera alone gives: verdict, failure cases (column, check, value, row) in order, summary, and
the validated frame; and on clean data it never runs pandera's per-row validation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgate.data import contract_checks, contract_prover
from mlgate.data.contract import ValidationResult, validate
from mlgate.data.ingest import read_table


def _same(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> ValidationResult:
    """Validate both ways, assert identical outcomes, return the fast one."""
    before = frame.copy()
    slow = validate(frame, schema, fast=False, max_examples=3)
    fast = validate(frame, schema, fast=True, max_examples=3)
    pd.testing.assert_frame_equal(frame, before)  # neither path mutates the caller's frame
    assert fast.passed == slow.passed
    assert fast.n_rows == slow.n_rows
    pd.testing.assert_frame_equal(fast.failure_cases, slow.failure_cases)
    assert fast.summary == slow.summary
    if slow.validated is None:
        assert fast.validated is None
    else:
        assert fast.validated is not None
        pd.testing.assert_frame_equal(fast.validated, slow.validated)
    return fast


def _set(column: str, rows: list[int], value: object) -> Callable[[pd.DataFrame], None]:
    def apply(frame: pd.DataFrame) -> None:
        frame.loc[rows, column] = value

    return apply


CORRUPTIONS: dict[str, Callable[[pd.DataFrame], object]] = {
    "clean": lambda f: None,
    "null_float": _set("monthly_spend", [3, 17], np.nan),
    "null_str": _set("region", [0, 5, 9], None),
    "null_city": _set("city", [8], None),
    "out_of_range_low": _set("tenure_months", [5, 6], -1),
    "out_of_range_high": _set("support_tickets", [7], 51),
    "float_out_of_range": _set("monthly_spend", [11], 5000.01),
    "unknown_category": _set("contract_type", [2, 40], "weekly"),
    "city_pattern_short": _set("city", [4], "city_12"),
    "city_pattern_long": _set("city", [4, 9], "city_0123"),
    "city_pattern_case": _set("city", [1], "City_123"),
    "target_not_binary": _set("churned", [12], 2),
    "duplicate_id": lambda f: f.__setitem__(
        "customer_id", f["customer_id"].where(f.index != 20, f.loc[10, "customer_id"])
    ),
    "nulls_in_int_column": _set("tenure_months", [4, 9], np.nan),
    "wrong_dtype": lambda f: f.__setitem__("support_tickets", f["support_tickets"].astype(float)),
    "bool_as_int": lambda f: f.__setitem__("is_enterprise", f["is_enterprise"].astype("int64")),
    "mixed_object_strings": lambda f: f.__setitem__(
        "region", f["region"].astype(object).where(f.index != 3, 7)
    ),
    "extra_column": lambda f: f.__setitem__("notes", "x"),
    "missing_column": lambda f: f.pop("city"),
    "single_class": lambda f: f.__setitem__("churned", 0),
    "mean_too_high": lambda f: f.__setitem__(
        "monthly_spend", (f["monthly_spend"] * 3).clip(upper=4_999)
    ),
    "all_null_column": lambda f: f.__setitem__("monthly_spend", np.nan),
    "dates_as_text": lambda f: f.__setitem__("signup_date", f["signup_date"].astype(str)),
    "bad_date_text": lambda f: f.__setitem__(
        "signup_date", f["signup_date"].astype(str).where(f.index != 6, "not a date")
    ),
    "categorical_region": lambda f: f.__setitem__("region", f["region"].astype("category")),
    # Naive datetimes take the prover's astype shortcut: each unit, NaT, and a date beyond
    # datetime64[ns] (year 2300), which pandera's coercion rejects.
    **{
        f"dates_in_{unit}": (
            lambda f, unit=unit: f.__setitem__("signup_date", f["signup_date"].astype(unit))
        )
        for unit in ("datetime64[s]", "datetime64[ms]", "datetime64[us]", "datetime64[ns]")
    },
    "date_nat": _set("signup_date", [4], pd.NaT),
    "date_beyond_ns": lambda f: f.__setitem__(
        "signup_date",
        f["signup_date"]
        .astype("datetime64[s]")
        .where(f.index != 3, np.datetime64("2300-01-01", "s")),
    ),
    "many_at_once": lambda f: [
        _set("monthly_spend", [1], np.nan)(f),
        _set("region", [2], "mars")(f),
        _set("tenure_months", [3], 500)(f),
        f.__setitem__("churned", 0),
    ],
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_fast_path_matches_pandera(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema, name: str
) -> None:
    CORRUPTIONS[name](churn_table)
    result = _same(churn_table, churn_schema)
    assert result.passed == (name in {"clean", "dates_as_text"} or name.startswith("dates_in_"))


@pytest.mark.parametrize("n_rows", [0, 1, 999])
def test_tiny_tables(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema, n_rows: int
) -> None:
    assert not _same(churn_table.head(n_rows), churn_schema).passed  # min_rows fails


def test_shuffled_rows_and_a_non_default_index_keep_row_labels(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema
) -> None:
    # Unsorted ids take the sort-based uniqueness path; labels must be the caller's own.
    frame = churn_table.sample(frac=1.0, random_state=0)
    frame.index = frame.index + 1_000_000
    frame.iloc[[5, 50], frame.columns.get_loc("customer_id")] = frame["customer_id"].iloc[7]
    result = _same(frame, churn_schema)
    rows = {e["row"] for s in result.summary for e in s["examples"]}
    assert rows == set(frame.index[[5, 7, 50]])


def test_csv_round_trip_is_coerced_like_pandera(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema, tmp_path: Path
) -> None:
    path = tmp_path / "churn.csv"
    churn_table.to_csv(path, index=False)
    result = _same(read_table(path), churn_schema)
    assert result.passed
    assert result.validated is not None
    assert result.validated["signup_date"].dtype.kind == "M"  # text dates were coerced


# --------------------------------------------------------------------------- other check kinds

WIDE = pa.DataFrameSchema(
    {
        "i": pa.Column(int, [pa.Check.gt(0), pa.Check.le(100), pa.Check.ne(77)]),
        "f": pa.Column(float, pa.Check.in_range(0.0, 1.0, include_min=False), nullable=True),
        "g": pa.Column(float, pa.Check.ge(0.0, ignore_na=False), nullable=True),
        "d": pa.Column("datetime64[ns]", pa.Check.lt(pd.Timestamp("2030-01-01"))),
        "s": pa.Column(str, [pa.Check.str_startswith("a"), pa.Check.str_length(2, 3)]),
        "t": pa.Column(str, pa.Check.notin(["bad"]), nullable=True),
        "u": pa.Column(int, unique=True),
        "e": pa.Column(int, pa.Check.eq(7)),
        "c": pa.Column(int, pa.Check(lambda s: s.sum() < 10_000, name="small_sum")),
    },
    checks=[pa.Check(lambda df: df["i"] + df["u"] == 60, name="row_rule")],
)


def _wide(n: int = 60) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": np.arange(1, n + 1),
            "f": np.linspace(0.1, 0.9, n),
            "g": np.linspace(0.0, 5.0, n),
            "d": pd.date_range("2020-01-01", periods=n, freq="D"),
            "s": ["ab", "abc", "ax"] * (n // 3),
            "t": ["ok", None, "fine"] * (n // 3),
            "u": np.arange(n)[::-1],
            "e": 7,
            "c": 1,
        }
    )


WIDE_BREAKS: dict[str, Callable[[pd.DataFrame], object]] = {
    "none": lambda f: None,
    "gt_zero": _set("i", [3], 0),
    "ne_value": _set("i", [4], 77),
    "exclusive_min": _set("f", [2], 0.0),
    "null_ignored": _set("f", [2], np.nan),
    "null_not_ignored": _set("g", [8], np.nan),
    "date_bound": _set("d", [5], pd.Timestamp("2031-01-01")),
    "prefix": _set("s", [1], "ba"),
    "length": _set("s", [1], "abcd"),
    "forbidden": _set("t", [0, 3], "bad"),
    "not_unique": _set("u", [0], 1),
    "equal": _set("e", [9], 8),
    "aggregate": _set("c", [0], 20_000),
    "row_rule": _set("i", [0], 2),
}


@pytest.mark.parametrize("name", sorted(WIDE_BREAKS))
def test_other_builtin_and_custom_checks_match_pandera(name: str) -> None:
    frame = _wide()
    WIDE_BREAKS[name](frame)
    assert _same(frame, WIDE).passed == (name in {"none", "null_ignored"})


def test_unsupported_schema_features_fall_back_to_pandera() -> None:
    schema = pa.DataFrameSchema(
        {"x": pa.Column(int, pa.Check.ge(0))}, index=pa.Index(int, pa.Check.ge(0))
    )
    frame = pd.DataFrame({"x": [1, -2, 3]}, index=[0, 1, -1])
    assert contract_prover.prove(frame, schema) is None
    assert not _same(frame, schema).passed


# --------------------------------------------------------------------------- random corruption

_KINDS = ("null", "range", "category", "pattern", "duplicate")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    hits=st.lists(
        st.tuples(st.sampled_from(_KINDS), st.integers(min_value=0, max_value=3_999)),
        max_size=6,
    )
)
def test_random_corruption_matches_pandera(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema, hits: list[tuple[str, int]]
) -> None:
    frame = churn_table.copy()
    for kind, row in hits:
        if kind == "null":
            frame.loc[row, "monthly_spend"] = np.nan
        elif kind == "range":
            frame.loc[row, "support_tickets"] = 99
        elif kind == "category":
            frame.loc[row, "region"] = "mars"
        elif kind == "pattern":
            frame.loc[row, "city"] = "town_001"
        else:
            frame.loc[row, "customer_id"] = frame.loc[(row + 1) % len(frame), "customer_id"]
    assert _same(frame, churn_schema).passed == (not hits)


# --------------------------------------------------------------------------- the fast path is used


def test_clean_data_never_reaches_pandera_validation(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pandera validation ran on clean data")

    monkeypatch.setattr(pa.DataFrameSchema, "validate", refuse)
    result = validate(churn_table, churn_schema)
    assert result.passed
    with pytest.raises(AssertionError, match="pandera validation ran"):
        validate(churn_table, churn_schema, fast=False)


def test_only_unproven_columns_go_to_pandera(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema
) -> None:
    churn_table.loc[3, "region"] = "mars"
    churn_table["churned"] = 0
    proof = contract_prover.prove(churn_table, churn_schema)
    assert proof is not None
    _, columns, checks = proof
    assert columns == ["region"]
    assert [churn_schema.checks[i].name for i in checks] == ["value_share_between"]


def test_interval_checks_look_at_two_values_and_set_checks_at_distinct_ones() -> None:
    floats = pd.Series([0.5, np.nan, -3.0, 9.0, 1.0])
    assert contract_prover._stand_in(pa.Check.in_range(0, 1), floats).tolist() == [-3.0, 9.0]
    assert len(contract_prover._stand_in(pa.Check.in_range(0, 1, ignore_na=False), floats)) == 5
    words = pd.Series(["a", "b", "a", "a", None], dtype="str")
    assert sorted(contract_prover._stand_in(pa.Check.isin(["a"]), words).dropna()) == ["a", "b"]
    custom = pa.Check(lambda s: s > 0)
    assert len(contract_prover._stand_in(custom, floats)) == 5


@pytest.mark.parametrize(
    ("values", "unique"),
    [([1, 2, 3, 10], True), ([1, 2, 3, 3], False), ([3, 1, 2], True), ([5, 1, 5], False)],
)
def test_unique_mask_sorted_shortcut_and_sort_path(values: list[int], unique: bool) -> None:
    mask = contract_checks.unique_mask(pd.Series(values, dtype="int64"))
    assert bool(mask.all()) is unique
