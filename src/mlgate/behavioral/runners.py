"""The four test types: each runner takes a Context and returns the test's Outcome."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlgate.behavioral.context import Context, Outcome, too_few, worst
from mlgate.behavioral.perturbations import constant, differs, finite_or_none, fmt, is_number, py
from mlgate.behavioral.spec import UNSEEN, BehavioralTest
from mlgate.errors import ArtifactError, DataError


def run_mft(ctx: Context) -> Outcome:
    test = ctx.test
    frame = _case_frame(ctx)
    scores = ctx.scorer.score(frame, what=f"the cases of {test.where}")
    ok = np.ones(len(frame), dtype=bool)
    violation = np.zeros(len(frame))
    bounds = []
    if test.score_above is not None:
        ok &= scores > test.score_above
        violation = np.maximum(violation, test.score_above - scores)
        bounds.append(f"score > {test.score_above:g}")
    if test.score_below is not None:
        ok &= scores < test.score_below
        violation = np.maximum(violation, scores - test.score_below)
        bounds.append(f"score < {test.score_below:g}")
    ok &= np.isfinite(scores)
    violation = np.where(np.isfinite(scores), violation, np.inf)
    n = len(frame)
    outcome = Outcome(rows_selected=n, rows_sampled=n, rows_tested=n, failures=int((~ok).sum()))
    outcome.extra = {
        "expect": " and ".join(bounds),
        "min_score": finite_or_none(np.nanmin(scores)) if np.isfinite(scores).any() else None,
        "max_score": finite_or_none(np.nanmax(scores)) if np.isfinite(scores).any() else None,
    }
    for i in worst(~ok, violation, ctx.max_examples):
        record = {**ctx.spec.base, **test.base, **test.cases[i]}
        case = ", ".join(f"{k}={fmt(v)}" for k, v in record.items())
        outcome.examples.append(
            ctx.example(
                row=int(i),
                row_id=None,
                changes=case,
                before=math.nan,
                after=float(scores[i]),
                expected=outcome.extra["expect"],
            )
        )
    return outcome


def _case_frame(ctx: Context) -> pd.DataFrame:
    """One row per case, with the holdout's columns and (where possible) dtypes."""
    holdout, test = ctx.holdout, ctx.test
    defaults = {**ctx.spec.base, **test.base}
    # The typical row is computed only for columns some case actually leaves open.
    typical = {
        c: _typical(holdout[c])
        for c in holdout.columns
        if c not in defaults and any(c not in case for case in test.cases)
    }
    records = [{**typical, **defaults, **case} for case in test.cases]
    frame = pd.DataFrame.from_records(records, columns=list(holdout.columns))
    for column in holdout.columns:
        target = holdout[column].dtype
        if frame[column].dtype == target:
            continue
        try:
            if pd.api.types.is_datetime64_any_dtype(target):
                frame[column] = pd.to_datetime(frame[column]).astype(target)
            else:
                frame[column] = frame[column].astype(target)
        except (ValueError, TypeError) as exc:
            if frame[column].isna().any():
                continue  # a null in an integer column: keep the widened dtype pandas chose
            raise DataError(
                f"{test.where}: values {frame[column].tolist()!r} for column '{column}' "
                f"do not fit its dtype {target} in the holdout ({exc})"
            ) from None
    return frame


def _typical(series: pd.Series) -> Any:
    values = series.dropna()
    if values.empty:
        return None
    if is_number(series.dtype):
        median = values.median()
        return int(round(median)) if pd.api.types.is_integer_dtype(series.dtype) else median
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return values.median()
    return values.mode().iloc[0]


def run_perturbation(ctx: Context) -> Outcome:
    test = ctx.test
    pos, selected, matched = ctx.select()
    outcome = Outcome(rows_selected=matched, rows_sampled=len(selected))
    if matched < ctx.min_rows:
        outcome.skip_reason = too_few(ctx, matched, "selects")
        return outcome
    perturbed = selected.copy(deep=False)
    for step in test.perturb:
        perturbed[step.column] = step.apply(perturbed[step.column], ctx.rng, test.where)
    columns = list(dict.fromkeys(p.column for p in test.perturb))
    changed = np.zeros(len(selected), dtype=bool)
    for column in columns:
        changed |= differs(selected[column], perturbed[column])
    outcome.rows_tested = int(changed.sum())
    if outcome.rows_tested < ctx.min_rows:
        outcome.skip_reason = too_few(ctx, outcome.rows_tested, "changes")
        return outcome
    all_scores = ctx.scorer.holdout_scores()
    before = all_scores if pos is None else all_scores[pos]
    after = np.full(len(selected), np.nan)
    changed_frame = perturbed if changed.all() else perturbed[changed]
    after[changed] = ctx.scorer.score(changed_frame, what=f"the perturbed rows of {test.where}")
    delta = after - before
    ok, violation, expected = _judge(test, delta)
    fail = changed & ~ok
    outcome.failures = int(fail.sum())
    d = delta[changed]
    outcome.extra = {
        "perturb": "; ".join(p.describe() for p in test.perturb),
        "mean_delta": finite_or_none(np.nanmean(d)),
        "max_abs_delta": finite_or_none(np.nanmax(np.abs(d))),
    }
    if test.type == "inv":
        outcome.extra["tolerance"] = test.tolerance
    else:
        outcome.extra.update(expect=test.expect, share_tied=finite_or_none(np.mean(d == 0)))
    take = worst(fail, violation, ctx.max_examples)
    ids = ctx.row_ids(selected, take)
    labels = selected.index[take]
    for k, i in enumerate(take):
        changes = "; ".join(
            f"{c}: {fmt(selected[c].iloc[i])} -> {fmt(perturbed[c].iloc[i])}" for c in columns
        )
        outcome.examples.append(
            ctx.example(
                row=py(labels[k]),
                row_id=ids[k],
                changes=changes,
                before=float(before[i]),
                after=float(after[i]),
                expected=expected,
            )
        )
    return outcome


