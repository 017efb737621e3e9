"""Check a behavioral spec against the data contract before any model is scored.

A perturbation that sets a category the data never holds (``set: {contract: Two-year}`` where
the data says ``Two year``) changes nothing the model has learned to read: the test passes
for the wrong reason. So every column a test names must be a contract column, and every
value named for a column the contract restricts with ``isin`` (a ``set`` or ``map`` value, a
``rows`` condition, an MFT case or ``base``) must be one it allows. ``coverage`` tests'
unseen categories are deliberately outside the contract and are not values in the spec.

All problems are collected in one pass and raised together, each with its test and key and,
where one is close, a did-you-mean.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mlgate.behavioral.spec import BehavioralSpec, BehavioralTest
from mlgate.data.contract_values import allowed_values, column_problem, value_problem
from mlgate.errors import ParamsError
from mlgate.slices import Condition, conditions

if TYPE_CHECKING:
    import pandera.pandas as pa

__all__ = ["allowed_values", "check_spec", "spec_problems"]


def check_spec(spec: BehavioralSpec, schema: pa.DataFrameSchema, *, contract: str) -> None:
    """Raise ParamsError listing every problem of ``spec`` against the contract, if any."""
    problems = spec_problems(spec, schema)
    if problems:
        lines = "\n  ".join(problems)
        raise ParamsError(
            f"{spec.source}: {len(problems)} problem(s) against the contract {contract}:\n"
            f"  {lines}"
        )


def spec_problems(spec: BehavioralSpec, schema: pa.DataFrameSchema) -> list[str]:
    columns = [str(c) for c in schema.columns]
    allowed = allowed_values(schema)
    problems: list[str] = []
    for where, column, value in _spec_values(spec):
        if column not in columns:
            problems.append(f"{where}: {column_problem(column, columns)}")
        elif value is not _NO_VALUE and value is not None and column in allowed:
            problem = value_problem(value, allowed[column])
            if problem:
                problems.append(f"{where}: {column} = {value!r} {problem}")
    return list(dict.fromkeys(problems))  # one line per distinct problem, in spec order


_NO_VALUE = object()  # a column named without a value (shuffle, rekey, coverage, arithmetic)


def _spec_values(spec: BehavioralSpec) -> Iterator[tuple[str, str, Any]]:
    """(where, column, value) for every column the spec names, in spec order."""
    for column, value in spec.base.items():
        yield f"{spec.source}: base", column, value
    for test in spec.tests:
        yield from _test_values(test)


def _test_values(test: BehavioralTest) -> Iterator[tuple[str, str, Any]]:
    where = test.where
    if test.rows is not None:
        for cond in conditions(test.rows):
            values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
            for value in values:
                yield f"{where}: rows", cond.column, _category(cond, value)
    for p in test.perturb:
        if p.kind == "set":
            yield f"{where}: perturb.set", p.column, p.arg
        elif p.kind == "map":
            for old, new in p.arg:
                yield f"{where}: perturb.map", p.column, old
                yield f"{where}: perturb.map", p.column, new
        else:
            yield f"{where}: perturb.{p.kind}", p.column, _NO_VALUE
    for i, case in enumerate(test.cases):
        for column, value in case.items():
            yield f"{where}: cases[{i}]", column, value
    for column, value in test.base.items():
        yield f"{where}: base", column, value
    for column in (*test.unseen_categories, *test.missing):
        yield f"{where}: coverage", column, _NO_VALUE


def _category(cond: Condition, value: Any) -> Any:
    # Only equality and membership name categories; `<` on a category column is not a value
    # the data must hold, and the null tests name none.
    return value if cond.op in ("==", "!=", "in", "not_in") else _NO_VALUE
