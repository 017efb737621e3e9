"""The split on Spark puts every row on the side the local engine does, in the input order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.data.sample import read_sample
from mlgate.data.split import holdout_mask
from mlgate.errors import DataError
from mlgate.spark.split import Side, flagged_rows, read_positioned, write_sides

pytestmark = pytest.mark.spark

SALT, FRACTION = "mlgate-v1", 0.3


def _local(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    mask = holdout_mask(frame["customer_id"], fraction=FRACTION, salt=SALT)
    return frame[~mask].reset_index(drop=True), frame[mask].reset_index(drop=True)


def _read(path: Path, like: pd.DataFrame) -> pd.DataFrame:
    got = pd.read_parquet(path)
    # Spark stores timestamps in microseconds; the values are what matters here.
    return got.astype(like.dtypes.to_dict())


def _as_dataset(frame: pd.DataFrame, directory: Path, sizes: list[int]) -> None:
    """Files of unequal sizes (Spark packs splits largest first), named in row order."""
    directory.mkdir()
    bounds = np.cumsum([0, *sizes])
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        frame.iloc[lo:hi].to_parquet(directory / f"part-{i:02d}.parquet", index=False)


def _write(flagged, tmp_path: Path, check=lambda train, holdout: None) -> tuple[Side, Side]:  # type: ignore[no-untyped-def]
    train, holdout = str(tmp_path / "train.parquet"), str(tmp_path / "holdout.parquet")
    return write_sides(flagged, train, holdout, target="churned", check=check)


@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_same_sides_and_order_as_local(spark, churn_table, tmp_path, partitions) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "validated.parquet"
    _as_dataset(churn_table, source, [500, 2500, 1000])
    frame = read_positioned(spark, str(source), "customer_id").repartition(partitions)
    assert frame.rdd.getNumPartitions() == partitions
    flagged = flagged_rows(frame, "customer_id", fraction=FRACTION, salt=SALT)
    train, holdout = _local(churn_table)
    sides = _write(flagged, tmp_path)
    assert sides[0] == (len(train), float(train["churned"].sum()), True)
    assert sides[1] == (len(holdout), float(holdout["churned"].sum()), True)
    pd.testing.assert_frame_equal(_read(tmp_path / "train.parquet", train), train)
    pd.testing.assert_frame_equal(_read(tmp_path / "holdout.parquet", holdout), holdout)
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
    churn_table.to_parquet(tmp_path / "v.parquet", index=False)
    frame = read_positioned(spark, str(tmp_path / "v.parquet"), "customer_id")
    flagged = flagged_rows(frame, "customer_id", fraction=FRACTION, salt=SALT)
    got = flagged.select("customer_id", "__mlgate_holdout").toPandas()
    expected = holdout_mask(churn_table["customer_id"], fraction=FRACTION, salt=SALT)
    assert got["__mlgate_holdout"].to_numpy().tolist() == expected.tolist()


def test_replaces_a_previous_file_output_and_leaves_no_temporaries(
    spark, churn_table, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    churn_table.to_parquet(tmp_path / "v.parquet", index=False)
    (tmp_path / "train.parquet").write_bytes(b"old file output")
    (tmp_path / "holdout.parquet").mkdir()
    (tmp_path / "holdout.parquet" / "stale.parquet").write_bytes(b"old dataset part")
    frame = read_positioned(spark, str(tmp_path / "v.parquet"), "customer_id")
    flagged = flagged_rows(frame, "customer_id", fraction=FRACTION, salt=SALT)
    _write(flagged, tmp_path)
    train, holdout = _local(churn_table)
    pd.testing.assert_frame_equal(_read(tmp_path / "train.parquet", train), train)
    pd.testing.assert_frame_equal(_read(tmp_path / "holdout.parquet", holdout), holdout)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "holdout.parquet",
        "train.parquet",
        "v.parquet",
    ]


def test_missing_id_is_refused_with_the_column(spark, churn_table, tmp_path) -> None:  # type: ignore[no-untyped-def]
    churn_table["customer_id"] = churn_table["customer_id"].astype("Int64")
    churn_table.loc[7, "customer_id"] = pd.NA
    churn_table.to_parquet(tmp_path / "v.parquet", index=False)
    with pytest.raises(DataError, match="id column 'customer_id' has missing values"):
        read_positioned(spark, str(tmp_path / "v.parquet"), "customer_id")


def test_a_refused_split_replaces_nothing(spark, churn_table, tmp_path) -> None:  # type: ignore[no-untyped-def]
    churn_table.to_parquet(tmp_path / "v.parquet", index=False)
    (tmp_path / "train.parquet").write_bytes(b"old")
    frame = read_positioned(spark, str(tmp_path / "v.parquet"), "customer_id")
    flagged = flagged_rows(frame, "customer_id", fraction=FRACTION, salt=SALT)

    def refuse(train: Side, holdout: Side) -> None:
        raise DataError(f"refused {train[0]} / {holdout[0]}")

    with pytest.raises(DataError, match="refused 2"):
        _write(flagged, tmp_path, refuse)
    assert (tmp_path / "train.parquet").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.parquet", "v.parquet"]
