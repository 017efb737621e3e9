"""The paired DeLong sums of two models on Spark: each row's two components, joined by score.

A row's DeLong component under a model depends only on its score and label within the rows
compared (:func:`mlgate.metrics.score_table.table_k_values`), so the per-model sums come from
the two score tables at the driver and only the cross sums ``sum k_a * k_b`` need the rows:
each (group, score_a, score_b, label) count is joined to the two tables' components and the
products are summed as Decimal(38,0) (a product reaches ~4e18 at 1e9 rows, past a long).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mlgate.metrics.auc import PairedSums, table_sums
from mlgate.metrics.score_table import ScoreTable, table_k_values

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

ALL_ROWS = -1  # the group of every row; slice i is group i (bit i of the slices mask)


def _components(tables: Mapping[int, ScoreTable], side: str) -> pd.DataFrame:
    """Columns group, <side> (score), label, k_<side>: one row per (score, label) present."""
    parts = []
    for group, table in tables.items():
        k10, k01 = table_k_values(table)
        for label, k, n in ((1, k10, table.n_pos), (0, k01, table.n_neg)):
            present = n > 0
            parts.append(
                pd.DataFrame(
                    {
                        "group": np.full(int(present.sum()), group, dtype=np.int32),
                        side: table.scores[present],
                        "label": np.full(int(present.sum()), label, dtype=np.int8),
                        f"k_{side}": k[present],
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def _grouped(scored: DataFrame, groups: Sequence[int]) -> DataFrame:
    """Counts per (group, a, b, label): a row appears once per group that holds it."""
    from pyspark.sql import functions as F

    bits = F.col("slices")
    member = [
        F.when(F.shiftright(bits, g).bitwiseAND(1) == 1, F.lit(g)) if g != ALL_ROWS else F.lit(g)
        for g in groups
    ]
    exploded = scored.select(F.explode(F.array(*member)).alias("group"), "a", "b", "label")
    return exploded.where(F.col("group").isNotNull()).groupBy("group", "a", "b", "label").count()


def cross_sums(
    scored: DataFrame, tables: Mapping[int, tuple[ScoreTable, ScoreTable]]
) -> dict[tuple[int, int], int]:
    """``sum k_a * k_b`` per (group, label) over the rows of each group, exact."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType

    spark = scored.sparkSession
    k_a = spark.createDataFrame(_components({g: t[0] for g, t in tables.items()}, "a"))
    k_b = spark.createDataFrame(_components({g: t[1] for g, t in tables.items()}, "b"))
    joined = _grouped(scored, list(tables)).join(k_a, ["group", "a", "label"])
    joined = joined.join(k_b, ["group", "b", "label"])
    exact = DecimalType(38, 0)
    product = F.col("count").cast(exact) * F.col("k_a").cast(exact) * F.col("k_b").cast(exact)
    rows = joined.groupBy("group", "label").agg(
        F.sum(product).alias("cross"), F.sum("count").alias("n")
    )
    found = {
        (int(r["group"]), int(r["label"])): (int(r["cross"]), int(r["n"])) for r in rows.collect()
    }
    for group, (table, _) in tables.items():  # every row met its components in both tables
        for label, n in ((1, table.total_pos), (0, table.total_neg)):
            if found.get((group, label), (0, 0))[1] != n:
                raise RuntimeError(
                    f"paired sums: group {group} label {label} lost rows in the join"
                )
    return {key: cross for key, (cross, _) in found.items()}


def paired_sums_of(a: ScoreTable, b: ScoreTable, cross10: int, cross01: int) -> PairedSums:
    """The PairedSums of rows whose tables under models A and B are ``a`` and ``b``."""
    s10_a, sq10_a, s01_a, sq01_a = table_sums(a)
    s10_b, sq10_b, s01_b, sq01_b = table_sums(b)
    return PairedSums(
        n_pos=a.total_pos,
        n_neg=a.total_neg,
        sum_k10_a=s10_a,
        sum_k10_b=s10_b,
        sumsq_k10_a=sq10_a,
        sumsq_k10_b=sq10_b,
        cross_k10=cross10,
        sum_k01_a=s01_a,
        sum_k01_b=s01_b,
        sumsq_k01_a=sq01_a,
        sumsq_k01_b=sq01_b,
        cross_k01=cross01,
    )
