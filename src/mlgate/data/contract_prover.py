"""The pass prover: which columns and dataset checks of a contract pandera certainly passes,
found with cheap whole-column work (see :mod:`mlgate.data.contract`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.config import ValidationDepth, get_config_context
from pandera.engines.pandas_engine import DateTime, Engine

# Built-in checks whose passing set is an interval of an ordered dtype: they pass on every
# non-null value iff they pass on the column's minimum and maximum.
_INTERVAL_CHECKS = frozenset(
    {
        "equal_to",
        "greater_than",
        "greater_than_or_equal_to",
        "less_than",
        "less_than_or_equal_to",
        "in_range",
    }
)


def prove(
    frame: pd.DataFrame, schema: pa.DataFrameSchema
) -> tuple[pd.DataFrame, list[Any], list[int]] | None:
    """Return (frame coerced as pandera would, unproven columns, unproven dataset checks).

    ``None`` means the schema or frame uses something the prover does not model; pandera then
    validates everything. A column or check counts as proven only if pandera certainly passes
    it; anything uncertain is left to pandera, which is the authority on failures.
    """
    if not _provable(frame, schema):
        return None
    proven = frame.copy(deep=False)  # copy-on-write: never mutates the caller's frame
    unproven: list[Any] = []
    for name, column in schema.columns.items():
        if name not in frame.columns:
            continue  # optional and absent: pandera skips it too
        try:
            series = frame[name]
            if (column.coerce or schema.coerce) and column.dtype is not None:
                series = _coerce(column.dtype, series)
                proven[name] = series
            ok = _column_passes(column, series)
        except Exception:  # any surprise is for pandera to report, not the prover
            ok = False
        if not ok:
            unproven.append(name)
    checks = [i for i, check in enumerate(schema.checks) if not _check_passes(check, proven)]
    return proven, unproven, checks


def _coerce(dtype: Any, series: pd.Series) -> pd.Series:
    """``dtype.try_coerce(series)``, with one shortcut: a naive datetime column coerced to a
    naive pandera DateTime is an ``astype`` to its unit (pandera routes it through
    ``pd.to_datetime``, ~0.4 s for 1e7 values that are already dates). Out-of-range values
    raise as pandera's would, and the caller leaves the column to pandera."""
    if (
        isinstance(dtype, DateTime)
        and dtype.tz is None
        and not dtype.to_datetime_kwargs
        and not dtype.time_zone_agnostic
        and pd.api.types.is_datetime64_dtype(series.dtype)
    ):
        return series.astype(dtype.type)
    return dtype.try_coerce(series)


def _provable(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> bool:
    config = get_config_context()
    if not config.validation_enabled or config.validation_depth not in (
        None,
        ValidationDepth.SCHEMA_AND_DATA,
    ):
        return False
    if type(schema) is not pa.DataFrameSchema or not isinstance(frame, pd.DataFrame):
        return False
    if (
        schema.index is not None
        or schema.dtype is not None
        or schema.parsers
        or schema.unique
        or schema.ordered
        or schema.unique_column_names
        or schema.add_missing_columns
        or schema.drop_invalid_rows
        or schema.strict not in (True, False)
        or getattr(schema, "on_missing_columns", None) is not None
    ):
        return False
    if isinstance(frame.columns, pd.MultiIndex) or frame.columns.has_duplicates:
        return False
    for name, column in schema.columns.items():
        if (
            column.regex
            or column.parsers
            or column.default is not None
            or column.drop_invalid_rows
            or (name not in frame.columns and column.required)
        ):
            return False  # a missing column is a structural failure: pandera reports it
    return not (schema.strict is True and not set(frame.columns) <= set(schema.columns))


def _column_passes(column: pa.Column, series: pd.Series) -> bool:
    if column.dtype is not None:
        dtype_ok: Any = column.dtype.check(Engine.dtype(series.dtype), series)
        # pandera answers with a bool, or per element (e.g. pandas 3 strings): all must pass.
        if not _is_true(dtype_ok if isinstance(dtype_ok, bool | np.bool_) else dtype_ok.all()):
            return False
    if not column.nullable and series.hasnans:
        return False
    if column.unique and not series.is_unique:
        return False
    return all(_check_passes(check, series) for check in column.checks)


def _check_passes(check: pa.Check, data: pd.Series | pd.DataFrame) -> bool:
    try:
        if isinstance(data, pd.Series):
            data = _stand_in(check, data)
        passed = check(data).check_passed
    except Exception:  # pandera reports check errors itself
        return False
    return _is_true(passed)


def _is_true(value: Any) -> bool:
    # A Series, NA or anything but a plain True is not a proof.
    return isinstance(value, bool | np.bool_) and bool(value)


def _stand_in(check: pa.Check, series: pd.Series) -> pd.Series:
    """A small series on which ``check`` passes iff it passes on ``series``."""
    if check.groupby is not None or (series.hasnans and not check.ignore_na):
        return series
    # Check.__call__ runs the registered built-in of this name, so the name identifies it.
    name = getattr(check._check_fn, "__name__", None)
    builtin = name is not None and pa.Check.is_builtin_check(name)
    dtype = series.dtype
    numpy_kind = dtype.kind if isinstance(dtype, np.dtype) else ""
    if builtin and name in _INTERVAL_CHECKS and numpy_kind and numpy_kind in "iufmM":
        return _extremes(series)
    if check.determined_by_unique and not (numpy_kind and numpy_kind in "fc"):
        # One hash pass; skipped for floats, whose values are mostly distinct anyway.
        return pd.Series(series.unique(), dtype=dtype, name=series.name)
    return series


def _extremes(series: pd.Series) -> pd.Series:
    """The non-null minimum and maximum of a numeric or datetime column (empty if none)."""
    values = series.to_numpy()
    if len(values) == 0:
        return series
    if values.dtype.kind == "f":
        low, high = np.fmin.reduce(values), np.fmax.reduce(values)  # NaN-skipping, no copy
        ends = [] if np.isnan(low) else [low, high]
    elif values.dtype.kind in "iu":
        ends = [values.min(), values.max()]
    else:
        low, high = series.min(), series.max()
        ends = [] if pd.isna(low) else [low, high]
    return pd.Series(np.array(ends, dtype=values.dtype), name=series.name)
