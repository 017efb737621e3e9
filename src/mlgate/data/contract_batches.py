"""A contract checked batch by batch: row checks per batch, dataset checks once, one table.

An engine that sees the table in batches (Spark's mapInPandas/mapInArrow) cannot run a check
whose result depends on more than one row in each batch. :func:`split_contract` separates
those, the *dataset checks* (``unique_values`` on a column, and the table-level ``min_rows``,
``column_mean_between``, ``value_share_between``), from the per-row rest, which
:func:`batch_cases` runs with pandera per batch. :func:`merge_cases` then orders every failure
case exactly as pandera orders them on the whole table: by schema context (table first), row
failures before whole-column ones, coercion first, then column by schema order, check by its
place in the column (nullable, uniqueness, dtype, then the contract's checks), then row.

A column's dtype decides pandera's dtype failures and how values print, and a batch's pandas
dtype depends on the batch (an integer column with a null becomes float64 only in the batches
that hold one): :func:`as_table_dtypes` gives every batch the dtype the whole table has.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
from pandera.errors import SchemaError, SchemaErrors

from mlgate.data.contract_failures import normalise
from mlgate.errors import ContractError

# Checks that look at one value at a time (pandera built-ins): safe to run per batch.
ROW_CHECKS = frozenset(
    {
        "equal_to", "not_equal_to", "greater_than", "greater_than_or_equal_to", "less_than",
        "less_than_or_equal_to", "in_range", "isin", "notin", "str_matches", "str_contains",
        "str_startswith", "str_endswith", "str_length",
    }
)  # fmt: skip
COLUMN_DATASET_CHECKS = frozenset({"unique_values"})
FRAME_DATASET_CHECKS = frozenset({"min_rows", "column_mean_between", "value_share_between"})
KEY_COLUMNS = ["context", "scalar", "phase", "column_rank", "kind"]
_KIND = {"not_nullable": 0, "field_uniqueness": 1}
_DTYPE_KIND = 2
_CHECK_KIND = 3  # + the check's place in its column's (or the table's) checks


@dataclass(frozen=True)
class DatasetCheck:
    """A check computed on the whole table: where its failures sort, and what it needs."""

    name: str  # unique_values, min_rows, column_mean_between, value_share_between
    identifier: str  # how pandera names it in the failure table
    column: str | None  # the schema column it belongs to (None: a table-level check)
    statistics: dict[str, Any]
    key: tuple[int, int, int, int, int]


@dataclass(frozen=True)
class SplitContract:
    row_schema: pa.DataFrameSchema
    dataset_checks: list[DatasetCheck]
    # per column: the row schema's check number -> the contract's check number
    check_numbers: dict[str, list[int]]


def check_identifier(check: pa.Check) -> str:
    """The check's name in pandera's failure table (as pandera's consolidation names it)."""
    if check.error is not None:
        return str(check.error)
    return str(check.name) if check.name is not None else str(check)


def split_contract(schema: pa.DataFrameSchema, *, origin: str) -> SplitContract:
    """Separate the dataset checks from the row checks; ContractError for an unknown check."""
    row_schema = copy.deepcopy(schema)
    dataset: list[DatasetCheck] = []
    numbers: dict[str, list[int]] = {}
    names = list(schema.columns)
    for rank, (name, column) in enumerate(schema.columns.items()):
        kept = []
        if getattr(column, "unique", False):
            _unsupported(origin, f"column {name}: unique: true (use the unique_values check)")
        for number, check in enumerate(column.checks):
            if check.name in COLUMN_DATASET_CHECKS:
                key = (1, 0, 1, rank, _CHECK_KIND + number)
                dataset.append(DatasetCheck(check.name, check_identifier(check), name, {}, key))
            elif check.name in ROW_CHECKS:
                kept.append(number)
            else:
                _unsupported(origin, f"column {name}: check {check.name}")
        numbers[name] = kept
        row_schema.columns[name].checks = [column.checks[i] for i in kept]
    for number, check in enumerate(schema.checks):
        if check.name not in FRAME_DATASET_CHECKS:
            _unsupported(origin, f"table check {check.name}")
        stats = dict(check.statistics)
        column = stats.get("column")
        if column is not None and column not in names:
            column = None
        key = (0, 1, 1, -1, _CHECK_KIND + number)
        dataset.append(DatasetCheck(check.name, check_identifier(check), None, stats, key))
    row_schema.checks = []
    if schema.unique:
        _unsupported(origin, "table-level unique")
    return SplitContract(row_schema, dataset, numbers)


def _unsupported(origin: str, what: str) -> None:
    raise ContractError(
        f"contract {origin}: {what} is not supported by compute.engine spark (it checks rows "
        f"in batches; supported row checks: {', '.join(sorted(ROW_CHECKS))}; dataset checks: "
        f"{', '.join(sorted(COLUMN_DATASET_CHECKS | FRAME_DATASET_CHECKS))})"
    )


def batch_cases(frame: pd.DataFrame, split: SplitContract) -> pd.DataFrame:
    """Run the row checks on one batch: failure cases (index = the frame's index) with keys."""
    schema = split.row_schema
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        raw = exc.failure_cases
    except SchemaError as exc:  # raised by some backends even in lazy mode
        raw = pd.DataFrame(
            [
                {
                    "schema_context": "DataFrameSchema",
                    "column": getattr(exc.schema, "name", None),
                    "check": str(exc.check),
                    "check_number": None,
                    "failure_case": str(exc),
                    "index": None,
                }
            ]
        )
    else:
        return empty_cases()
    return _with_keys(raw, split)


def _with_keys(raw: pd.DataFrame, split: SplitContract) -> pd.DataFrame:
    cases = normalise(raw)
    ranks = {name: rank for rank, name in enumerate(split.row_schema.columns)}
    keys = [
        _key(context, column, check, number, index, ranks, split.check_numbers)
        for context, column, check, number, index in zip(
            raw["schema_context"], raw["column"], raw["check"], raw["check_number"],
            raw["index"], strict=True,
        )
    ]  # fmt: skip
    return pd.concat([cases, pd.DataFrame(keys, columns=KEY_COLUMNS)], axis=1)


def _key(
    context: Any,
    column: Any,
    check: Any,
    number: Any,
    index: Any,
    ranks: dict[str, int],
    numbers: dict[str, list[int]],
) -> tuple[int, int, int, int, int]:
    table = context == "DataFrameSchema"
    scalar = int(index is None or (isinstance(index, float) and np.isnan(index)))
    text = str(check)
    phase = 0 if text.startswith("coerce_dtype") else 1
    rank = ranks.get(column, -1) if isinstance(column, str) else -1
    if text.startswith("dtype("):
        kind = _DTYPE_KIND
    elif text in _KIND:
        kind = _KIND[text]
    elif number is not None and not pd.isna(number) and not table:
        kind = _CHECK_KIND + numbers[str(column)][int(number)]
    else:
        kind = 0  # column_in_schema / column_in_dataframe: before the table's checks
    return (0 if table else 1, scalar, phase, rank, kind)


def empty_cases() -> pd.DataFrame:
    columns = ["column", "check", "failure_case", "index", *KEY_COLUMNS]
    return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})


