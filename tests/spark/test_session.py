"""The Spark session factory: loopback binding, the venv's Python on workers, user settings."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from mlgate.params import ComputeParams, SparkParams, params_from_dict
from mlgate.spark.session import session_conf

pytestmark = pytest.mark.spark


def test_local_master_binds_loopback_and_user_conf_wins() -> None:
    compute = ComputeParams(
        engine="spark",
        spark=SparkParams(master="local[3]", conf={"spark.sql.shuffle.partitions": 3}),
    )
    conf = session_conf(compute)
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.sql.shuffle.partitions"] == "3"


def test_cluster_master_does_not_force_loopback() -> None:
    compute = ComputeParams(engine="spark", spark=SparkParams(master="spark://10.0.0.5:7077"))
    assert "spark.driver.bindAddress" not in session_conf(compute)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"engine": "dask"}, "compute.engine"),
        ({"engine": "spark", "spark": {"master": "local[two]"}}, "compute.spark.master"),
        ({"engine": "spark", "spark": {"mastr": "local[2]"}}, "compute.spark.mastr"),
        # Spark Connect has no SparkContext (conf, broadcast): refused up front, not mid-stage
        ({"engine": "spark", "spark": {"master": "sc://host:15002"}}, "compute.spark.master"),
    ],
)
def test_bad_compute_params_name_the_key(raw: dict, key: str) -> None:
    from mlgate.errors import ParamsError

    with pytest.raises(ParamsError, match=key.replace(".", r"\.")):
        params_from_dict({"compute": raw})


def test_workers_run_this_interpreter(spark) -> None:  # type: ignore[no-untyped-def]
    """mapInPandas runs pandas in worker processes started with the venv's Python."""

    def where(batches):  # type: ignore[no-untyped-def]
        import sys as worker_sys

        for batch in batches:
            yield pd.DataFrame({"exe": [worker_sys.executable] * len(batch)})

    rows = spark.range(4, numPartitions=2).mapInPandas(where, "exe string").distinct().collect()
    assert [row.exe for row in rows] == [sys.executable]
