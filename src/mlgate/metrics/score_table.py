"""The score table: every metric of one model on a set of rows, reduced to exact counts.

Each distinct score ``s`` (ascending) carries ``n_pos(s)`` and ``n_neg(s)``, the positive and
negative rows that scored exactly ``s``. Every holdout metric is a function of this table alone
(ROC AUC and its DeLong variance, average precision, Brier and log loss, the calibration error
on equal-width bins, the confusion at a threshold), so an engine only has to count rows per
(score, label) - e.g. Spark's ``groupBy(score, label).count()`` - and one driver-side function
(:func:`mlgate.evaluation.table_metrics`) turns the table into metrics. The table does not
depend on the order or partitioning of the rows, and neither do the metrics: local and
distributed evaluation give the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlgate.metrics.checks import (
    as_binary_labels,
    as_finite_scores,
    check_same_length,
    checked_order,
)

__all__ = ["ScoreTable", "score_table", "table_from_counts", "table_k_values"]


@dataclass(frozen=True, eq=False)
class ScoreTable:
    """Per-score label counts: ``scores`` float64, finite, strictly ascending; ``n_pos`` and
    ``n_neg`` int64 counts of the rows with that score (each score has at least one row).

    Checked on construction (O(distinct scores)); ``==`` compares the arrays bit for bit.
    """

    scores: NDArray[np.float64]
    n_pos: NDArray[np.int64]
    n_neg: NDArray[np.int64]

    def __post_init__(self) -> None:
        s, pos, neg = self.scores, self.n_pos, self.n_neg
        for name, arr, dtype in (("scores", s, np.float64), ("n_pos", pos, np.int64)):
            if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != 1:
                raise ValueError(f"ScoreTable.{name} must be a 1-D {dtype.__name__} array")
        if not isinstance(neg, np.ndarray) or neg.dtype != np.int64 or neg.shape != s.shape:
            raise ValueError("ScoreTable.n_neg must be an int64 array as long as scores")
        if pos.shape != s.shape:
            raise ValueError("ScoreTable.n_pos must be as long as scores")
        if not np.all(np.isfinite(s)) or not np.all(s[1:] > s[:-1]):
            raise ValueError("ScoreTable.scores must be finite and strictly ascending")
        if np.any(pos < 0) or np.any(neg < 0) or np.any(pos + neg < 1):
            raise ValueError("ScoreTable counts must be >= 0 with at least one row per score")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScoreTable):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, f), getattr(other, f))
            for f in ("scores", "n_pos", "n_neg")
        )

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside

    @property
    def total_pos(self) -> int:
        return int(self.n_pos.sum())

    @property
    def total_neg(self) -> int:
        return int(self.n_neg.sum())

    @property
    def total(self) -> int:
        return self.total_pos + self.total_neg


def _runs(sorted_scores: NDArray[np.float64]) -> NDArray[np.bool_]:
    """True at the first row of each run of equal values in a sorted array."""
    starts = np.empty(sorted_scores.shape[0], dtype=np.bool_)
    starts[:1] = True
    np.not_equal(sorted_scores[1:], sorted_scores[:-1], out=starts[1:])
    return starts


def _from_sorted(
    sorted_scores: NDArray[np.float64], pos: NDArray[np.int64], neg: NDArray[np.int64]
) -> tuple[ScoreTable, NDArray[np.bool_]]:
    """The table of rows sorted by score, with per-row positive and negative counts; and the
    run starts (True at the first row of each distinct score)."""
    starts_mask = _runs(sorted_scores)
    starts = np.flatnonzero(starts_mask)
    # + 0.0 turns -0.0 into 0.0: equal scores, one representation in every engine
    scores = sorted_scores[starts] + 0.0
    if starts.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return ScoreTable(scores, empty, empty.copy()), starts_mask
    n_pos = np.add.reduceat(pos, starts).astype(np.int64, copy=False)
    n_neg = np.add.reduceat(neg, starts).astype(np.int64, copy=False)
    return ScoreTable(scores, n_pos, n_neg), starts_mask


def _sorted_rows(
    y_true: ArrayLike, y_score: ArrayLike, order: ArrayLike | None, name: str = "y_score"
) -> tuple[NDArray[np.bool_], NDArray[np.intp], ScoreTable, NDArray[np.bool_]]:
    """Validated labels, the sort order, the table and its run starts (in sorted order)."""
    y = as_binary_labels(y_true)
    score = as_finite_scores(y_score, name)
    check_same_length(y, score, name)
    order = checked_order(score, order)
    sorted_y = y[order].astype(np.int64)
    table, starts_mask = _from_sorted(score[order], sorted_y, 1 - sorted_y)
    return y, order, table, starts_mask


def score_table(
    y_true: ArrayLike, y_score: ArrayLike, order: ArrayLike | None = None
) -> ScoreTable:
    """The score table of rows: labels bool or 0/1 (1 = positive), finite scores; ``order`` is
    ``np.argsort(y_score)`` if the caller has it (checked, O(N)). ``ValueError`` on malformed
    input (empty, lengths differ, labels not binary, NaN/inf scores)."""
    return _sorted_rows(y_true, y_score, order)[2]


def table_and_rows(
    y_true: ArrayLike, y_score: ArrayLike, order: ArrayLike | None = None, *, name: str = "y_score"
) -> tuple[ScoreTable, NDArray[np.bool_], NDArray[np.intp]]:
    """As :func:`score_table`, plus the labels as bool and, for each row in input order, the
    index of its score in the table (what an engine's join by score gives). ``name``: the
    scores' name in error messages."""
    y, order, table, starts_mask = _sorted_rows(y_true, y_score, order, name)
    row_index = np.empty(y.shape[0], dtype=np.intp)
    row_index[order] = np.cumsum(starts_mask) - 1
    return table, y, row_index


def _as_counts(counts: ArrayLike) -> NDArray[np.int64]:
    arr = np.asarray(counts)
    if arr.dtype.kind == "f":
        whole = np.isfinite(arr) & (arr == np.round(arr)) & (np.abs(arr) < 2.0**63)
        if not whole.all():
            first = int(np.flatnonzero(~whole)[0])
            raise ValueError(
                f"counts must be whole numbers; found {arr[first].item()!r} at index {first}"
            )
    elif arr.dtype.kind not in "iu" and arr.size:
        raise ValueError(f"counts must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    low = arr < 1
    if low.any():
        first = int(np.flatnonzero(low)[0])
        raise ValueError(
            f"counts must be >= 1 (a row per count); found {int(low.sum())} value(s) below 1, "
            f"first {arr[first].item()!r} at index {first}"
        )
    return arr


def table_from_counts(scores: ArrayLike, labels: ArrayLike, counts: ArrayLike) -> ScoreTable:
    """The score table from (score, label, count) rows in any order, duplicates allowed: e.g. a
    Spark ``groupBy(score, label).count()`` collected to the driver, or partial counts of
    several partitions concatenated. Labels bool or 0/1 (1 = positive); counts whole numbers
    >= 1. No rows give an empty table. ``ValueError`` names the first bad value and its index.
    """
    s, lab, n = (np.asarray(v) for v in (scores, labels, counts))
    if s.ndim != 1 or lab.shape != s.shape or n.shape != s.shape:
        raise ValueError(
            "scores, labels and counts must be 1-D and of one length, got shapes "
            f"{s.shape}, {lab.shape}, {n.shape}"
        )
    if s.size == 0:
        return _from_sorted(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))[0]
    s = as_finite_scores(s, "scores")
    positive = as_binary_labels(lab, "labels")
    n = _as_counts(n)
    order = np.argsort(s)
    pos = np.where(positive, n, 0)[order]
    return _from_sorted(s[order], pos, np.where(positive, 0, n)[order])[0]


def table_k_values(table: ScoreTable) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """DeLong's doubled components per distinct score, ``(k10, k01)``, int64.

    A positive scoring ``s`` has ``k10(s) = 2 * (negatives below s) + (negatives at s)``: its
    ``V10 = k10 / (2n)``. A negative scoring ``s`` has ``k01(s) = 2 * (positives above s) +
    (positives at s)``: its ``V01 = k01 / (2m)``. A row's component is the value at its score,
    so an engine joins these arrays to its rows by score for the paired test's cross sums.
    """
    neg_upto = np.cumsum(table.n_neg)
    pos_upto = np.cumsum(table.n_pos)
    k10 = 2 * (neg_upto - table.n_neg) + table.n_neg
    total_pos = pos_upto[-1] if pos_upto.size else 0
    k01 = 2 * (total_pos - pos_upto) + table.n_pos
    return k10, k01
