"""The pass prover may only clear what pandera passes: every check kind it handles, against
pandera as the oracle, on values inside a check's range but outside its set (where treating a
set check as an interval would wrongly pass), with and without nulls, and on random frames.

``_same`` (tests/data/test_validate_perf_paths.py) validates both ways and asserts identical
verdicts, failure cases, summaries and validated frames.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.data import contract_prover
from tests.data.test_validate_perf_paths import _same

D = [pd.Timestamp(f"2024-01-0{d}") for d in (1, 5, 9)]  # 1st, 5th, 9th of January

# Per dtype: three ordered values (low, middle, high). The middle one lies inside every
# interval the low and high values span, but outside the set {low, high}.
VALUES: dict[str, list[Any]] = {
    "int64": [1, 5, 9],
    "float64": [1.0, 5.0, 9.0],
    "datetime64[ns]": D,
    "str": ["a1", "m5", "z9"],
}


def _checks(lo: Any, mid: Any, hi: Any, kind: str) -> dict[str, pa.Check]:
    """Every built-in check the prover treats specially, with arguments drawn from the values."""
    checks = {
        "isin_ends": pa.Check.isin([lo, hi]),
        "isin_all": pa.Check.isin([lo, mid, hi]),
        "notin_middle": pa.Check.notin([mid]),
        "notin_outside": pa.Check.notin([hi + 1] if kind in ("int64", "float64") else [lo]),
        "ne_middle": pa.Check.ne(mid),
        "eq_low": pa.Check.eq(lo),
        "gt_low": pa.Check.gt(lo),
        "ge_low": pa.Check.ge(lo),
        "lt_high": pa.Check.lt(hi),
        "le_high": pa.Check.le(hi),
        "in_range_closed": pa.Check.in_range(lo, hi),
        "in_range_open_min": pa.Check.in_range(lo, hi, include_min=False),
        "in_range_open_max": pa.Check.in_range(lo, hi, include_max=False),
        "unique_values_eq_ends": pa.Check.unique_values_eq([lo, hi]),
        "unique_values_eq_all": pa.Check.unique_values_eq([lo, mid, hi]),
    }
    if kind == "str":
        checks |= {
            "str_matches_ends": pa.Check.str_matches(r"^(a1|z9)$"),
            "str_matches_any": pa.Check.str_matches(r"^[a-z]\d$"),
            "str_contains_digit_not_5": pa.Check.str_contains(r"[0-46-9]"),
            "str_startswith_a_or_z": pa.Check.str_startswith("a"),
            "str_endswith_9": pa.Check.str_endswith("9"),
            "str_length_2": pa.Check.str_length(2, 2),
            "str_length_3": pa.Check.str_length(3, 3),
        }
    return checks


CASES = [
    (kind, name, check)
    for kind, (lo, mid, hi) in VALUES.items()
    for name, check in _checks(lo, mid, hi, kind).items()
]
NULLABLE = {"int64": "Int64"}  # numpy int64 cannot hold a null; pandas' Int64 can


def _frame(kind: str, rows: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({"x": pd.Series(rows, dtype=kind)})


def _schema(kind: str, check: pa.Check, **column: Any) -> pa.DataFrameSchema:
    return pa.DataFrameSchema({"x": pa.Column(kind, check, **column)})


@pytest.mark.parametrize(("kind", "name", "check"), CASES, ids=lambda v: str(v)[:40])
def test_every_check_kind_on_a_middle_value_matches_pandera(
    kind: str, name: str, check: pa.Check
) -> None:
    lo, mid, hi = VALUES[kind]
    # Extremes only (every interval check passes), then with the middle value repeated.
    for rows in ([lo, hi, lo, hi], [lo, mid, hi, mid]):
        _same(_frame(kind, rows), _schema(kind, check))


@pytest.mark.parametrize("ignore_na", [True, False])
@pytest.mark.parametrize(("kind", "name", "check"), CASES, ids=lambda v: str(v)[:40])
def test_every_check_kind_with_nulls_matches_pandera(
    kind: str, name: str, check: pa.Check, ignore_na: bool
) -> None:
    lo, mid, hi = VALUES[kind]
    check = pa.Check(check._check_fn, name=check.name, ignore_na=ignore_na, **check._check_kwargs)
    kind = NULLABLE.get(kind, kind)
    _same(_frame(kind, [lo, None, mid, hi]), _schema(kind, check, nullable=True))


def test_a_set_check_is_never_proven_by_its_extremes() -> None:
    """The mutation 'numeric isin/notin are interval checks' must fail here, not pass."""
    frame = pd.DataFrame({"x": [1, 5, 9]})
    assert not _same(frame, _schema("int64", pa.Check.isin([1, 9]))).passed
    assert not _same(frame, _schema("int64", pa.Check.notin([5]))).passed
    assert not _same(frame, _schema("int64", pa.Check.ne(5))).passed
    assert not _same(frame.astype(float), _schema("float64", pa.Check.isin([1.0, 9.0]))).passed
    dates = pd.DataFrame({"x": D})
    assert not _same(dates, _schema("datetime64[ns]", pa.Check.isin([D[0], D[2]]))).passed


CUSTOM: dict[str, tuple[pa.Check, bool]] = {
    # name -> (dataset check on columns x (1, 5, 9 repeated), whether pandera passes it)
    "min_rows_met": (pa.Check.min_rows(min_value=9), True),
    "min_rows_missed": (pa.Check.min_rows(min_value=10), False),
    "mean_inside": (pa.Check.column_mean_between(column="x", min_value=4.9, max_value=5.1), True),
    "mean_outside": (pa.Check.column_mean_between(column="x", min_value=5.1, max_value=9), False),
    "share_inside": (
        pa.Check.value_share_between(column="x", value=5, min_value=0.3, max_value=0.4),
        True,
    ),
    "share_outside": (
        pa.Check.value_share_between(column="x", value=5, min_value=0.4, max_value=1.0),
        False,
    ),
}


@pytest.mark.parametrize("name", sorted(CUSTOM))
def test_the_registered_dataset_checks_match_pandera(name: str) -> None:
    check, passes = CUSTOM[name]
    frame = pd.DataFrame({"x": [1, 5, 9] * 3})
    schema = pa.DataFrameSchema({"x": pa.Column(int)}, checks=[check])
    assert _same(frame, schema).passed is passes


@pytest.mark.parametrize(("rows", "unique"), [([1, 5, 9], True), ([1, 5, 9, 5], False)])
def test_unique_values_and_column_unique_match_pandera(rows: list[int], unique: bool) -> None:
    for column in (pa.Column(int, pa.Check.unique_values()), pa.Column(int, unique=True)):
        schema = pa.DataFrameSchema({"x": column})
        assert _same(pd.DataFrame({"x": rows}), schema).passed is unique


# --------------------------------------------------------------------------- random frames


def _check_for(kind: str, pool: list[Any], data: st.DataObject) -> pa.Check:
    """A random check of a kind the prover handles, with arguments from the value pool."""
    name = data.draw(
        st.sampled_from(
            ["isin", "notin", "ne", "eq", "gt", "ge", "lt", "le", "in_range", "uniq_eq"]
            + (["str_startswith", "str_length"] if kind == "str" else [])
        )
    )
    some = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool)))
    a, b = sorted(data.draw(st.tuples(st.sampled_from(pool), st.sampled_from(pool))))
    ignore_na = data.draw(st.booleans())
    if name == "in_range":
        closed = a == b  # pandera refuses an empty interval
        check = pa.Check.in_range(
            a,
            b,
            include_min=closed or data.draw(st.booleans()),
            include_max=closed or data.draw(st.booleans()),
        )
    elif name in ("isin", "notin"):
        check = getattr(pa.Check, name)(some)
    elif name == "uniq_eq":
        check = pa.Check.unique_values_eq(some)
    elif name == "str_startswith":
        check = pa.Check.str_startswith(str(a)[0])
    elif name == "str_length":
        check = pa.Check.str_length(1, 2)
    else:
        check = getattr(pa.Check, name)(a)
    return pa.Check(check._check_fn, name=check.name, ignore_na=ignore_na, **check._check_kwargs)


POOLS: dict[str, list[Any]] = {
    "int64": list(range(-3, 8)),
    "float64": [-1.5, 0.0, 0.5, 1.0, 2.25, 7.0],
    "datetime64[ns]": [pd.Timestamp("2024-01-01") + pd.Timedelta(days=d) for d in range(6)],
    "str": ["a", "ab", "b", "ba", "c", "abc"],
}


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_frames_and_checks_match_pandera(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(POOLS)))
    pool = POOLS[kind]
    nullable = data.draw(st.booleans())
    values = st.sampled_from(pool) | (st.none() if nullable else st.nothing())
    rows = data.draw(st.lists(values, min_size=0, max_size=12))
    kind_in_frame = NULLABLE.get(kind, kind) if None in rows else kind
    checks = [_check_for(kind, pool, data) for _ in range(data.draw(st.integers(1, 3)))]
    schema = pa.DataFrameSchema(
        {
            "x": pa.Column(
                kind_in_frame,
                checks,
                nullable=nullable,
                unique=data.draw(st.booleans()),
            )
        }
    )
    _same(pd.DataFrame({"x": pd.Series(rows, dtype=kind_in_frame)}), schema)


def test_the_prover_clears_clean_frames_of_every_kind() -> None:
    """Control: the oracle tests compare something, the prover does clear passing columns."""
    for kind, (lo, mid, hi) in VALUES.items():
        frame = _frame(kind, [lo, mid, hi])
        schema = _schema(kind, pa.Check.isin([lo, mid, hi]))
        proof = contract_prover.prove(frame, schema)
        assert proof is not None and proof[1] == [], kind
