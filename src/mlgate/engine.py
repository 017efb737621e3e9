"""Which compute engine a stage runs on, and the record of it each metrics file carries."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from mlgate.params import ComputeParams

# Metrics files carry this key; the engines must agree on everything else in them.
ENGINE_KEY = "computed_by"


def engine_record(compute: ComputeParams) -> dict[str, str]:
    """``{"engine": ...}`` plus, for Spark, the PySpark version that computed the numbers."""
    if compute.engine == "local":
        return {"engine": "local"}
    try:
        spark_version = version("pyspark")
    except PackageNotFoundError:
        spark_version = "not installed"
    return {"engine": "spark", "pyspark": spark_version}
