"""One SparkSession per stage process, configured from params.yaml's ``compute.spark``."""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

from mlgate.errors import ParamsError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from mlgate.params import ComputeParams

# Settings every mlgate session needs; compute.spark.conf may override any of them.
_BASE_CONF: dict[str, str] = {
    # Arrow moves pandas batches in and out of mapInPandas and toPandas without pickling rows.
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Timestamps mean the same instant on every machine, as in the local engine.
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    # Small default shuffle width: a 2-core machine gains nothing from 200 tiny tasks.
    "spark.sql.shuffle.partitions": "8",
}
# A local master binds to loopback only: the stage computes, it does not publish a service.
_LOCAL_CONF = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}


def session_conf(compute: ComputeParams) -> dict[str, str]:
    """The Spark settings a stage's session gets (base, loopback when local, then the user's)."""
    conf = dict(_BASE_CONF)
    if compute.spark.master.startswith("local"):
        conf.update(_LOCAL_CONF)
    conf.update({key: _as_text(value) for key, value in compute.spark.conf.items()})
    return conf


def _as_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def spark_session(compute: ComputeParams, *, app: str) -> SparkSession:
    """A SparkSession for ``compute`` (``engine: spark``); ParamsError if PySpark is missing.

    Workers must run this interpreter: without PYSPARK_PYTHON they start the system Python,
    which fails on ``import pandas`` inside mapInPandas.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ParamsError(
            "params.yaml: compute.engine is 'spark' but PySpark is not installed; "
            "install mlgate[spark] (and Java 17+), or set compute.engine: local"
        ) from exc
    # PySpark 4.3 warns on every pandas conversion that pandas 3 is "not fully supported"; the
    # engine uses only the DataFrame API, mapInPandas and toPandas, which the tests cover.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(f"mlgate-{app}")
    builder = builder.master(compute.spark.master)
    for key, value in session_conf(compute).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
