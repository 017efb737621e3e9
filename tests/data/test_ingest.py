"""Reading the user's table (CSV, Parquet); every bad file is a DataError naming the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlgate.data.ingest import binarise_target, read_table
from mlgate.errors import DataError

FRAME = pd.DataFrame(
    {
        "customer_id": [1, 2, 3],
        "city": ["Zürich", "Oslo", "Lyon"],
        "monthly_spend": [10.5, 20.0, 30.25],
        "churned": ["Yes", "No", "Yes"],
    }
)


def _expect_data_error(path: Path, match: str) -> str:
    with pytest.raises(DataError, match=match) as info:
        read_table(path)
    assert str(path) in str(info.value)
    return str(info.value)


# --------------------------------------------------------------------------- good files


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq", ".CSV"])
def test_reads_csv_and_parquet(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"table{suffix}"
    if suffix.lower() == ".csv":
        FRAME.to_csv(path, index=False)
    else:
        FRAME.to_parquet(path, index=False)
    table = read_table(path)
    pd.testing.assert_frame_equal(table, FRAME, check_dtype=False)
    assert table["customer_id"].dtype.kind == "i"
    assert table["monthly_spend"].dtype.kind == "f"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_column_selection_keeps_only_present_columns(tmp_path: Path, suffix: str) -> None:
    # A missing column is the contract's job to report (with its name), not a KeyError here.
    path = tmp_path / f"table{suffix}"
    FRAME.to_csv(path, index=False) if suffix == ".csv" else FRAME.to_parquet(path, index=False)
    table = read_table(path, columns=["customer_id", "not_there"])
    assert list(table.columns) == ["customer_id"]


def test_reads_a_path_given_as_string(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    FRAME.to_csv(path, index=False)
    assert len(read_table(str(path))) == 3


# --------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path: Path) -> None:
    message = _expect_data_error(tmp_path / "absent.csv", "does not exist")
    assert "data.source" in message  # points at the param to fix


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.touch()
    _expect_data_error(path, "empty")


def test_csv_with_only_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n  \n", encoding="utf-8")
    _expect_data_error(path, "no header or rows")


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "table.parquet"
    path.mkdir()
    _expect_data_error(path, "is a directory")


@pytest.mark.parametrize("name", ["table.xlsx", "table.json", "table"])
def test_unsupported_suffix(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("x", encoding="utf-8")
    _expect_data_error(path, "unsupported file type")


def test_truncated_parquet(tmp_path: Path) -> None:
    whole = tmp_path / "whole.parquet"
    FRAME.to_parquet(whole, index=False)
    data = whole.read_bytes()
    path = tmp_path / "truncated.parquet"
    path.write_bytes(data[: len(data) // 2])
    _expect_data_error(path, "not a readable Parquet file")


def test_text_file_named_parquet(tmp_path: Path) -> None:
    path = tmp_path / "table.parquet"
    FRAME.to_csv(path, index=False)
    _expect_data_error(path, "not a readable Parquet file")


@pytest.mark.parametrize(("sep", "shown"), [(";", "';'"), ("\t", "'\\t'"), ("|", "'|'")])
def test_csv_with_another_delimiter(tmp_path: Path, sep: str, shown: str) -> None:
    path = tmp_path / "semicolon.csv"
    FRAME.to_csv(path, index=False, sep=sep)
    message = _expect_data_error(path, "delimiter")
    assert shown in message


def test_non_utf8_csv(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    FRAME.to_csv(path, index=False, encoding="latin-1")
    _expect_data_error(path, "not UTF-8")


def test_ragged_csv(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n", encoding="utf-8")
    _expect_data_error(path, "cannot be parsed as CSV")


def test_single_column_csv_is_fine(tmp_path: Path) -> None:
    # One real column is not mistaken for a wrong delimiter.
    path = tmp_path / "ids.csv"
    path.write_text("customer_id\n1\n2\n", encoding="utf-8")
    assert read_table(path)["customer_id"].tolist() == [1, 2]


# --------------------------------------------------------------------------- binarise_target


def test_binarise_yes_no() -> None:
    out = binarise_target(FRAME, target="churned", positive_label="Yes")
    assert out["churned"].tolist() == [1, 0, 1]
    assert out["churned"].dtype == "int64"
    assert FRAME["churned"].tolist() == ["Yes", "No", "Yes"]  # the input is not modified


@pytest.mark.parametrize(
    ("values", "label", "expected"),
    [
        ([1, 0, 1, 0], 1, [1, 0, 1, 0]),
        ([0, 1, 1, 0], 0, [1, 0, 0, 1]),  # the positive class may be coded 0
        (["1", "0", "1", "0"], 1, [1, 0, 1, 0]),  # YAML int against a text column
        ([True, False, False, True], True, [1, 0, 0, 1]),
        ([1.0, 0.0, 1.0, 0.0], 1, [1, 0, 1, 0]),
    ],
)
def test_binarise_numeric_and_mixed_codings(
    values: list[object], label: object, expected: list[int]
) -> None:
    out = binarise_target(pd.DataFrame({"y": values}), target="y", positive_label=label)
    assert out["y"].tolist() == expected


def test_binarise_reads_csv_yes_no(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    FRAME.to_csv(path, index=False)
    out = binarise_target(read_table(path), target="churned", positive_label="Yes")
    assert out["churned"].tolist() == [1, 0, 1]


def test_binarise_missing_target_names_the_column_and_param() -> None:
    with pytest.raises(DataError, match="'label' is missing.*data.target"):
        binarise_target(FRAME, target="label", positive_label="Yes")


def test_directory_of_parquet_files_reads_in_name_order(tmp_path: Path) -> None:
    source = tmp_path / "table"
    source.mkdir()
    # Written out of name order, sizes differing: the table is b-file after a-file by name.
    pd.DataFrame({"x": [3, 4, 5]}).to_parquet(source / "part-b.parquet")
    pd.DataFrame({"x": [1, 2]}).to_parquet(source / "part-a.parquet")
    pd.DataFrame({"x": [99]}).to_parquet(source / ".hidden.parquet")
    (source / "_SUCCESS").write_text("", encoding="utf-8")
    frame = read_table(source)
    assert frame["x"].tolist() == [1, 2, 3, 4, 5]
    assert list(frame.index) == [0, 1, 2, 3, 4]


def test_directory_with_files_of_different_types(tmp_path: Path) -> None:
    source = tmp_path / "table"
    source.mkdir()
    pd.DataFrame({"x": [1]}).to_parquet(source / "a.parquet")
    pd.DataFrame({"x": ["1"]}).to_parquet(source / "b.parquet")
    _expect_data_error(source, "b.parquet has columns")
