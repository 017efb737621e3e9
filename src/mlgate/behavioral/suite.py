"""Run a whole spec: check its columns, run each test with its own seeded generator, and
summarise (a suite in which no test ran does not pass).
"""

from __future__ import annotations

import difflib
import zlib
from typing import Any

import numpy as np
import pandas as pd

from mlgate.behavioral.context import Context, Outcome, Scorer
from mlgate.behavioral.runners import RUNNERS
from mlgate.behavioral.spec import BehavioralSpec, BehavioralTest
from mlgate.errors import DataError, ParamsError
from mlgate.slices import describe_rows

EXAMPLE_COLUMNS = (
    "test",
    "type",
    "row",
    "row_id",
    "changes",
    "score_before",
    "score_after",
    "delta",
    "expected",
)


def run_suite(
    model: Any,
    holdout_df: pd.DataFrame,
    spec: BehavioralSpec,
    *,
    seed: int,
    max_examples: int = 20,
    id_column: str | None = None,
    max_rows: int = 0,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Run every test of ``spec`` against ``model`` on ``holdout_df``.

    Returns ``(summary, examples)``. ``summary`` is JSON-ready: ``passed``, ``n_tests``,
    ``n_passed``, ``n_failed``, ``n_skipped``, ``reason`` (why the suite failed, or None) and
    ``tests``, one dict per test with ``name, type, description, rows, rows_selected,
    rows_sampled, rows_tested, failures, failure_rate, threshold, passed, skipped,
    skip_reason`` plus figures specific to the type; ``rows_sampled`` is how many selected rows
    remain after sampling down to ``max_rows`` (0 = no sampling; see the module docstring).
    A skipped test has ``passed: None``. ``examples`` holds up to
    ``max_examples`` failing rows per test, worst first, with the columns in
    :data:`EXAMPLE_COLUMNS`; ``row`` is the holdout index label (the case number for mft) and
    ``row_id`` the value of ``id_column`` when given.

    Raises :class:`DataError` when the holdout lacks a column the spec names, and
    :class:`ArtifactError` when the model cannot score the holdout or returns a wrong shape.
    """
    if max_examples < 0:
        raise ValueError(f"max_examples must be >= 0, got {max_examples!r}")
    if max_rows and max_rows < spec.min_rows:
        raise ParamsError(
            f"behavioral.max_rows is {max_rows}, below the spec's min_rows {spec.min_rows}: "
            "every sampled test would be skipped; raise max_rows (0 = no sampling)"
        )
    if id_column is not None and id_column not in holdout_df.columns:
        raise DataError(f"id_column '{id_column}' is not a column of the holdout data")
    _check_columns(spec, holdout_df)
    scorer = Scorer(model, holdout_df)
    results: list[dict[str, Any]] = []
    examples: list[dict[str, Any]] = []
    for test in spec.tests:
        ctx = Context(
            holdout=holdout_df,
            scorer=scorer,
            spec=spec,
            test=test,
            rng=np.random.default_rng([seed, zlib.crc32(test.name.encode())]),
            max_examples=max_examples,
            id_column=id_column,
            max_rows=max_rows,
        )
        outcome = RUNNERS[test.type](ctx)
        results.append(_result(test, outcome))
        examples.extend(outcome.examples)
    return _summary(results, spec), _examples_frame(examples)


def _result(test: BehavioralTest, outcome: Outcome) -> dict[str, Any]:
    skipped = outcome.skip_reason is not None
    rate = None if skipped or outcome.rows_tested == 0 else outcome.failures / outcome.rows_tested
    return {
        "name": test.name,
        "type": test.type,
        "description": test.description,
        "rows": "cases" if test.type == "mft" else describe_rows(test.rows),
        "rows_selected": outcome.rows_selected,
        "rows_sampled": outcome.rows_sampled,
        "rows_tested": outcome.rows_tested,
        "failures": outcome.failures,
        "failure_rate": rate,
        "threshold": test.threshold,
        "passed": None if skipped else bool(rate is not None and rate <= test.threshold),
        "skipped": skipped,
        "skip_reason": outcome.skip_reason,
        **outcome.extra,
    }


def _summary(results: list[dict[str, Any]], spec: BehavioralSpec) -> dict[str, Any]:
    ran = [r for r in results if not r["skipped"]]
    failed = [r["name"] for r in ran if not r["passed"]]
    skipped = [r["name"] for r in results if r["skipped"]]
    reason = None
    if failed:
        reason = f"failed: {', '.join(failed)}"
    elif not ran:
        reason = "every test was skipped; no evidence is not a pass"
    elif skipped and spec.fail_on_skip:
        reason = f"skipped with fail_on_skip: {', '.join(skipped)}"
    return {
        "passed": reason is None,
        "reason": reason,
        "n_tests": len(results),
        "n_passed": len(ran) - len(failed),
        "n_failed": len(failed),
        "n_skipped": len(skipped),
        "min_rows": spec.min_rows,
        "fail_on_skip": spec.fail_on_skip,
        "tests": results,
    }


def _examples_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for column in EXAMPLE_COLUMNS:
        values = [r[column] for r in rows]
        if column in ("score_before", "score_after", "delta"):
            data[column] = pd.array(values, dtype="float64")
        elif column in ("row", "row_id"):
            # Parquet needs one type per column: integer labels stay integers (nullable),
            # anything else becomes text.
            present = [v for v in values if v is not None]
            if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
                data[column] = pd.array(values, dtype="Int64")
            else:
                data[column] = pd.array(
                    [None if v is None else str(v) for v in values], dtype="str"
                )
        else:
            data[column] = pd.array(values, dtype="str")
    return pd.DataFrame(data)


def _check_columns(spec: BehavioralSpec, holdout: pd.DataFrame) -> None:
    """Fail before any scoring if a test names a column the holdout does not have."""
    present = set(holdout.columns)
    for column in spec.base:
        if column not in present:
            raise DataError(f"{spec.source}: base: column '{column}' is not in the holdout data")
    for test in spec.tests:
        for column, key in test.columns().items():
            if column not in present:
                close = difflib.get_close_matches(column, [str(c) for c in present], n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise DataError(
                    f"{test.where}: {key}: column '{column}' is not in the holdout data{hint}"
                )