def merge_cases(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One failure table from the batches' (and the dataset checks') cases, in pandera's order.

    A check that fails the whole column (a dtype) reports the failing values when some batch
    has them, else one line naming the column's dtype: every batch has the table's dtype, so
    the line is the same in each and kept once.
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_cases()[["column", "check", "failure_case", "index"]]
    cases = pd.concat(parts, ignore_index=True)
    scalar = cases["index"].isna()
    with_rows = set(zip(cases.loc[~scalar, "column"], cases.loc[~scalar, "check"], strict=True))
    drop = scalar & pd.Series(
        [(c, k) in with_rows for c, k in zip(cases["column"], cases["check"], strict=True)],
        index=cases.index,
    )
    cases = cases[~drop]
    cases = cases.drop_duplicates(["column", "check", "failure_case", "index"])
    order = cases.assign(_row=cases["index"].where(cases["index"].notna(), -1).astype("int64"))
    order = order.sort_values([*KEY_COLUMNS, "_row"], kind="stable")
    out = order[["column", "check", "failure_case", "index"]].reset_index(drop=True)
    # Row positions as Python ints (None on the table level), as pandera's table holds them.
    out["index"] = pd.Series(
        [None if pd.isna(v) else int(v) for v in out["index"]], dtype=object, index=out.index
    )
    return out


def as_table_dtypes(frame: pd.DataFrame, nulls: dict[str, bool]) -> pd.DataFrame:
    """Give a batch the dtypes the whole table has: an integer column with a null anywhere in
    the table is float64, a boolean one object (what pyarrow's to_pandas does on the table)."""
    for name, has_null in nulls.items():
        if not has_null or name not in frame:
            continue
        kind = frame[name].dtype.kind
        if kind in "iu":
            frame[name] = frame[name].astype("float64")
        elif kind == "b":
            frame[name] = frame[name].astype(object)
    return frame


def null_sensitive_columns(schema: pa_arrow.Schema) -> list[str]:
    """Columns whose pandas dtype depends on whether they hold a null (integers, booleans)."""
    return [
        f.name
        for f in schema
        if pa_arrow.types.is_integer(f.type) or pa_arrow.types.is_boolean(f.type)
    ]
