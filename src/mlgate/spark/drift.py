"""The drift stage on Spark: the local engine's drift report from exact Spark aggregates.

Categories held as strings or booleans, plain numbers and timestamps are converted by Spark
itself (:func:`_in_jvm`: what :func:`mlgate.drift.reference.as_drift_frame` gives, with no
Python object per value; at 1e8 rows that pandas round trip was most of the stage). Every
other feature goes through ``as_drift_frame`` per Arrow batch (``mapInPandas``), so every
value is converted exactly as locally; a column whose pandas type would change with nulls
(integers become float64, booleans object) is given that type in every batch when the column
has a null anywhere, as pandas does for the whole column. One aggregation then counts each
(feature, value) per side. Categorical counts are collected; a
numeric feature's distinct values are streamed to the driver in ascending order
(``toLocalIterator``, one partition at a time, packed as bytes per Arrow batch) into
:func:`mlgate.drift.counts.numeric_drift`, the code the local engine runs on the same table:
the reports agree bit for bit.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mlgate.drift.counts import Chunk, numeric_drift
from mlgate.drift.distance import js_from_result
from mlgate.drift.psi import categorical_from_counts
from mlgate.drift.reference import as_drift_frame
from mlgate.drift.report import assemble, check_threshold, feature_entry
from mlgate.params import DriftParams, FeaturesParams

_SIDE = "__mlgate_side"
_INTEGRAL = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
_NUMBERS = (*_INTEGRAL, T.FloatType, T.DoubleType)


def _kinds(frame: DataFrame, features: FeaturesParams, nulls: dict[str, bool]) -> dict[str, bool]:
    """Feature -> numeric?, as as_drift_frame decides on the whole column locally."""
    types = {f.name: f.dataType for f in frame.schema.fields}
    kinds: dict[str, bool] = {}
    for name in features.numeric:
        if name in types:  # a null-free boolean column is a category (local: dtype bool)
            kinds[name] = not (isinstance(types[name], T.BooleanType) and not nulls[name])
    for name in (*features.categorical, *features.frequency):
        if name in types:
            kinds[name] = False
    for name in (*features.cyclical_dates, *features.days_since_dates):
        if name in types:
            kinds[name] = True
    return kinds


def _pandas_fixes(frame: DataFrame, nulls: dict[str, bool]) -> dict[str, str]:
    """The dtype pandas gives a whole column with a null in it, for columns that have one."""
    fixes = {}
    for field in frame.schema.fields:
        if nulls.get(field.name) and isinstance(field.dataType, _INTEGRAL):
            fixes[field.name] = "float64"
        elif nulls.get(field.name) and isinstance(field.dataType, T.BooleanType):
            fixes[field.name] = "object"
    return fixes


def _in_jvm(field: T.StructField, features: FeaturesParams, numeric: bool) -> Column | None:
    """The column as :func:`as_drift_frame` converts it, where Spark computes that exactly
    without Python: a string category is itself, a boolean category "True"/"False", a plain
    number its float64, a timestamp its whole days since 1970 (floored, as pandas'
    ``Timedelta.days``). ``numeric``: the feature's kind (:func:`_kinds`). Dates, numbers used
    as categories, booleans with nulls listed as numeric, decimals and the like go through
    pandas (None)."""
    name, kind, column = field.name, field.dataType, F.col(field.name)
    if name in (*features.cyclical_dates, *features.days_since_dates):
        if isinstance(kind, (T.TimestampType, T.TimestampNTZType)):
            micros = F.unix_micros(column.cast(T.TimestampType()))  # session time zone: UTC
            return F.floor(micros / F.lit(86_400_000_000)).cast("double")
        return None
    if isinstance(kind, T.BooleanType) and not numeric:
        return F.when(column, "True").when(~column, "False")  # null stays null
    if name in (*features.categorical, *features.frequency):
        return column if isinstance(kind, T.StringType) else None
    if isinstance(kind, _NUMBERS):  # a null stays null, as pandas' NaN: both count as missing
        return column.cast("double")
    return None


def _converted(
    frame: DataFrame, features: FeaturesParams, kinds: dict[str, bool], fixes: dict[str, str]
) -> list[DataFrame]:
    """The features of ``frame`` as the local engine converts them, in one or two frames
    (columns Spark converts itself; the rest through pandas). Their rows need not line up:
    only counts per (feature, value) are taken from them."""
    fields = {f.name: f for f in frame.schema.fields}
    in_jvm = {n: e for n, k in kinds.items() if (e := _in_jvm(fields[n], features, k)) is not None}
    parts = [frame.select(*[e.alias(n) for n, e in in_jvm.items()])] if in_jvm else []
    names = [n for n in kinds if n not in in_jvm]
    if not names:
        return parts

    def convert(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            batch = batch.astype({k: v for k, v in fixes.items() if k in batch})
            drift_frame, _, _ = as_drift_frame(batch, features)
            yield pd.DataFrame(
                {n: drift_frame[n].astype("float64" if kinds[n] else "object") for n in names}
            )

    schema = T.StructType(
        [T.StructField(n, T.DoubleType() if kinds[n] else T.StringType()) for n in names]
    )
    return [*parts, frame.select(*names).mapInPandas(convert, schema)]


def _value_counts(
    reference: list[DataFrame], current: list[DataFrame], kinds: dict[str, bool]
) -> DataFrame:
    """(feature, number, text, reference count, current count), one row per distinct value;
    a missing value (null or NaN) is the row whose number and text are both null."""

    def item(name: str) -> Any:
        number = F.col(name) if kinds[name] else F.lit(None).cast("double")
        number = F.when(F.isnan(number), None).otherwise(number)
        text = F.lit(None).cast("string") if kinds[name] else F.col(name)
        return F.struct(F.lit(name).alias("f"), number.alias("x"), text.alias("s"))

    items = [
        part.select(
            F.explode(F.array(*[item(n) for n in kinds if n in part.columns])).alias("e"),
            F.lit(side).alias(_SIDE),
        )
        for side, parts in enumerate((reference, current))
        for part in parts
    ]
    return (
        functools.reduce(DataFrame.unionByName, items)
        .select("e.*", _SIDE)
        .groupBy("f", "x", "s")
        .agg(F.sum(1 - F.col(_SIDE)).alias("r"), F.sum(_SIDE).alias("c"))
    )


# One row per run of a feature's values within an Arrow batch: values and counts as raw bytes.
_PACKED = T.StructType(
    [
        T.StructField("f", T.StringType()),
        T.StructField("x", T.BinaryType()),
        T.StructField("r", T.BinaryType()),
        T.StructField("c", T.BinaryType()),
    ]
)


def _pack(batches: Iterator[Any]) -> Iterator[Any]:
    """Sorted (f, x, r, c) batches -> one row per run of the same feature, its values (float64)
    and counts (int64) as bytes: the driver then receives a few rows per batch, not one Python
    object per distinct value (a continuous feature has about one per row)."""
    import pyarrow as pa

    for batch in batches:
        if not batch.num_rows:
            continue
        names = batch.column(0).to_numpy(zero_copy_only=False)
        x = batch.column(1).to_numpy(zero_copy_only=False).astype(np.float64)
        r, c = (batch.column(i).to_numpy(zero_copy_only=False).astype(np.int64) for i in (2, 3))
        bounds = [0, *(np.flatnonzero(names[1:] != names[:-1]) + 1), len(names)]
        runs = list(zip(bounds[:-1], bounds[1:], strict=True))
        yield pa.RecordBatch.from_arrays(
            [
                pa.array([names[lo] for lo, _ in runs], pa.string()),
                *(
                    pa.array([col[lo:hi].tobytes() for lo, hi in runs], pa.binary())
                    for col in (x, r, c)
                ),
            ],
            names=["f", "x", "r", "c"],
        )


def _unpack(rows: Iterator[Any]) -> Iterator[Chunk]:
    """Packed rows of one feature, in value order -> chunks of numpy arrays."""
    for row in rows:
        yield (
            np.frombuffer(row["x"], dtype=np.float64),
            np.frombuffer(row["r"], dtype=np.int64),
            np.frombuffer(row["c"], dtype=np.int64),
        )


def _null_flags(frame: DataFrame, names: list[str]) -> dict[str, bool]:
    row = frame.select(*[F.max(F.col(n).isNull().cast("int")).alias(n) for n in names]).first()
    return {n: bool(row[n]) if row is not None else False for n in names}


def _categorical(rows: list[Any], name: str, epsilon: float) -> tuple[Any, float]:
    mine = [r for r in rows if r["f"] == name]
    counts = {}
    for side in ("r", "c"):
        seen = [(r["s"], int(r[side])) for r in mine if r["s"] is not None and r[side]]
        counts[side] = pd.Series(
            [n for _, n in seen],
            index=pd.Index([v for v, _ in seen], dtype=object),
            dtype=np.int64,
        )
    missing = (
        sum(int(r["r"]) for r in mine if r["s"] is None),
        sum(int(r["c"]) for r in mine if r["s"] is None),
    )
    result = categorical_from_counts(counts["r"], counts["c"], missing, epsilon)
    return result, js_from_result(result)


def _numeric(
    counts: DataFrame,
    small: list[Any],
    names: list[str],
    n_rows: tuple[int, int],
    cfg: DriftParams,
) -> dict[str, tuple[Any, float | None]]:
    """Every numeric feature from one sort of their distinct values by (feature, value),
    streamed once: each feature's values arrive together, in ascending order."""
    rows = (
        counts.where(F.col("f").isin(names) & F.col("x").isNotNull())
        .select("f", "x", "r", "c")
        .orderBy("f", "x")
        .mapInArrow(_pack, _PACKED)  # narrow: keeps the sorted order
        .toLocalIterator(prefetchPartitions=True)
    )

    def missing(name: str) -> tuple[int, int]:
        mine = [r for r in small if r["f"] == name]
        return sum(int(r["r"]) for r in mine), sum(int(r["c"]) for r in mine)

    def drift(name: str, table: Iterator[Chunk]) -> tuple[Any, float | None]:
        lost = missing(name)
        valid = (n_rows[0] - lost[0], n_rows[1] - lost[1])
        return numeric_drift(
            table, missing=lost, valid=valid, n_bins=cfg.n_bins, epsilon=cfg.epsilon
        )

    out = {}
    # Streamed: only one partition of rows is on the driver at a time.
    for name, group in itertools.groupby(rows, key=lambda r: r["f"]):
        out[name] = drift(name, _unpack(group))
    for name in names:  # a feature without a single value on either side
        if name not in out:
            out[name] = drift(name, iter(()))
    return out


