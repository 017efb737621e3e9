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
The stage hands the suite at most ``behavioral.max_holdout_rows`` holdout rows (an id-hash
sample above that, recorded as ``holdout_rows`` in behavioral.json), so "every matching row"
means every matching row of those.
A failure rate measured on 50,000 rows has a standard error below 0.23 percentage points,
far finer than any sensible threshold, and scoring every perturbed row of a million-row
holdout would cost minutes for no extra evidence. Below ``max_rows`` nothing is sampled.

Cost: the holdout is scored once and the result shared by every test; each inv/dir test then
makes one call for its changed rows, coverage one for its stressed copy, mft one for its
cases. No call is ever made per row.

Modules: ``spec`` (objects and loading), ``contract`` (the spec against the data contract),
``perturbations`` (column changes), ``context`` (scorer, row selection, outcome), ``runners``
(one per test type), ``suite`` (run a spec, summarise).
"""

from __future__ import annotations

from mlgate.behavioral.spec import (
    DEFAULT_MIN_ROWS,
    DIRECTIONS,
    PERTURBATIONS,
    TEST_TYPES,
    UNSEEN,
    BehavioralSpec,
    BehavioralTest,
    Perturbation,
    load_spec,
)
from mlgate.behavioral.suite import EXAMPLE_COLUMNS, run_suite

__all__ = [
    "DEFAULT_MIN_ROWS",
    "DIRECTIONS",
    "EXAMPLE_COLUMNS",
    "PERTURBATIONS",
    "TEST_TYPES",
    "UNSEEN",
    "BehavioralSpec",
    "BehavioralTest",
    "Perturbation",
    "load_spec",
    "run_suite",
]
