"""Data contract: the shipped contract passes clean data; each kind of breakage is reported by
column and check, with the failing row indices; broken contract files name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from mlgate.data.contract import load_contract, validate
from mlgate.data.contract_draft import infer_contract
from mlgate.data.ingest import read_table
from mlgate.errors import ContractError, MlgateError


def _failure(result: Any, column: str, check: str) -> dict[str, Any]:
    """The summary entry for ``column`` whose check name starts with ``check``."""
    assert not result.passed
    found = [s for s in result.summary if s["column"] == column and s["check"].startswith(check)]
    assert found, (
        f"no failure ({column}, {check}*) in {[(s['column'], s['check']) for s in result.summary]}"
    )
    return found[0]


def _rows(entry: dict[str, Any]) -> set[Any]:
    return {example["row"] for example in entry["examples"]}


# --------------------------------------------------------------------------- passing


def test_shipped_contract_passes_generated_data(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema
) -> None:
    result = validate(churn_table, churn_schema)
    assert result.passed, result.summary
    assert result.summary == []
    assert result.failure_cases.empty
    assert result.n_rows == len(churn_table)
    assert result.validated is not None
    assert len(result.validated) == len(churn_table)


def test_shipped_contract_passes_the_same_data_round_tripped_through_csv(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema, tmp_path: Path
) -> None:
    # Users bring CSVs: dates arrive as text and must be coerced, not rejected.
    path = tmp_path / "churn.csv"
    churn_table.to_csv(path, index=False)
    result = validate(read_table(path), churn_schema)
    assert result.passed, result.summary


# --------------------------------------------------------------------------- row-level failures


def test_nulls_are_reported_with_their_rows(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema
) -> None:
    churn_table.loc[[3, 17], "monthly_spend"] = np.nan
    entry = _failure(validate(churn_table, churn_schema), "monthly_spend", "not_nullable")
    assert entry["failing_rows"] == 2
    assert _rows(entry) == {3, 17}
    assert {e["value"] for e in entry["examples"]} == {"null"}
    assert entry["meaning"]  # a human sentence, not only pandera's check name


def test_out_of_range_values_are_reported_with_rows_and_values(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema
) -> None:
    churn_table.loc[5, "tenure_months"] = -1
    churn_table.loc[8, "tenure_months"] = 999
    entry = _failure(validate(churn_table, churn_schema), "tenure_months", "in_range")
    assert entry["failing_rows"] == 2
    assert {(e["row"], e["value"]) for e in entry["examples"]} == {(5, "-1"), (8, "999")}


def test_unknown_category_is_reported(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema
) -> None:
    churn_table.loc[2, "contract_type"] = "weekly"
    entry = _failure(validate(churn_table, churn_schema), "contract_type", "isin")
    assert entry["examples"] == [{"row": 2, "value": "weekly"}]


def test_duplicate_ids_report_every_copy(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema
) -> None:
    churn_table.loc[20, "customer_id"] = churn_table.loc[10, "customer_id"]
    entry = _failure(validate(churn_table, churn_schema), "customer_id", "unique_values")
    assert _rows(entry) == {10, 20}
    assert {e["value"] for e in entry["examples"]} == {str(churn_table.loc[10, "customer_id"])}


def test_duplicate_string_ids_are_caught() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "a", "c"]})
    schema = pa.DataFrameSchema({"id": pa.Column(str, pa.Check.unique_values())})
    entry = _failure(validate(frame, schema), "id", "unique_values")
    assert _rows(entry) == {0, 2}


def test_all_null_column(churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema) -> None:
    churn_table["monthly_spend"] = np.nan
    result = validate(churn_table, churn_schema)
    entry = _failure(result, "monthly_spend", "not_nullable")
    assert entry["failing_rows"] == len(churn_table)
    # The mean check cannot pass on a column without values.
    _failure(result, "<table>", "column_mean_between(column=monthly_spend")


def test_max_examples_limits_examples_not_the_count(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema
) -> None:
    churn_table.loc[range(0, 40, 2), "region"] = None
    result = validate(churn_table, churn_schema, max_examples=3)
    entry = _failure(result, "region", "not_nullable")
    assert entry["failing_rows"] == 20
    assert [e["row"] for e in entry["examples"]] == [0, 2, 4]
    # The full list stays available for the failures file.
    cases = result.failure_cases
    assert len(cases[(cases["column"] == "region") & (cases["check"] == "not_nullable")]) == 20


def test_every_failure_is_reported_in_one_pass(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema
) -> None:
    churn_table.loc[1, "monthly_spend"] = np.nan
    churn_table.loc[2, "region"] = "mars"
    churn_table["extra"] = 1
    result = validate(churn_table, churn_schema)
    _failure(result, "monthly_spend", "not_nullable")
    _failure(result, "region", "isin")
    _failure(result, "extra", "column_in_schema")


# --------------------------------------------------------------------------- structure and dtypes


def test_missing_column(churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema) -> None:
    entry = _failure(
        validate(churn_table.drop(columns="city"), churn_schema), "city", "column_in_dataframe"
    )
    assert entry["meaning"] == "column missing from the data"


def test_extra_column_is_rejected_by_a_strict_contract(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema
) -> None:
    churn_table["notes"] = "x"
    entry = _failure(validate(churn_table, churn_schema), "notes", "column_in_schema")
    assert "strict" in entry["meaning"]


def test_wrong_dtype(churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema) -> None:
    churn_table["tenure_months"] = churn_table["tenure_months"].astype("float64")
    entry = _failure(validate(churn_table, churn_schema), "tenure_months", "dtype")
    assert "int64" in entry["check"]
    assert entry["examples"][0]["value"] == "float64"


def test_blank_strings_in_a_numeric_csv_column_are_reported_with_rows(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema, tmp_path: Path
) -> None:
    # A spreadsheet export writes " " for a missing number; pandas then reads the column as text.
    frame = churn_table.astype({"monthly_spend": object})
    frame.loc[[5, 7], "monthly_spend"] = " "
    path = tmp_path / "blanks.csv"
    frame.to_csv(path, index=False)
    result = validate(read_table(path), churn_schema)
    failed = [s for s in result.summary if s["column"] == "monthly_spend"]
    assert failed, result.summary
    rows = {e["row"] for s in failed for e in s["examples"]}
    assert {5, 7} <= rows
    assert all(s["column"] == "monthly_spend" for s in result.summary), result.summary


# --------------------------------------------------------------------------- dataset-level checks


def test_single_class_target_fails_the_positive_share(
    churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema
) -> None:
    churn_table["churned"] = 0
    result = validate(churn_table, churn_schema)
    entry = _failure(result, "<table>", "value_share_between(column=churned")
    assert entry["examples"][0]["row"] is None  # a dataset-level failure has no row
    assert [s["check"].split("(")[0] for s in result.summary] == ["value_share_between"]


def test_too_few_rows(churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema) -> None:
    result = validate(churn_table.head(500), churn_schema)
    _failure(result, "<table>", "min_rows(min_value=1000)")
    assert [s["check"].split("(")[0] for s in result.summary] == ["min_rows"]


def test_mean_out_of_bounds(churn_table: pd.DataFrame, churn_schema: pa.DataFrameSchema) -> None:
    # Every single value stays in range; only the mean is implausible (e.g. cents, not dollars).
    churn_table["monthly_spend"] = (churn_table["monthly_spend"] * 3).clip(upper=4_999)
    result = validate(churn_table, churn_schema)
    _failure(result, "<table>", "column_mean_between(column=monthly_spend")
    assert len(result.summary) == 1


def test_custom_checks_survive_a_yaml_round_trip(churn_schema: pa.DataFrameSchema) -> None:
    reloaded = pa.DataFrameSchema.from_yaml(churn_schema.to_yaml())
    names = sorted(c.name for c in reloaded.checks)
    assert names == sorted(c.name for c in churn_schema.checks)
    assert {"min_rows", "value_share_between", "column_mean_between"} <= set(names)


# --------------------------------------------------------------------------- broken contract files


UNKNOWN_CHECK = """\
schema_type: dataframe
columns:
  a:
    dtype: int64
    checks:
    - {options: {check_name: no_such_check}}
