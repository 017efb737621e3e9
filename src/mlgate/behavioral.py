"""Declarative behavioral tests for a scoring model (after CheckList, Ribeiro et al., ACL 2020).

A spec (YAML, user-editable; see contracts/behavioral.yaml) lists tests of four types:

* ``mft`` (minimum functionality): hand-written ``cases`` must score above and/or below a
  bound. A case is a *partial* record. Columns it leaves out come, in order of precedence,
  from the test's ``base``, the spec's top-level ``base``, and finally the holdout's typical
  row (median of numeric and date columns, most frequent value otherwise). The last step keeps
  specs short for wide tables; it means a case's unspecified columns follow the holdout, so
  write every column that matters to the expectation into the case or a ``base``.
* ``inv`` (invariance): ``perturb`` the selected rows; a row fails when the score moves by
  more than ``tolerance`` (absolute).
* ``dir`` (directional expectation): ``perturb`` the selected rows and compare
  ``delta = score_after - score_before`` with ``expect``:

  ============  ======================  ===============================================
  expect        a row passes when       ties (delta == 0)
  ============  ======================  ===============================================
  increase      delta >  min_delta      fail: the model ignored the change
  decrease      delta < -min_delta      fail
  not_increase  delta <=  tolerance     pass
  not_decrease  delta >= -tolerance     pass
  ============  ======================  ===============================================

  ``min_delta`` (required effect size) and ``tolerance`` (allowed slack) both default to 0.
* ``coverage``: scores on the selected rows, and on a stressed copy of them where the columns
  in ``unseen_categories`` hold a value never seen (``__mlgate_unseen__``) and the columns in
  ``missing`` are null, must be finite and within [0, 1]. A model that *raises* on the
  stressed copy fails the test (every row counts as failed, and the error is reported) instead
  of aborting the suite: that is the finding the test exists for.

Every test has ``threshold``, the largest failure rate that still passes (default 0), and
``rows``, a slice predicate (:mod:`mlgate.slices`) choosing holdout rows (default: all rows;
``mft`` has cases instead). Perturbations are declared, never code, and apply in list order::

    {set: {column: value}}            {map: {column: {old: new, ...}}}
    {add: {column: number}}           {multiply: {column: number}}
    {shuffle: column}                 {rekey: column}
    {add: {date_column: "-365 days"}}   (a duration, parsed by pandas.Timedelta)

``shuffle`` permutes the column among the selected rows with a generator seeded by the run's
seed and the test's name (so adding a test does not change another's outcome). ``rekey``
gives the column new unique values that occur nowhere in the selected rows.

Counting and skipping: only rows the perturbation actually changed are tested (a ``map``
leaves other values alone, a ``shuffle`` may put a value back in place), so ``rows_tested``
can be smaller than ``rows_selected``. A test with fewer than ``min_rows`` selected or tested
rows is *skipped* with the reason. A skipped test does not fail the suite (unless the spec
sets ``fail_on_skip: true``), but it is listed, and a suite in which no test ran at all does
not pass: no evidence is not a pass.

Sampling: a test whose rows select more than ``max_rows`` holdout rows runs on a sample of
``max_rows`` of them, drawn without replacement by the test's seeded generator and kept in
holdout order (``rows_selected`` counts every matching row, ``rows_sampled`` those tested).
A failure rate measured on 50,000 rows has a standard error below 0.23 percentage points,
far finer than any sensible threshold, and scoring every perturbed row of a million-row
holdout would cost minutes for no extra evidence. Below ``max_rows`` nothing is sampled.

Cost: the holdout is scored once and the result shared by every test; each inv/dir test then
makes one call for its changed rows, coverage one for its stressed copy, mft one for its
cases. No call is ever made per row.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import types
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlgate import scoring
from mlgate.errors import ArtifactError, DataError, MlgateError, ParamsError
from mlgate.slices import Predicate, describe_rows, parse_predicate, show_value

TEST_TYPES = ("mft", "inv", "dir", "coverage")
DIRECTIONS = ("increase", "decrease", "not_increase", "not_decrease")
PERTURBATIONS = ("set", "map", "add", "multiply", "shuffle", "rekey")
UNSEEN = "__mlgate_unseen__"
DEFAULT_MIN_ROWS = 30

_COMMON = ("name", "type", "description", "threshold")
_KEYS: dict[str, tuple[str, ...]] = {
    "mft": (*_COMMON, "cases", "base", "expect"),
    "inv": (*_COMMON, "rows", "min_rows", "perturb", "tolerance"),
    "dir": (*_COMMON, "rows", "min_rows", "perturb", "expect", "min_delta", "tolerance"),
    "coverage": (*_COMMON, "rows", "min_rows", "unseen_categories", "missing"),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "mft": ("cases", "expect"),
    "inv": ("perturb", "tolerance"),
    "dir": ("perturb", "expect"),
    "coverage": (),
}
_TOP_KEYS = ("min_rows", "base", "fail_on_skip", "tests")
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


# --------------------------------------------------------------------------- spec objects


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
            return f"set {self.column} = {_fmt(self.arg)}"
        if self.kind == "map":
            pairs = ", ".join(f"{_fmt(a)} -> {_fmt(b)}" for a, b in self.arg)
            return f"map {self.column}: {pairs}"
        if self.kind == "add":
            return f"add {_fmt(self.arg)} to {self.column}"
        if self.kind == "multiply":
            return f"multiply {self.column} by {_fmt(self.arg)}"
        return f"{self.kind} {self.column}"

    def apply(self, series: pd.Series, rng: np.random.Generator, where: str) -> pd.Series:
        """The perturbed column (a new Series with the same index)."""
        if self.kind == "set":
            return _constant(series, self.arg, where)
        if self.kind == "map":
            return _map(series, self.arg)
        if self.kind in ("add", "multiply"):
            return _arithmetic(series, self.kind, self.arg, where)
        if self.kind == "shuffle":
            perm = rng.permutation(len(series))
            return pd.Series(series.take(perm).array, index=series.index, name=series.name)
        return _rekey(series, rng, where)


@dataclass(frozen=True, kw_only=True)
class BehavioralTest:
    """One validated test. Fields that do not apply to ``type`` keep their defaults."""

    name: str
    type: str
    threshold: float = 0.0
    description: str = ""
    rows: Predicate | None = None
    min_rows: int | None = None
    # mft
    cases: tuple[Mapping[str, Any], ...] = ()
    base: Mapping[str, Any] = field(default_factory=lambda: types.MappingProxyType({}))
    score_above: float | None = None
    score_below: float | None = None
    # inv / dir
    perturb: tuple[Perturbation, ...] = ()
    tolerance: float = 0.0
    expect: str | None = None
    min_delta: float = 0.0
    # coverage
    unseen_categories: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    where: str = field(default="", compare=False, repr=False)

    def columns(self) -> dict[str, str]:
        """Column -> the key that reads it (to check a frame before doing any work)."""
        out: dict[str, str] = {}
        if self.rows is not None:
            out.update(dict.fromkeys(sorted(self.rows.columns()), "rows"))
        for p in self.perturb:
            out.setdefault(p.column, "perturb")
        for i, case in enumerate(self.cases):
            for c in case:
                out.setdefault(c, f"cases[{i}]")
        for c in self.base:
            out.setdefault(c, "base")
        for c in self.unseen_categories:
            out.setdefault(c, "unseen_categories")
        for c in self.missing:
            out.setdefault(c, "missing")
        return out


@dataclass(frozen=True)
class BehavioralSpec:
    tests: tuple[BehavioralTest, ...]
    min_rows: int = DEFAULT_MIN_ROWS
    base: Mapping[str, Any] = field(default_factory=lambda: types.MappingProxyType({}))
    fail_on_skip: bool = False
    source: str = "behavioral spec"


# --------------------------------------------------------------------------- loading


def load_spec(mapping: Any, *, source: str) -> BehavioralSpec:
    """Validate a parsed YAML spec; every error names ``source``, the test index and name.

    Example message: ``behavioral.yaml: tests[3] 'contract_dir': missing key 'expect'``.
    Column names are checked later, against the data, by :func:`run_suite`.
    """
    if not isinstance(mapping, Mapping):
        raise ParamsError(
            f"{source}: expected a mapping with a 'tests' list, got {show_value(mapping)}"
        )
    _reject_unknown(mapping, _TOP_KEYS, f"{source}: ")
    min_rows = _int(mapping.get("min_rows", DEFAULT_MIN_ROWS), f"{source}: min_rows", low=1)
    base = _record(mapping.get("base", {}), f"{source}: base")
    fail_on_skip = mapping.get("fail_on_skip", False)
    if not isinstance(fail_on_skip, bool):
        raise ParamsError(
            f"{source}: fail_on_skip: expected true or false, got {show_value(fail_on_skip)}"
        )
    raw_tests = mapping.get("tests")
    if not isinstance(raw_tests, list) or not raw_tests:
        raise ParamsError(
            f"{source}: tests: expected a non-empty list of tests, got {show_value(raw_tests)}"
        )
    tests: list[BehavioralTest] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_tests):
        test = _load_test(raw, f"{source}: tests[{i}]")
        if test.name in seen:
            raise ParamsError(
                f"{test.where}: duplicate name; tests[{seen[test.name]}] already uses it"
            )
        seen[test.name] = i
        tests.append(test)
    return BehavioralSpec(
        tests=tuple(tests),
        min_rows=min_rows,
        base=types.MappingProxyType(base),
        fail_on_skip=fail_on_skip,
        source=source,
    )


def _load_test(raw: Any, at: str) -> BehavioralTest:
    if not isinstance(raw, Mapping):
        raise ParamsError(f"{at}: expected a mapping with name and type, got {show_value(raw)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ParamsError(f"{at}: missing key 'name' (a non-empty string)")
    where = f"{at} '{name}'"
    kind = raw.get("type")
    if kind not in TEST_TYPES:
        raise ParamsError(
            f"{where}: type: expected one of {', '.join(TEST_TYPES)}, got {show_value(kind)}"
        )
    _reject_unknown(raw, _KEYS[kind], f"{where}: ", what=f" for a {kind} test")
    for key in _REQUIRED[kind]:
        if key not in raw:
            raise ParamsError(f"{where}: missing key '{key}'")
    fields: dict[str, Any] = {
        "name": name,
        "type": kind,
        "where": where,
        "threshold": _unit(raw.get("threshold", 0.0), f"{where}: threshold"),
    }
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ParamsError(
            f"{where}: description: expected a string, got {show_value(description)}"
        )
    fields["description"] = description
    if raw.get("rows") is not None:
        fields["rows"] = parse_predicate(raw["rows"], where=f"{where}: rows")
    if "min_rows" in raw:
        fields["min_rows"] = _int(raw["min_rows"], f"{where}: min_rows", low=1)
    if kind == "mft":
        fields.update(_load_mft(raw, where))
    elif kind in ("inv", "dir"):
        fields["perturb"] = _load_perturb(raw["perturb"], f"{where}: perturb")
        if kind == "inv":
            fields["tolerance"] = _nonneg(raw["tolerance"], f"{where}: tolerance")
        else:
            fields.update(_load_dir(raw, where))
    else:
        fields.update(_load_coverage(raw, where))
    return BehavioralTest(**fields)


def _load_mft(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    cases = raw["cases"]
    if not isinstance(cases, list) or not cases:
        raise ParamsError(
            f"{where}: cases: expected a non-empty list of records, got {show_value(cases)}"
        )
    records = tuple(
        types.MappingProxyType(_record(c, f"{where}: cases[{i}]")) for i, c in enumerate(cases)
    )
    expect = raw["expect"]
    if not isinstance(expect, Mapping) or not expect:
        raise ParamsError(
            f"{where}: expect: expected {{score_above: x}} and/or {{score_below: x}}, "
            f"got {show_value(expect)}"
        )
    _reject_unknown(expect, ("score_above", "score_below"), f"{where}: expect: ")
    above = expect.get("score_above")
    below = expect.get("score_below")
    above = None if above is None else _unit(above, f"{where}: expect.score_above")
    below = None if below is None else _unit(below, f"{where}: expect.score_below")
    if above is not None and below is not None and above >= below:
        raise ParamsError(
            f"{where}: expect: score_above ({above}) must be smaller than score_below ({below})"
        )
    return {
        "cases": records,
        "base": types.MappingProxyType(_record(raw.get("base", {}), f"{where}: base")),
        "score_above": above,
        "score_below": below,
    }


def _load_dir(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    expect = raw["expect"]
    if expect not in DIRECTIONS:
        raise ParamsError(
            f"{where}: expect: expected one of {', '.join(DIRECTIONS)}, got {show_value(expect)}"
        )
    strict = expect in ("increase", "decrease")
    if strict and "tolerance" in raw:
        raise ParamsError(
            f"{where}: tolerance applies to not_increase / not_decrease; "
            f"use min_delta (required effect size) with '{expect}'"
        )
    if not strict and "min_delta" in raw:
        raise ParamsError(
            f"{where}: min_delta applies to increase / decrease; "
            f"use tolerance (allowed slack) with '{expect}'"
        )
    return {
        "expect": expect,
        "min_delta": _nonneg(raw.get("min_delta", 0.0), f"{where}: min_delta"),
        "tolerance": _nonneg(raw.get("tolerance", 0.0), f"{where}: tolerance"),
    }


def _load_coverage(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    unseen = _columns_list(raw.get("unseen_categories", []), f"{where}: unseen_categories")
    missing = _columns_list(raw.get("missing", []), f"{where}: missing")
    both = sorted(set(unseen) & set(missing))
    if both:
        raise ParamsError(
            f"{where}: column '{both[0]}' is in both unseen_categories and missing; "
            f"the stressed copy can hold only one of them"
        )
    return {"unseen_categories": unseen, "missing": missing}


def _load_perturb(raw: Any, where: str) -> tuple[Perturbation, ...]:
    steps = raw if isinstance(raw, list) else [raw]
    if not steps:
        raise ParamsError(f"{where}: expected at least one perturbation")
    out: list[Perturbation] = []
    for i, step in enumerate(steps):
        at = f"{where}[{i}]" if isinstance(raw, list) else where
        if not isinstance(step, Mapping) or len(step) != 1:
            raise ParamsError(
                f"{at}: expected a mapping with exactly one of {', '.join(PERTURBATIONS)}, "
                f"got {show_value(step)}"
            )
        ((kind, arg),) = step.items()
        if kind not in PERTURBATIONS:
            raise ParamsError(
                f"{at}: unknown perturbation {kind!r}; expected one of {', '.join(PERTURBATIONS)}"
            )
        out.extend(_load_step(kind, arg, f"{at}.{kind}"))
    return tuple(out)


def _load_step(kind: str, arg: Any, at: str) -> list[Perturbation]:
    if kind in ("shuffle", "rekey"):
        if not isinstance(arg, str) or not arg:
            raise ParamsError(f"{at}: expected a column name, got {show_value(arg)}")
        return [Perturbation(kind, arg)]
    if not isinstance(arg, Mapping) or not arg:
        raise ParamsError(f"{at}: expected a mapping of column -> value, got {show_value(arg)}")
    out = []
    for column, value in arg.items():
        if not isinstance(column, str) or not column:
            raise ParamsError(f"{at}: expected column names as keys, got {show_value(column)}")
        key = f"{at}.{column}"
        if kind == "set":
            out.append(Perturbation(kind, column, _scalar(value, key, allow_null=True)))
        elif kind == "map":
            if not isinstance(value, Mapping) or not value:
                raise ParamsError(
                    f"{key}: expected a mapping of old -> new value, got {show_value(value)}"
                )
            pairs = tuple(
                (
                    _scalar(old, key, allow_null=False),
                    _scalar(new, f"{key}.{old}", allow_null=True),
                )
                for old, new in value.items()
            )
            out.append(Perturbation(kind, column, pairs))
        elif kind == "add" and isinstance(value, str):
            out.append(Perturbation(kind, column, _duration(value, key)))
        else:
            out.append(Perturbation(kind, column, _number(value, key)))
    return out


def _duration(value: str, where: str) -> pd.Timedelta:
    try:
        return pd.Timedelta(value)
    except (TypeError, ValueError) as exc:
        raise ParamsError(
            f"{where}: expected a number, or a duration such as '-365 days' for a date "
            f"column, got {value!r} ({exc})"
        ) from None


# --------------------------------------------------------------------------- running


@dataclass
class _Outcome:
    rows_selected: int
    rows_sampled: int = 0
    rows_tested: int = 0
    failures: int = 0
    skip_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)


class _Scorer:
    """All model calls go through here: one place to check the output and to cache."""

    def __init__(self, model: Any, holdout: pd.DataFrame) -> None:
        if not callable(getattr(model, "predict_proba", None)):
            raise ArtifactError(
                f"the model ({type(model).__name__}) has no predict_proba method; "
                f"expected a fitted classifier or pipeline"
            )
        self.model = model
        self.holdout = holdout
        self._holdout_scores: np.ndarray | None = None

    def holdout_scores(self) -> np.ndarray:
        if self._holdout_scores is None:
            self._holdout_scores = self.score(self.holdout, what="the holdout")
        return self._holdout_scores

    def score(self, frame: pd.DataFrame, *, what: str) -> np.ndarray:
        try:
            # The model's predict_proba, bit for bit, without sklearn's per-call overhead and
            # with a boosted model's trees as tables on large frames (mlgate.scoring).
            proba = scoring.predict_proba(self.model, frame)
        except MlgateError:
            raise  # mlgate's own (e.g. a bad MLGATE_FAST_SCORING), not the model's failure
        except Exception as exc:
            raise ArtifactError(
                f"the model cannot score {what} ({len(frame)} rows): predict_proba raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        try:
            arr = np.asarray(proba, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ArtifactError(
                f"predict_proba on {what} returned {type(proba).__name__}, not numbers: {exc}"
            ) from exc
        if arr.ndim != 2 or arr.shape[0] != len(frame) or arr.shape[1] < 2:
            raise ArtifactError(
                f"predict_proba on {what} returned shape {arr.shape}; expected "
                f"({len(frame)}, 2) with column 1 the positive-class probability"
            )
        return arr[:, 1].copy()


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
    scorer = _Scorer(model, holdout_df)
    results: list[dict[str, Any]] = []
    examples: list[dict[str, Any]] = []
    for test in spec.tests:
        ctx = _Context(
            holdout=holdout_df,
            scorer=scorer,
            spec=spec,
            test=test,
            rng=np.random.default_rng([seed, zlib.crc32(test.name.encode())]),
            max_examples=max_examples,
            id_column=id_column,
            max_rows=max_rows,
        )
        outcome = _RUNNERS[test.type](ctx)
        results.append(_result(test, outcome))
        examples.extend(outcome.examples)
    return _summary(results, spec), _examples_frame(examples)


@dataclass
class _Context:
    holdout: pd.DataFrame
    scorer: _Scorer
    spec: BehavioralSpec
    test: BehavioralTest
    rng: np.random.Generator
    max_examples: int
    id_column: str | None
    max_rows: int

    @property
    def min_rows(self) -> int:
        return self.test.min_rows if self.test.min_rows is not None else self.spec.min_rows

    def select(self) -> tuple[np.ndarray | None, pd.DataFrame, int]:
        """Positions of the rows to test (None = all), their frame, and how many rows matched.

        More matches than ``max_rows``: a seeded sample of ``max_rows``, in holdout order.
        """
        n = len(self.holdout)
        pos = None if self.test.rows is None else np.flatnonzero(self.test.rows.mask(self.holdout))
        matched = n if pos is None else len(pos)
        if self.max_rows and matched > self.max_rows:
            pool = np.arange(n) if pos is None else pos
            pos = np.sort(self.rng.choice(pool, self.max_rows, replace=False))
        return pos, (self.holdout if pos is None else self.holdout.iloc[pos]), matched

    def example(
        self, *, row: Any, row_id: Any, changes: str, before: float, after: float, expected: str
    ) -> dict[str, Any]:
        return {
            "test": self.test.name,
            "type": self.test.type,
            "row": row,
            "row_id": row_id,
            "changes": changes,
            "score_before": before,
            "score_after": after,
            "delta": after - before,
            "expected": expected,
        }

    def row_ids(self, frame: pd.DataFrame, take: np.ndarray) -> list[Any]:
        if self.id_column is None:
            return [None] * len(take)
        return [_py(v) for v in frame[self.id_column].to_numpy()[take]]


def _run_mft(ctx: _Context) -> _Outcome:
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
    outcome = _Outcome(rows_selected=n, rows_sampled=n, rows_tested=n, failures=int((~ok).sum()))
    outcome.extra = {
        "expect": " and ".join(bounds),
        "min_score": _float(np.nanmin(scores)) if np.isfinite(scores).any() else None,
        "max_score": _float(np.nanmax(scores)) if np.isfinite(scores).any() else None,
    }
    for i in _worst(~ok, violation, ctx.max_examples):
        record = {**ctx.spec.base, **test.base, **test.cases[i]}
        case = ", ".join(f"{k}={_fmt(v)}" for k, v in record.items())
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


def _case_frame(ctx: _Context) -> pd.DataFrame:
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
    if _is_number(series.dtype):
        median = values.median()
        return int(round(median)) if pd.api.types.is_integer_dtype(series.dtype) else median
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return values.median()
    return values.mode().iloc[0]


def _run_perturbation(ctx: _Context) -> _Outcome:
    test = ctx.test
    pos, selected, matched = ctx.select()
    outcome = _Outcome(rows_selected=matched, rows_sampled=len(selected))
    if matched < ctx.min_rows:
        outcome.skip_reason = _too_few(ctx, matched, "selects")
        return outcome
    perturbed = selected.copy(deep=False)
    for step in test.perturb:
        perturbed[step.column] = step.apply(perturbed[step.column], ctx.rng, test.where)
    columns = list(dict.fromkeys(p.column for p in test.perturb))
    changed = np.zeros(len(selected), dtype=bool)
    for column in columns:
        changed |= _differs(selected[column], perturbed[column])
    outcome.rows_tested = int(changed.sum())
    if outcome.rows_tested < ctx.min_rows:
        outcome.skip_reason = _too_few(ctx, outcome.rows_tested, "changes")
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
        "mean_delta": _float(np.nanmean(d)),
        "max_abs_delta": _float(np.nanmax(np.abs(d))),
    }
    if test.type == "inv":
        outcome.extra["tolerance"] = test.tolerance
    else:
        outcome.extra.update(expect=test.expect, share_tied=_float(np.mean(d == 0)))
    take = _worst(fail, violation, ctx.max_examples)
    ids = ctx.row_ids(selected, take)
    labels = selected.index[take]
    for k, i in enumerate(take):
        changes = "; ".join(
            f"{c}: {_fmt(selected[c].iloc[i])} -> {_fmt(perturbed[c].iloc[i])}" for c in columns
        )
        outcome.examples.append(
            ctx.example(
                row=_py(labels[k]),
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


def _run_coverage(ctx: _Context) -> _Outcome:
    test = ctx.test
    pos, selected, matched = ctx.select()
    outcome = _Outcome(
        rows_selected=matched, rows_sampled=len(selected), rows_tested=len(selected)
    )
    if matched < ctx.min_rows:
        outcome.skip_reason = _too_few(ctx, matched, "selects")
        return outcome
    all_scores = ctx.scorer.holdout_scores()
    before = all_scores if pos is None else all_scores[pos]
    bad_before = ~_valid(before)
    bad_after = np.zeros(len(selected), dtype=bool)
    after = np.full(len(selected), np.nan)
    stress_error = None
    changes = "original row"
    if test.unseen_categories or test.missing:
        stressed = _stressed(selected, test)
        changes = "; ".join(
            [f"{c} -> {UNSEEN!r}" for c in test.unseen_categories]
            + [f"{c} -> missing" for c in test.missing]
        )
        try:
            after = ctx.scorer.score(stressed, what=f"the stressed copy of {test.where}")
        except ArtifactError as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            stress_error = f"{type(cause).__name__}: {cause}"
        bad_after = np.ones(len(selected), dtype=bool) if stress_error else ~_valid(after)
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
    take = _worst(fail, np.zeros(len(selected)), ctx.max_examples - len(outcome.examples))
    ids = ctx.row_ids(selected, take)
    labels = selected.index[take]
    for k, i in enumerate(take):
        what = changes if bad_after[i] and not bad_before[i] else "original row"
        outcome.examples.append(
            ctx.example(
                row=_py(labels[k]),
                row_id=ids[k],
                changes=what,
                before=float(before[i]),
                after=float(after[i]),
                expected="finite score in [0, 1]",
            )
        )
    return outcome


def _stressed(selected: pd.DataFrame, test: BehavioralTest) -> pd.DataFrame:
    stressed = selected.copy(deep=False)
    for column in test.unseen_categories:
        kind = selected[column].dtype
        if _is_number(kind) or pd.api.types.is_datetime64_any_dtype(kind):
            raise DataError(
                f"{test.where}: unseen_categories: column '{column}' has dtype {kind}; "
                f"unseen categories apply to text or categorical columns"
            )
        stressed[column] = _constant(selected[column], UNSEEN, test.where)
    for column in test.missing:
        stressed[column] = _constant(selected[column], None, test.where)
    return stressed


def _valid(scores: np.ndarray) -> np.ndarray:
    return np.isfinite(scores) & (scores >= 0.0) & (scores <= 1.0)


_RUNNERS: dict[str, Callable[[_Context], _Outcome]] = {
    "mft": _run_mft,
    "inv": _run_perturbation,
    "dir": _run_perturbation,
    "coverage": _run_coverage,
}


def _too_few(ctx: _Context, n: int, verb: str) -> str:
    rows = describe_rows(ctx.test.rows)
    if verb == "selects":
        return (
            f"rows ({rows}) select {n} of {len(ctx.holdout)} holdout rows; "
            f"min_rows is {ctx.min_rows}"
        )
    return (
        f"the perturbation changes {n} of the selected rows ({rows}); min_rows is {ctx.min_rows}"
    )


def _worst(fail: np.ndarray, violation: np.ndarray, limit: int) -> np.ndarray:
    """Positions of up to ``limit`` failing rows, largest violation first (stable)."""
    idx = np.flatnonzero(fail)
    if limit <= 0 or idx.size == 0:
        return idx[:0]
    order = np.argsort(-violation[idx], kind="stable")
    return idx[order[:limit]]


def _result(test: BehavioralTest, outcome: _Outcome) -> dict[str, Any]:
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


# --------------------------------------------------------------------------- column operations


def _is_number(dtype: Any) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _constant(series: pd.Series, value: Any, where: str) -> pd.Series:
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
    if _is_number(dtype) and _is_number(out.dtype):
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
    if not _is_number(series.dtype):
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
    if _is_number(series.dtype):
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


def _differs(before: pd.Series, after: pd.Series) -> np.ndarray:
    """Row-wise 'value changed', treating two nulls as equal."""
    if isinstance(before.dtype, pd.CategoricalDtype) or isinstance(
        after.dtype, pd.CategoricalDtype
    ):
        before, after = before.astype(object), after.astype(object)
    same = before.eq(after).to_numpy(dtype=bool, na_value=False)
    both_null = before.isna().to_numpy() & after.isna().to_numpy()
    return ~(same | both_null)


# --------------------------------------------------------------------------- small helpers


def _reject_unknown(
    raw: Mapping[Any, Any], allowed: tuple[str, ...], prefix: str, what: str = ""
) -> None:
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = (
                f"did you mean '{close[0]}'?" if close else f"expected one of {', '.join(allowed)}"
            )
            raise ParamsError(f"{prefix}unknown key '{key}'{what}; {hint}")


def _record(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ParamsError(f"{where}: expected a mapping of column -> value, got {show_value(raw)}")
    out = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key:
            raise ParamsError(f"{where}: expected column names as keys, got {show_value(key)}")
        out[key] = _scalar(value, f"{where}.{key}", allow_null=True)
    return out


def _scalar(value: Any, where: str, *, allow_null: bool) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        if allow_null:
            return None
        raise ParamsError(f"{where}: expected a value, got null")
    if isinstance(value, float) and math.isnan(value):
        if allow_null:
            return None
        raise ParamsError(f"{where}: expected a value, got NaN")
    if isinstance(value, str | bool | int | float) or hasattr(value, "isoformat"):
        return value
    raise ParamsError(f"{where}: expected a single value, got {show_value(value)}")


def _number(value: Any, where: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        hint = ""
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                float(value)
                # PyYAML follows YAML 1.1, where 1e-9 (no dot) is a string, not a number.
                hint = " (YAML reads exponents without a dot as text: write e.g. 1.0e-9)"
        raise ParamsError(f"{where}: expected a finite number, got {show_value(value)}{hint}")
    return value


def _nonneg(value: Any, where: str) -> float:
    number = _number(value, where)
    if number < 0:
        raise ParamsError(f"{where}: expected a number >= 0, got {number!r}")
    return float(number)


def _unit(value: Any, where: str) -> float:
    number = _number(value, where)
    if not 0.0 <= number <= 1.0:
        raise ParamsError(f"{where}: expected a number in [0, 1], got {number!r}")
    return float(number)


def _int(value: Any, where: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ParamsError(f"{where}: expected an integer >= {low}, got {show_value(value)}")
    return value


def _columns_list(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(c, str) and c for c in raw):
        raise ParamsError(f"{where}: expected a list of column names, got {show_value(raw)}")
    return tuple(dict.fromkeys(raw))


def _float(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _py(value: Any) -> Any:
    """numpy / pandas scalars -> plain Python, so examples serialise anywhere."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, pd.Timedelta):
        return str(value)
    value = _py(value)
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)