def _judge(test: BehavioralTest, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Per-row pass mask, how badly each row misses (for ranking examples), and the rule text.

    NaN deltas fail every rule: comparisons with NaN are False, and their violation is inf.
    """
    if test.type == "inv":
        ok = np.abs(delta) <= test.tolerance
        violation = np.abs(delta) - test.tolerance
        text = f"|delta| <= {test.tolerance:g}"
    elif test.expect == "increase":
        ok = delta > test.min_delta
        violation = test.min_delta - delta
        text = f"delta > {test.min_delta:g}"
    elif test.expect == "decrease":
        ok = delta < -test.min_delta
        violation = delta + test.min_delta
        text = f"delta < -{test.min_delta:g}" if test.min_delta else "delta < 0"
    elif test.expect == "not_increase":
        ok = delta <= test.tolerance
        violation = delta - test.tolerance
        text = f"delta <= {test.tolerance:g}"
    else:
        ok = delta >= -test.tolerance
        violation = -test.tolerance - delta
        text = f"delta >= -{test.tolerance:g}" if test.tolerance else "delta >= 0"
    return ok, np.where(np.isnan(delta), np.inf, violation), text


def run_coverage(ctx: Context) -> Outcome:
    pos, selected, matched = ctx.select()
    outcome = Outcome(rows_selected=matched, rows_sampled=len(selected), rows_tested=len(selected))
    if matched < ctx.min_rows:
        outcome.skip_reason = too_few(ctx, matched, "selects")
        return outcome
    all_scores = ctx.scorer.holdout_scores()
    before = all_scores if pos is None else all_scores[pos]
    bad_before = ~_valid(before)
    after, stress_error, changes = _score_stressed(ctx, selected)
    if stress_error is not None:
        bad_after = np.ones(len(selected), dtype=bool)
    elif changes == "original row":
        bad_after = np.zeros(len(selected), dtype=bool)
    else:
        bad_after = ~_valid(after)
    fail = bad_before | bad_after
    outcome.failures = int(fail.sum())
    outcome.extra = {
        "invalid_scores": int(bad_before.sum()),
        "invalid_stressed_scores": int(bad_after.sum()) if stress_error is None else None,
        "stress": changes if changes != "original row" else None,
        "stress_error": stress_error,
    }
    if stress_error is not None:
        outcome.examples.append(
            ctx.example(
                row=None,
                row_id=None,
                changes=changes,
                before=math.nan,
                after=math.nan,
                expected=f"model scores the stressed copy; it raised {stress_error}",
            )
        )
        fail = bad_before
    take = worst(fail, np.zeros(len(selected)), ctx.max_examples - len(outcome.examples))
    ids = ctx.row_ids(selected, take)
    labels = selected.index[take]
    for k, i in enumerate(take):
        what = changes if bad_after[i] and not bad_before[i] else "original row"
        outcome.examples.append(
            ctx.example(
                row=py(labels[k]),
                row_id=ids[k],
                changes=what,
                before=float(before[i]),
                after=float(after[i]),
                expected="finite score in [0, 1]",
            )
        )
    return outcome


def _score_stressed(ctx: Context, selected: pd.DataFrame) -> tuple[np.ndarray, str | None, str]:
    """Scores of the stressed copy (NaN when nothing is stressed), the error the model raised
    on it (None if it scored), and the description of the stress."""
    test = ctx.test
    after = np.full(len(selected), np.nan)
    if not (test.unseen_categories or test.missing):
        return after, None, "original row"
    stressed = _stressed(selected, test)
    changes = "; ".join(
        [f"{c} -> {UNSEEN!r}" for c in test.unseen_categories]
        + [f"{c} -> missing" for c in test.missing]
    )
    try:
        after = ctx.scorer.score(stressed, what=f"the stressed copy of {test.where}")
    except ArtifactError as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        return after, f"{type(cause).__name__}: {cause}", changes
    return after, None, changes


def _stressed(selected: pd.DataFrame, test: BehavioralTest) -> pd.DataFrame:
    stressed = selected.copy(deep=False)
    for column in test.unseen_categories:
        kind = selected[column].dtype
        if is_number(kind) or pd.api.types.is_datetime64_any_dtype(kind):
            raise DataError(
                f"{test.where}: unseen_categories: column '{column}' has dtype {kind}; "
                f"unseen categories apply to text or categorical columns"
            )
        stressed[column] = constant(selected[column], UNSEEN, test.where)
    for column in test.missing:
        stressed[column] = constant(selected[column], None, test.where)
    return stressed


def _valid(scores: np.ndarray) -> np.ndarray:
    return np.isfinite(scores) & (scores >= 0.0) & (scores <= 1.0)


RUNNERS: dict[str, Callable[[Context], Outcome]] = {
    "mft": run_mft,
    "inv": run_perturbation,
    "dir": run_perturbation,
    "coverage": run_coverage,
}