"""
BAD_DTYPE = "schema_type: dataframe\ncolumns:\n  a:\n    dtype: notatype\n"
MISSING_ARGS = """\
schema_type: dataframe
columns:
  a:
    dtype: int64
    checks:
    - {options: {check_name: in_range}}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("columns: [a\n", "YAML"),
        ("- a\n- b\n", "'columns' mapping"),
        ("", "'columns' mapping"),
        ("schema_type: dataframe\ncolumns: 3\n", "'columns' mapping"),
        (UNKNOWN_CHECK, "no_such_check"),
        (BAD_DTYPE, "notatype"),
        (MISSING_ARGS, "in_range"),
    ],
)
def test_broken_contract_raises_contract_error_naming_the_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "broken-contract.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_contract_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ContractError, match="does not exist") as info:
        load_contract(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, MlgateError)


def test_non_utf8_contract_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes("columns:\n  caf\xe9: {dtype: int64}\n".encode("latin-1"))
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- infer_contract


@pytest.fixture
def inferred(churn_table: pd.DataFrame, tmp_path: Path) -> pa.DataFrameSchema:
    path = tmp_path / "inferred.yaml"
    path.write_text(infer_contract(churn_table, id_column="customer_id"), encoding="utf-8")
    return load_contract(path)


def test_inferred_contract_passes_its_own_sample(
    churn_table: pd.DataFrame, inferred: pa.DataFrameSchema
) -> None:
    result = validate(churn_table, inferred)
    assert result.passed, result.summary
    assert set(inferred.columns) == set(churn_table.columns)
    assert inferred.strict is True


