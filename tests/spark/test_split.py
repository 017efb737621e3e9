"""The split on Spark puts every row on the side the local engine does, in the input order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from mlgate.data.sample import read_sample
from mlgate.data.split import holdout_mask
from mlgate.errors import DataError
from mlgate.spark.compat import micros
from mlgate.spark.split import Side, split_source

pytestmark = pytest.mark.spark

SALT, FRACTION = "mlgate-v1", 0.3


def _local(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    mask = holdout_mask(frame["customer_id"], fraction=FRACTION, salt=SALT)
    return frame[~mask].reset_index(drop=True), frame[mask].reset_index(drop=True)


def _read(path: Path, like: pd.DataFrame) -> pd.DataFrame:
    got = pd.read_parquet(path)
    # Spark stores timestamps in microseconds; the values are what matters here.
    return got.astype(like.dtypes.to_dict())


def _as_dataset(frame: pd.DataFrame, directory: Path, sizes: list[int], group: int) -> None:
    """Files of unequal sizes, named in row order, with row groups of ``group`` rows."""
    directory.mkdir()
    bounds = np.cumsum([0, *sizes])
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        part = frame.iloc[lo:hi]
        part.to_parquet(directory / f"part-{i:02d}.parquet", index=False, row_group_size=group)


def _split(spark, source: Path, tmp_path: Path, check=lambda *sides: None) -> tuple[Side, Side]:  # type: ignore[no-untyped-def]
    train, holdout = str(tmp_path / "train.parquet"), str(tmp_path / "holdout.parquet")
    return split_source(
        spark,
        str(source),
        train,
        holdout,
        id_column="customer_id",
        target="churned",
        fraction=FRACTION,
        salt=SALT,
        check=check,
    )


@pytest.mark.parametrize("group", [173, 1000, 100_000])
def test_same_sides_and_order_as_local(spark, churn_table, tmp_path, group) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "validated.parquet"
    # As the local engine's validate writes it: nanoseconds, which Spark cannot read.
    churn_table["signup_date"] = churn_table["signup_date"].astype("datetime64[ns]")
    _as_dataset(churn_table, source, [500, 2500, 1000], group)
    train, holdout = _local(churn_table)
    sides = _split(spark, source, tmp_path)
    assert sides[0] == (len(train), float(train["churned"].sum()), True)
    assert sides[1] == (len(holdout), float(holdout["churned"].sum()), True)
    pd.testing.assert_frame_equal(_read(tmp_path / "train.parquet", train), train)
    pd.testing.assert_frame_equal(_read(tmp_path / "holdout.parquet", holdout), holdout)
    # Nanosecond timestamps are written as Spark reads them; every other type is the file's.
    written = pq.read_schema(next((tmp_path / "train.parquet").iterdir()))
    local = pq.read_schema(source / "part-00.parquet")
    assert [f.type for f in written] == [f.type for f in micros(local) or local]
    assert micros(written) is None
    # The local stages' sample of the Spark dataset is the sample of the local file.
    train.to_parquet(tmp_path / "train_local.parquet", index=False)
    for n in (100, 10_000):
        from_spark, from_local = (
            read_sample(tmp_path / name, id_column="customer_id", n=n, salt="s/sample")
            for name in ("train.parquet", "train_local.parquet")
        )
        assert from_spark.n_available == from_local.n_available == len(train)
        pd.testing.assert_frame_equal(
            from_spark.frame.astype(train.dtypes.to_dict()), from_local.frame
        )


def test_string_ids_hash_as_locally(spark, churn_table, tmp_path) -> None:  # type: ignore[no-untyped-def]
    churn_table["customer_id"] = "c" + churn_table["customer_id"].astype(str)
    churn_table.to_parquet(tmp_path / "v.parquet", index=False, row_group_size=700)
    _split(spark, tmp_path / "v.parquet", tmp_path)
    expected = holdout_mask(churn_table["customer_id"], fraction=FRACTION, salt=SALT)
    got = pd.read_parquet(tmp_path / "holdout.parquet")["customer_id"]
    assert got.tolist() == churn_table["customer_id"][expected].tolist()


def test_replaces_a_previous_file_output_and_leaves_no_temporaries(
    spark, churn_table, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    churn_table.to_parquet(tmp_path / "v.parquet", index=False)
    (tmp_path / "train.parquet").write_bytes(b"old file output")
    (tmp_path / "holdout.parquet").mkdir()
    (tmp_path / "holdout.parquet" / "stale.parquet").write_bytes(b"old dataset part")
    _split(spark, tmp_path / "v.parquet", tmp_path)
    train, holdout = _local(churn_table)
    pd.testing.assert_frame_equal(_read(tmp_path / "train.parquet", train), train)
    pd.testing.assert_frame_equal(_read(tmp_path / "holdout.parquet", holdout), holdout)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "holdout.parquet",
        "train.parquet",
        "v.parquet",
    ]
    assert not [p for p in (tmp_path / "train.parquet").iterdir() if p.name.startswith(".")]


def test_missing_id_is_refused_with_the_column_and_nothing_replaced(
    spark, churn_table, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    churn_table["customer_id"] = churn_table["customer_id"].astype("Int64")
    churn_table.loc[[7, 3000], "customer_id"] = pd.NA
    churn_table.to_parquet(tmp_path / "v.parquet", index=False, row_group_size=1000)
    (tmp_path / "train.parquet").write_bytes(b"old")
    with pytest.raises(DataError, match="id column 'customer_id' has 2 missing values"):
        _split(spark, tmp_path / "v.parquet", tmp_path)
    assert (tmp_path / "train.parquet").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.parquet", "v.parquet"]


def test_a_missing_column_is_named_with_its_key(spark, churn_table, tmp_path) -> None:  # type: ignore[no-untyped-def]
    churn_table.drop(columns="churned").to_parquet(tmp_path / "v.parquet", index=False)
    with pytest.raises(DataError, match=r"column 'churned' \(params.yaml: data.target\)"):
        _split(spark, tmp_path / "v.parquet", tmp_path)


def test_a_refused_split_replaces_nothing(spark, churn_table, tmp_path) -> None:  # type: ignore[no-untyped-def]
    churn_table.to_parquet(tmp_path / "v.parquet", index=False)
    (tmp_path / "train.parquet").write_bytes(b"old")

    def refuse(train: Side, holdout: Side) -> None:
        raise DataError(f"refused {train[0]} / {holdout[0]}")

    with pytest.raises(DataError, match="refused 2"):
        _split(spark, tmp_path / "v.parquet", tmp_path, refuse)
    assert (tmp_path / "train.parquet").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.parquet", "v.parquet"]


def test_single_class_side_is_reported(spark, churn_table, tmp_path) -> None:  # type: ignore[no-untyped-def]
    churn_table["churned"] = 0
    churn_table.to_parquet(tmp_path / "v.parquet", index=False, row_group_size=500)
    sides = _split(spark, tmp_path / "v.parquet", tmp_path)
    assert not sides[0][2] and not sides[1][2]
    assert sides[0][1] == sides[1][1] == 0.0


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_a_fraction_outside_0_1_is_refused_before_any_task(
    spark, churn_table, tmp_path, fraction
) -> None:  # type: ignore[no-untyped-def]
    churn_table.to_parquet(tmp_path / "v.parquet", index=False)
    with pytest.raises(DataError, match="v.parquet: holdout fraction must be strictly between"):
        split_source(
            spark,
            str(tmp_path / "v.parquet"),
            str(tmp_path / "train.parquet"),
            str(tmp_path / "holdout.parquet"),
            id_column="customer_id",
            target="churned",
            fraction=fraction,
            salt=SALT,
            check=lambda *sides: None,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.parquet"]
