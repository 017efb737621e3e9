"""The id-hash sample: the N smallest salted hashes, whatever the row order or file layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.data import sample as sample_module
from mlgate.data.sample import read_sample, sample_salt
from mlgate.data.split import id_hash
from mlgate.errors import DataError

SALT = sample_salt("mlgate-v1")


def _oracle(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """Slow and obvious: sort every row by its hash, keep the first n."""
    hashes = id_hash(frame["customer_id"], salt=SALT)
    order = sorted(range(len(frame)), key=lambda i: int(hashes[i]))
    return frame.iloc[order[:n]].reset_index(drop=True)


def _write_dataset(frame: pd.DataFrame, directory: Path, pieces: int) -> None:
    directory.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), pieces)):
        frame.iloc[part].to_parquet(directory / f"part-{i:05d}.parquet", index=False)
    (directory / "_SUCCESS").write_text("")  # Spark's marker files are not data
    (directory / ".part-00000.parquet.crc").write_bytes(b"\0")


@pytest.mark.parametrize("batch_rows", [7, 300, 65_536])
def test_sample_is_the_smallest_hashes_for_any_order_and_layout(
    churn_table, tmp_path, monkeypatch, batch_rows
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sample_module, "BATCH_ROWS", batch_rows)
    n = 333
    expected = _oracle(churn_table, n)
    shuffled = churn_table.sample(frac=1.0, random_state=3)
    shuffled.to_parquet(tmp_path / "one.parquet", index=False, row_group_size=500)
    _write_dataset(churn_table, tmp_path / "ds3", 3)
    _write_dataset(shuffled, tmp_path / "ds7", 7)
    for source in ("one.parquet", "ds3", "ds7"):
        got = read_sample(tmp_path / source, id_column="customer_id", n=n, salt=SALT)
        assert got.n_available == len(churn_table) and got.sampled
        pd.testing.assert_frame_equal(got.frame, expected)


@pytest.mark.parametrize("n", [4_000, 4_001, 10**9])
def test_no_more_rows_than_n_reads_the_table_as_pandas_does(churn_table, tmp_path, n) -> None:  # type: ignore[no-untyped-def]
    _write_dataset(churn_table, tmp_path / "ds", 3)
    got = read_sample(tmp_path / "ds", id_column="customer_id", n=n, salt=SALT)
    assert not got.sampled and got.n_available == 4_000
    pd.testing.assert_frame_equal(got.frame, pd.read_parquet(tmp_path / "ds"))
    pd.testing.assert_frame_equal(got.frame, churn_table)


def test_one_row_under_the_size_samples(churn_table, tmp_path) -> None:  # type: ignore[no-untyped-def]
    churn_table.to_parquet(tmp_path / "t.parquet", index=False)
    got = read_sample(tmp_path / "t.parquet", id_column="customer_id", n=3_999, salt=SALT)
    assert got.sampled and len(got.frame) == 3_999
    pd.testing.assert_frame_equal(got.frame, _oracle(churn_table, 3_999))


def test_string_ids_and_column_subset(churn_table, tmp_path) -> None:  # type: ignore[no-untyped-def]
    churn_table["customer_id"] = "c" + churn_table["customer_id"].astype(str)
    churn_table.to_parquet(tmp_path / "t.parquet", index=False)
    got = read_sample(
        tmp_path / "t.parquet", id_column="customer_id", n=50, salt=SALT, columns=["churned"]
    )
    assert list(got.frame.columns) == ["churned"]
    assert got.frame["churned"].tolist() == _oracle(churn_table, 50)["churned"].tolist()


def test_another_salt_gives_another_sample(churn_table, tmp_path) -> None:  # type: ignore[no-untyped-def]
    churn_table.to_parquet(tmp_path / "t.parquet", index=False)
    a = read_sample(tmp_path / "t.parquet", id_column="customer_id", n=100, salt=SALT)
    b = read_sample(tmp_path / "t.parquet", id_column="customer_id", n=100, salt="mlgate-v1")
    assert len(set(a.frame["customer_id"]) & set(b.frame["customer_id"])) < 30


def test_missing_id_column_and_missing_ids_are_named(churn_table, tmp_path) -> None:  # type: ignore[no-untyped-def]
    churn_table.to_parquet(tmp_path / "t.parquet", index=False)
    with pytest.raises(DataError, match="id column 'id' is missing"):
        read_sample(tmp_path / "t.parquet", id_column="id", n=10, salt=SALT)
    churn_table["customer_id"] = churn_table["customer_id"].astype("Int64")
    churn_table.loc[5, "customer_id"] = pd.NA
    churn_table.to_parquet(tmp_path / "n.parquet", index=False)
    with pytest.raises(DataError, match="has missing values"):
        read_sample(tmp_path / "n.parquet", id_column="customer_id", n=10, salt=SALT)
    with pytest.raises(DataError, match="does not exist"):
        read_sample(tmp_path / "nothing.parquet", id_column="customer_id", n=10, salt=SALT)