def test_inferred_contract_catches_what_the_sample_never_showed(
    churn_table: pd.DataFrame, inferred: pa.DataFrameSchema
) -> None:
    churn_table.loc[1, "contract_type"] = "weekly"
    churn_table.loc[3, "customer_id"] = churn_table.loc[4, "customer_id"]
    churn_table.loc[6, "tenure_months"] = 10_000
    churn_table.loc[7, "monthly_spend"] = np.nan
    churn_table["extra"] = 0
    result = validate(churn_table, inferred)
    assert _rows(_failure(result, "contract_type", "isin")) == {1}
    assert _rows(_failure(result, "customer_id", "unique_values")) == {3, 4}
    assert _rows(_failure(result, "tenure_months", "in_range")) == {6}
    assert _rows(_failure(result, "monthly_spend", "not_nullable")) == {7}
    _failure(result, "extra", "column_in_schema")


def test_inferred_ranges_are_widened_by_the_slack() -> None:
    frame = pd.DataFrame({"x": [10.0, 20.0], "n": [0, 100]})
    schema = pa.DataFrameSchema.from_yaml(infer_contract(frame, slack=0.1))
    x_range = schema.columns["x"].checks[0].statistics
    assert (x_range["min_value"], x_range["max_value"]) == pytest.approx((9.0, 21.0))
    # A non-negative column is not widened below zero (counts, amounts).
    n_range = schema.columns["n"].checks[0].statistics
    assert (n_range["min_value"], n_range["max_value"]) == (0, 110)


def test_inferred_contract_skips_high_cardinality_categories() -> None:
    frame = pd.DataFrame({"city": [f"c{i}" for i in range(60)], "y": ["a", "b"] * 30})
    schema = pa.DataFrameSchema.from_yaml(infer_contract(frame, max_categories=50))
    assert schema.columns["city"].checks == []
    assert schema.columns["y"].checks[0].statistics["allowed_values"] == ["a", "b"]
