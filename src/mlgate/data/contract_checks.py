"""The contract's named checks that pandera has no built-in for, registered with pandera so
they round-trip through ``DataFrameSchema.to_yaml`` / ``from_yaml`` (see
:mod:`mlgate.data.contract` for what each one means)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera import extensions


def unique_mask(series: pd.Series) -> pd.Series:
    if series.dtype.kind in "iu":
        values = series.to_numpy()
        if len(values) < 2 or bool((values[1:] > values[:-1]).all()):
            return pd.Series(True, index=series.index)
        order = np.argsort(values)
        equal = values[order][1:] == values[order][:-1]
        dup_sorted = np.zeros(len(values), dtype=bool)
        dup_sorted[1:] |= equal
        dup_sorted[:-1] |= equal
        duplicated = np.empty(len(values), dtype=bool)
        duplicated[order] = dup_sorted
    else:
        duplicated = series.duplicated(keep=False).to_numpy()
    return pd.Series(~duplicated, index=series.index)


def register() -> None:
    if hasattr(pa.Check, "unique_values"):
        return

    @extensions.register_check_method(supported_types=pd.Series)
    def unique_values(series: pd.Series) -> pd.Series:
        return unique_mask(series)

    @extensions.register_check_method(statistics=["min_value"], supported_types=pd.DataFrame)
    def min_rows(frame: pd.DataFrame, *, min_value: int) -> bool:
        return len(frame) >= min_value

    @extensions.register_check_method(
        statistics=["column", "min_value", "max_value"], supported_types=pd.DataFrame
    )
    def column_mean_between(
        frame: pd.DataFrame, *, column: str, min_value: float, max_value: float
    ) -> bool:
        if column not in frame:
            return False
        values = pd.to_numeric(frame[column], errors="coerce")
        mean = values.mean()
        return bool(np.isfinite(mean) and min_value <= mean <= max_value)

    @extensions.register_check_method(
        statistics=["column", "value", "min_value", "max_value"], supported_types=pd.DataFrame
    )
    def value_share_between(
        frame: pd.DataFrame, *, column: str, value: Any, min_value: float, max_value: float
    ) -> bool:
        if column not in frame or len(frame) == 0:
            return False
        share = float((frame[column] == value).mean())
        return min_value <= share <= max_value