def _sides(
    reference: DataFrame, current: DataFrame, features: FeaturesParams
) -> tuple[dict[str, bool], list[DataFrame], list[DataFrame]]:
    """Which features are compared (numeric?), and both sides converted as locally."""
    wanted = [
        *features.numeric,
        *features.categorical,
        *features.frequency,
        *features.cyclical_dates,
        *features.days_since_dates,
    ]
    present = list(dict.fromkeys(n for n in wanted if n in current.columns))
    kinds = _kinds(current, features, _null_flags(current, present))
    kinds = {n: k for n, k in sorted(kinds.items()) if n in reference.columns}
    if not kinds:
        raise ValueError("no features given: numeric and categorical are both empty")
    converted = []
    for frame in (reference, current):
        fixes = _pandas_fixes(frame.select(*kinds), _null_flags(frame, list(kinds)))
        converted.append(_converted(frame, features, kinds, fixes))
    return kinds, converted[0], converted[1]


def spark_drift_report(
    spark: SparkSession,
    reference_path: str,
    current_path: str,
    features: FeaturesParams,
    cfg: DriftParams,
) -> dict[str, Any]:
    """:func:`mlgate.drift.report.drift_report` of the two Parquet files or datasets, as the
    drift stage computes it locally from ``as_drift_frame`` of each."""
    threshold = check_threshold(cfg.threshold)
    reference, current = spark.read.parquet(reference_path), spark.read.parquet(current_path)
    n_rows = (reference.count(), current.count())
    for side, n in zip(("reference", "current"), n_rows, strict=True):
        if n == 0:
            raise ValueError(f"{side}_df is empty; expected at least one row")
    kinds, ref_conv, cur_conv = _sides(reference, current, features)
    counts = _value_counts(ref_conv, cur_conv, kinds).persist(StorageLevel.DISK_ONLY)
    try:
        # Categorical values and every feature's missing count: small enough to collect.
        small = counts.where(F.col("x").isNull()).collect()
        numeric_names = [n for n, numeric in kinds.items() if numeric]
        numeric_results = _numeric(counts, small, numeric_names, n_rows, cfg)
        entries = {}
        for name, numeric in kinds.items():
            if numeric:
                result, distance = numeric_results[name]
            else:
                result, distance = _categorical(small, name, cfg.epsilon)
            entries[name] = feature_entry(
                result, distance, numeric=numeric, n_rows=n_rows, threshold=threshold
            )
    finally:
        counts.unpersist()
    return assemble(
        entries, threshold=threshold, n_bins=cfg.n_bins, epsilon=cfg.epsilon, n_rows=n_rows
    )
