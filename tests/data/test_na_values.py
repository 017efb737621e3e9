"""Missing values as data: data.na_values for the reader, blanks shown quoted, drafted as nulls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mlgate.data.contract_draft import draft_contract, infer_contract
from mlgate.data.contract_failures import show_value
from mlgate.data.ingest import read_table
from mlgate.errors import DataError

MLGATE = Path(sys.executable).parent / "mlgate"
CSV = "id,charges,plan,churn\n1, ,a,Yes\n2,3.5,b,No\n3,,b,No\n4,7,?,Yes\n5,12.25,a,No\n"


@pytest.fixture
def blank_csv(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_without_na_values_a_space_keeps_the_column_text(blank_csv: Path) -> None:
    frame = read_table(blank_csv)
    assert frame["charges"].dtype.kind not in "if"
    assert (frame["charges"] == " ").sum() == 1


def test_na_values_turn_blank_cells_into_nulls(blank_csv: Path) -> None:
    frame = read_table(blank_csv, na_values=[" ", "?"])
    assert frame["charges"].dtype == "float64"
    assert frame["charges"].isna().tolist() == [True, False, True, False, False]
    assert frame["plan"].isna().tolist() == [False, False, False, True, False]


def test_na_values_apply_to_parquet_text_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"x": ["1", " ", "3"], "n": [1, 2, 3]}).to_parquet(path)
    assert read_table(path)["x"].isna().sum() == 0
    frame = read_table(path, na_values=[" "])
    assert frame["x"].isna().tolist() == [False, True, False]
    assert frame["n"].tolist() == [1, 2, 3]


def test_na_values_must_be_a_list_of_strings(blank_csv: Path) -> None:
    with pytest.raises(DataError, match="data.na_values"):
        read_table(blank_csv, na_values=" ")
    with pytest.raises(DataError, match="data.na_values"):
        read_table(blank_csv, na_values=[1])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(" ", "' '"), ("", "''"), (" a", "' a'"), ("a", "a"), (None, "null"), (3.5, "3.5")],
)
def test_blank_and_padded_values_are_shown_quoted(value: object, shown: str) -> None:
    assert show_value(value) == shown


def test_draft_recognises_blanks_in_a_numeric_column(blank_csv: Path) -> None:
    draft = draft_contract(read_table(blank_csv), id_column="id")
    assert draft.na_values == (" ", "?")
    assert any("'charges'" in n and "numeric" in n and "' '" in n for n in draft.notes)
    assert any("'plan'" in n and "'?'" in n for n in draft.notes)
    text = draft.text
    charges = text[text.index("  charges:") : text.index("  plan:")]
    assert "dtype: float64" in charges and "nullable: true" in charges
    assert "coerce: true" in charges
    plan = text[text.index("  plan:") : text.index("  churn:")]
    assert "'?'" not in plan and "nullable: true" in plan


def test_draft_of_clean_data_is_unchanged(churn_table: pd.DataFrame) -> None:
    draft = draft_contract(churn_table, id_column="customer_id")
    assert draft.notes == () and draft.na_values == ()
    assert draft.text == infer_contract(churn_table, id_column="customer_id")
    assert "coerce" not in draft.text


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MLGATE), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_infer_reports_blanks_and_validate_reads_them_as_configured(blank_csv: Path) -> None:
    cwd = blank_csv.parent
    inferred = _run(
        "contract", "infer", "--data", "t.csv", "--id-column", "id", "--out", "c.yaml", cwd=cwd
    )
    assert inferred.returncode == 0, inferred.stderr
    assert "'charges'" in inferred.stderr and "data.na_values: [' ', '?']" in inferred.stderr
    # Without na_values the blank cell is flagged, quoted, with the remedy.
    failed = _run("validate", "--contract", "c.yaml", "--data", "t.csv", cwd=cwd)
    assert failed.returncode == 1
    assert "' '" in failed.stdout + failed.stderr
    assert "data.na_values" in failed.stdout + failed.stderr
    passed = _run(
        "validate",
        "--contract",
        "c.yaml",
        "--data",
        "t.csv",
        "--na-value",
        " ",
        "--na-value",
        "?",
        cwd=cwd,
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_validate_names_its_own_option_for_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(infer_contract(pd.DataFrame({"a": [1]})), encoding="utf-8")
    proc = _run("validate", "--contract", "c.yaml", "--data", "missing.csv", cwd=tmp_path)
    assert proc.returncode == 2
    assert "missing.csv does not exist (--data)" in proc.stderr
    assert "params.yaml" not in proc.stderr
