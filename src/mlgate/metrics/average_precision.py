"""Average precision (area under the step-wise precision-recall curve), from one sort.

Same definition as ``sklearn.metrics.average_precision_score`` (no interpolation):
``AP = sum_k (R_k - R_{k-1}) * P_k`` over the distinct score thresholds in decreasing order,
tied scores forming one threshold. Computed here so that the holdout and every slice reuse the
argsort the DeLong estimates already need (:func:`mlgate.metrics.subset_order`), instead of
each call sorting again; scikit-learn is the oracle in the tests.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlgate.metrics.score_table import ScoreTable


def average_precision(
    y_true: NDArray[np.bool_], y_score: NDArray[np.float64], order: ArrayLike | None = None
) -> float:
    """AP of ``y_score`` for boolean labels with at least one positive; ``order`` is
    ``np.argsort(y_score)`` when the caller has it (unchecked: pass the real one)."""
    y = np.asarray(y_true, dtype=bool)
    score = np.asarray(y_score, dtype=np.float64)
    if y.shape != score.shape or y.ndim != 1 or not y.any():
        raise ValueError(
            "average precision needs 1-D labels and scores of equal length, and a positive"
        )
    descending = (np.argsort(score) if order is None else np.asarray(order))[::-1]
    s, hit = score[descending], y[descending]
    # the last position of each run of tied scores closes one threshold
    ends = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    true_pos = np.cumsum(hit)[ends]
    precision = true_pos / (ends + 1.0)
    recall = true_pos / true_pos[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def table_average_precision(table: ScoreTable) -> float:
    """AP from a score table (at least one positive): the same arrays, hence the same bits, as
    :func:`average_precision` on the rows - each distinct score is one threshold."""
    if table.total_pos < 1:
        raise ValueError("average precision needs at least one positive")
    # descending thresholds: positives and rows at or above each distinct score
    true_pos = np.cumsum(table.n_pos[::-1])
    seen = np.cumsum((table.n_pos + table.n_neg)[::-1])
    precision = true_pos / seen
    recall = true_pos / true_pos[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))
