"""Check the slices of params.yaml against the data contract before any model is scored.

A slice ``{column: contract_type, op: "==", value: Two-year}`` where the contract allows
``Two year`` selects no row, and an empty slice is reported as "skipped": the typo would pass
unnoticed. So every column a slice names must be a contract column; every value named with
``==``, ``!=``, ``in`` or ``not_in`` for a column the contract restricts with ``isin`` must be
one it allows; and a number compared with a column whose range checks no value of it can
satisfy (``tenure_months == 200`` or ``< 0`` when the contract allows [0, 120]) is refused,
since that condition can never hold. ``!=`` and ``not_in`` with an out-of-range number hold
for every row and are left alone. All problems are raised together, each with its key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from mlgate.data.contract_values import (
    Interval,
    allowed_values,
    column_problem,
    is_number,
    numeric_ranges,
    value_problem,
)
from mlgate.errors import ParamsError
from mlgate.slices import Condition, Predicate, conditions

if TYPE_CHECKING:
    import pandera.pandas as pa

__all__ = ["check_slices", "slice_problems"]

CATEGORY_OPS = ("==", "!=", "in", "not_in")  # the operators that name categories
RANGE_OPS = ("==", "in", "<", "<=", ">", ">=")  # the ones an out-of-range number makes empty


def check_slices(
    slices: Mapping[str, Predicate],
    schema: pa.DataFrameSchema,
    *,
    contract: str,
    where: str,
    target: str | None = None,
) -> None:
    """Raise ParamsError listing every problem of ``slices`` against the contract, if any."""
    problems = slice_problems(slices, schema, target=target)
    if len(problems) == 1:  # one line: a log's `error:` line then says all of it
        raise ParamsError(f"{problems[0]} (the contract is {contract})")
    if problems:
        lines = "\n  ".join(problems)
        raise ParamsError(
            f"{where}: {len(problems)} problem(s) against the contract {contract}:\n  {lines}"
        )


def slice_problems(
    slices: Mapping[str, Predicate], schema: pa.DataFrameSchema, *, target: str | None = None
) -> list[str]:
    """One line per problem, each starting with the condition's key (its ``where``).

    ``target``: the label column, which the contract describes as read (e.g. Yes/No) but the
    validate stage replaces by 0/1 (data.positive_label) before any slice sees it.
    """
    columns = [str(c) for c in schema.columns]
    allowed = allowed_values(schema)
    ranges = numeric_ranges(schema)
    if target in columns:
        allowed[str(target)] = [0, 1]
        ranges.pop(str(target), None)
    problems: list[str] = []
    for predicate in slices.values():
        for cond in conditions(predicate):
            if cond.column in columns:
                problems += _category_problems(cond, allowed.get(cond.column))
                problems += _range_problems(cond, ranges.get(cond.column))
            elif schema.strict is not False:
                # A non-strict contract lets other columns through validation; whether the
                # data holds this one is then checked when the slice is computed.
                problems.append(f"{cond.where}.column: {column_problem(cond.column, columns)}")
    return list(dict.fromkeys(problems))  # one line per distinct problem, in params order


def _values(cond: Condition) -> Iterator[Any]:
    yield from cond.value if isinstance(cond.value, tuple) else (cond.value,)


def _category_problems(cond: Condition, allowed: list[Any] | None) -> list[str]:
    if allowed is None or cond.op not in CATEGORY_OPS:
        return []
    out = []
    for value in _values(cond):
        problem = value_problem(value, allowed)
        if problem:
            out.append(f"{cond.where}.value: column '{cond.column}': {value!r} {problem}")
    return out


def _range_problems(cond: Condition, interval: Interval | None) -> list[str]:
    if interval is None or cond.op not in RANGE_OPS:
        return []
    op = "==" if cond.op == "in" else cond.op
    allowed = f"the contract allows {interval.describe()}"
    return [
        f"{cond.where}.value: column '{cond.column}': "
        + (
            f"{value!r} is outside the range {allowed}"
            if op == "=="
            else f"no value in the range {allowed} is {op} {value!r}"
        )
        + ", so the condition never holds"
        for value in _values(cond)
        if is_number(value) and not interval.can_match(op, value)
    ]
