"""The validate stage on Spark gives the local engine's failure table and validated rows.

Oracle: the local engine (pandera on the whole table). Corrupted tables (nulls, out-of-range,
unknown categories, duplicate ids) read from a directory of three Parquet files, so failure
rows must be numbered across files; row groups of 250, 1,000 and the file's default, so
nothing may depend on where a task's boundary falls.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlgate.data.contract import load_contract, validate
from mlgate.data.contract_batches import split_contract
from mlgate.data.contract_failures import summarise
from mlgate.data.generate import generate
from mlgate.data.ingest import binarise_target, read_table
from mlgate.errors import ContractError, DataError
from mlgate.params import CorruptionParams, GenerateParams
from mlgate.spark.validate import validate_source
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.spark
CONTRACT = str(REPO_ROOT / "contracts" / "churn.yaml")
CORRUPT = CorruptionParams(
    null_rate=0.02,
    null_columns=("tenure_months", "monthly_spend", "region"),
    out_of_range_rate=0.01,
    unknown_category_rate=0.01,
    duplicate_id_rate=0.01,
)


def _table(tmp_path_factory: pytest.TempPathFactory, kind: str, group: int | None) -> str:
    root = tmp_path_factory.mktemp(kind)
    if kind == "tiny":  # clean rows, too few: only the table-level min_rows fails
        generate(GenerateParams(n_rows=600, seed=3)).to_parquet(root / "t.parquet")
        return str(root / "t.parquet")
    corruption = CORRUPT if kind == "corrupt" else CorruptionParams()
    frame = generate(GenerateParams(n_rows=2_500, seed=5, corruption=corruption))
    if kind == "clean":
        frame.to_parquet(root / "t.parquet", row_group_size=group)
        return str(root / "t.parquet")
    source = root / "t"
    source.mkdir()
    # Names sort as 0, 1, 2 while sizes differ: Spark must not order rows by file size.
    for name, (start, stop) in zip(
        ("a", "b", "c"), ((0, 400), (400, 1900), (1900, 2500)), strict=True
    ):
        frame.iloc[start:stop].to_parquet(source / f"part-{name}.parquet", row_group_size=group)
    return str(source)


GROUPS = (250, 1_000, None)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int | None], str]:
    return {
        (kind, group): _table(tmp_path_factory, kind, group)
        for kind in ("clean", "corrupt", "tiny")
        for group in GROUPS
    }


def _local(source: str) -> tuple[str, list[dict[str, Any]], pd.DataFrame | None]:
    result = validate(read_table(source), load_contract(CONTRACT), max_examples=5)
    clean = None
    if result.passed:
        assert result.validated is not None
        clean = binarise_target(result.validated, target="churned", positive_label=1)
    return result.failure_cases.to_csv(index=False), result.summary, clean


def _spark(spark: Any, source: str, out: Path) -> tuple[str, list[Any], Any]:
    split = split_contract(load_contract(CONTRACT), origin=CONTRACT)
    out.mkdir()
    result = validate_source(
        spark, source, split, na_values=(), target="churned", positive_label=1,
        id_column="customer_id", out_dir=out,
    )  # fmt: skip
    summary = summarise(result.failure_cases, 5)
    return result.failure_cases.to_csv(index=False), summary, result


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("kind", ["clean", "corrupt"])
def test_same_failures_and_rows_as_local(
    spark: Any,
    tables: dict[tuple[str, int | None], str],
    tmp_path: Path,
    kind: str,
    group: int | None,
) -> None:
    local_csv, local_summary, local_rows = _local(tables[kind, group])
    csv, summary, result = _spark(spark, tables[kind, group], tmp_path / "out")
    assert csv == local_csv
    assert json.dumps(summary) == json.dumps(local_summary)
    if kind == "corrupt":
        checks = {(s["column"], s["check"]) for s in summary}
        assert ("customer_id", "unique_values") in checks  # a dataset check, rows across files
        assert ("tenure_months", "dtype('int64')") in checks  # nulls make the column float
        assert not result.passed
        return
    assert result.passed and local_rows is not None
    parts = sorted((tmp_path / "out").iterdir())
    assert len(parts) == -(-2_500 // (group or 2_500))  # a part per row group, in row order
    rows = pd.read_parquet(tmp_path / "out")
    pd.testing.assert_frame_equal(rows, local_rows.reset_index(drop=True), check_exact=True)
    assert (
        pq.read_schema(parts[0]).types == pq.read_schema(_local_file(local_rows, tmp_path)).types
    )


def _local_file(frame: pd.DataFrame, tmp_path: Path) -> Path:
    from mlgate.io import write_parquet

    path = tmp_path / "local.parquet"
    write_parquet(path, frame, statistics=False, plain_columns=["customer_id"])
    return path


def test_table_level_failure_matches_local(
    spark: Any, tables: dict[str, str], tmp_path: Path
) -> None:
    local_csv, local_summary, _ = _local(tables["tiny", 250])
    csv, summary, _ = _spark(spark, tables["tiny", 250], tmp_path / "out")
    assert [s["check"] for s in summary] == ["min_rows(min_value=1000)"]
    assert (csv, summary) == (local_csv, local_summary)


def test_csv_source_is_refused_naming_data_source(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(
        DataError, match=r"data.source .*t.csv: compute.engine spark reads Parquet"
    ):
        _spark(spark, str(path), tmp_path / "out")


def test_a_check_that_needs_the_whole_table_and_is_not_modelled_is_refused() -> None:
    schema = load_contract(CONTRACT)
    schema.columns["customer_id"].unique = True
    with pytest.raises(ContractError, match="customer_id: unique: true"):
        split_contract(schema, origin=CONTRACT)


def test_stage_and_library_import_without_pyspark() -> None:
    import subprocess

    # None in sys.modules makes `import pyspark` fail, as on a machine without it.
    code = (
        "import sys; sys.modules['pyspark'] = None; sys.path.insert(0, 'stages');"
        "import validate, mlgate.data.contract_batches, mlgate.engine"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


def test_blank_cells_and_nulls_in_one_batch_match_local(spark: Any, tmp_path: Path) -> None:
    # A boolean column with one null is object-typed in the local table; only one of the
    # batches holds that null. Blank cells are nulls through data.na_values, "" is not.
    frame = generate(GenerateParams(n_rows=2_000, seed=11))
    frame["is_enterprise"] = frame["is_enterprise"].astype(object)
    frame.loc[1_700, "is_enterprise"] = None
    # One null makes the integer column float64 in the whole table, so a value out of range in
    # another batch must print as -3.0 there too.
    frame["tenure_months"] = frame["tenure_months"].astype("Int64")
    frame.loc[1_700, "tenure_months"] = None
    frame.loc[100, "tenure_months"] = -3
    frame.loc[[5, 1_900], "region"] = " "
    frame.loc[9, "city"] = ""
    source = tmp_path / "t.parquet"
    # Written as Spark or any non-pandas writer would: an int64 column with a null, no pandas
    # metadata (with it, pandas would read the column back as Int64 in every batch).
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    pq.write_table(table, source)
    schema = load_contract(CONTRACT)
    local = validate(read_table(source, na_values=[" "]), schema, max_examples=5)
    split = split_contract(schema, origin=CONTRACT)
    result = validate_source(
        spark, str(source), split, na_values=(" ",), target="churned", positive_label=1,
        id_column="customer_id", out_dir=None,
    )  # fmt: skip
    checks = {(s["column"], s["check"]) for s in local.summary}
    assert {("is_enterprise", "not_nullable"), ("region", "not_nullable")} <= checks
    assert {"row": 100, "value": "-3.0"} in next(
        s["examples"] for s in local.summary if s["check"] == "in_range(0, 120)"
    )
    assert result.failure_cases.to_csv(index=False) == local.failure_cases.to_csv(index=False)
