"""Perturbations: declared changes to one column, and the column operations behind them.

Each returns a new Series with the input's index; a change that does not fit the column's
dtype is a DataError naming the test (``where``) and the column.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlgate.errors import DataError


@dataclass(frozen=True)
class Perturbation:
    """One declared change to one column. ``arg`` depends on ``kind``:

    set: the new value (None = missing); map: tuple of (old, new) pairs; add/multiply: the
    number (add also takes a ``pd.Timedelta`` for date columns); shuffle/rekey: None.
    """

    kind: str
    column: str
    arg: Any = None

    def describe(self) -> str:
        if self.kind == "set":
            return f"set {self.column} = {fmt(self.arg)}"
        if self.kind == "map":
            pairs = ", ".join(f"{fmt(a)} -> {fmt(b)}" for a, b in self.arg)
            return f"map {self.column}: {pairs}"
        if self.kind == "add":
            return f"add {fmt(self.arg)} to {self.column}"
        if self.kind == "multiply":
            return f"multiply {self.column} by {fmt(self.arg)}"
        return f"{self.kind} {self.column}"

    def apply(self, series: pd.Series, rng: np.random.Generator, where: str) -> pd.Series:
        """The perturbed column (a new Series with the same index)."""
        if self.kind == "set":
            return constant(series, self.arg, where)
        if self.kind == "map":
            return _map(series, self.arg)
        if self.kind in ("add", "multiply"):
            return _arithmetic(series, self.kind, self.arg, where)
        if self.kind == "shuffle":
            perm = rng.permutation(len(series))
            return pd.Series(series.take(perm).array, index=series.index, name=series.name)
        return _rekey(series, rng, where)


def is_number(dtype: Any) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def constant(series: pd.Series, value: Any, where: str) -> pd.Series:
    """A column like ``series`` holding ``value`` everywhere (None = missing)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        if value is not None and value not in cats:
            cats = cats.append(pd.Index([value]))
        return pd.Series(
            pd.Categorical([value] * len(series), categories=cats, ordered=dtype.ordered),
            index=series.index,
            name=series.name,
        )
    if value is None:
        if pd.api.types.is_integer_dtype(dtype) and not isinstance(
            dtype, pd.api.extensions.ExtensionDtype
        ):
            dtype = np.dtype("float64")
        elif pd.api.types.is_bool_dtype(dtype) and not isinstance(
            dtype, pd.api.extensions.ExtensionDtype
        ):
            dtype = np.dtype(object)
        return pd.Series(None, index=series.index, name=series.name, dtype=dtype)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        try:
            value = pd.Timestamp(value)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"{where}: {value!r} is not a date for column '{series.name}' ({exc})"
            ) from None
    out = pd.Series(value, index=series.index, name=series.name)
    if is_number(dtype) and is_number(out.dtype):
        out = out.astype(np.result_type(dtype, out.dtype))
    elif out.dtype != dtype:
        # A value of another kind keeps the inferred dtype: the model will judge it.
        with contextlib.suppress(TypeError, ValueError):
            out = out.astype(dtype)
    return out


def _arithmetic(series: pd.Series, kind: str, arg: Any, where: str) -> pd.Series:
    if isinstance(arg, pd.Timedelta):
        if not pd.api.types.is_datetime64_any_dtype(series.dtype):
            raise DataError(
                f"{where}: cannot add the duration {arg} to column '{series.name}' of dtype "
                f"{series.dtype}; durations apply to date columns"
            )
        return series + arg
    if not is_number(series.dtype):
        hint = " (add a duration such as '30 days' to a date)" if kind == "add" else ""
        raise DataError(
            f"{where}: cannot {kind} column '{series.name}' of dtype {series.dtype} by a "
            f"number; expected a numeric column{hint}"
        )
    return series + arg if kind == "add" else series * arg


def _map(series: pd.Series, pairs: tuple[tuple[Any, Any], ...]) -> pd.Series:
    """Replace old -> new simultaneously (``{a: b, b: a}`` swaps); other values stay."""
    olds = [a for a, _ in pairs]
    news = [b for _, b in pairs]
    if isinstance(series.dtype, pd.CategoricalDtype):
        plain = _map(series.astype(object), pairs)
        cats = list(dict.fromkeys([*series.cat.categories, *(n for n in news if n is not None)]))
        return pd.Series(
            pd.Categorical(plain, categories=cats), index=series.index, name=series.name
        )
    idx = pd.Index(olds).get_indexer(series)
    hit = idx >= 0
    new_arr = np.asarray(news)
    if (
        isinstance(series.dtype, np.dtype)
        and series.dtype.kind in "biuf"
        and new_arr.dtype.kind in "biuf"
    ):
        arr = series.to_numpy(dtype=np.result_type(series.dtype, new_arr.dtype), copy=True)
        arr[hit] = new_arr[idx[hit]]
        return pd.Series(arr, index=series.index, name=series.name)
    mapped = series.map(dict(pairs))
    return mapped.where(hit, series)


def _rekey(series: pd.Series, rng: np.random.Generator, where: str) -> pd.Series:
    n = len(series)
    order = rng.permutation(n)
    if is_number(series.dtype):
        top = series.max()
        top = 0 if pd.isna(top) else int(top)
        # The next power of ten above every present id: new, unique, and visibly so in examples.
        start = 10 ** len(str(abs(top)))
        if start + n > 2**62:
            start = top + 1
        values = start + order
        if pd.api.types.is_float_dtype(series.dtype):
            values = values.astype("float64")
        return pd.Series(values, index=series.index, name=series.name)
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(
        series.dtype
    ):
        raise DataError(
            f"{where}: cannot rekey column '{series.name}' of dtype {series.dtype}; "
            f"expected integer or text ids"
        )
    present = set(series.dropna().astype(str))
    prefix = "rekeyed-"
    while any(v.startswith(prefix) for v in present):
        prefix = "x" + prefix
    values = np.char.add(prefix, order.astype(str)).astype(object)
    out = pd.Series(values, index=series.index, name=series.name)
    if isinstance(series.dtype, pd.StringDtype):
        out = out.astype(series.dtype)
    return out


def differs(before: pd.Series, after: pd.Series) -> np.ndarray:
    """Row-wise 'value changed', treating two nulls as equal."""
    if isinstance(before.dtype, pd.CategoricalDtype) or isinstance(
        after.dtype, pd.CategoricalDtype
    ):
        before, after = before.astype(object), after.astype(object)
    same = before.eq(after).to_numpy(dtype=bool, na_value=False)
    both_null = before.isna().to_numpy() & after.isna().to_numpy()
    return ~(same | both_null)


def finite_or_none(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def py(value: Any) -> Any:
    """numpy / pandas scalars -> plain Python, so examples serialise anywhere."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def fmt(value: Any) -> str:
    if isinstance(value, pd.Timedelta):
        return str(value)
    value = py(value)
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)
