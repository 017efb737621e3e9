"""Average precision (area under the step-wise precision-recall curve), from a score table.

Same definition as ``sklearn.metrics.average_precision_score`` (no interpolation):
``AP = sum_k (R_k - R_{k-1}) * P_k`` over the distinct score thresholds in decreasing order,
tied scores forming one threshold - exactly the distinct scores of a
:class:`~mlgate.metrics.score_table.ScoreTable`, so the table holds all AP needs; scikit-learn
is the oracle in the tests.
"""

from __future__ import annotations

import numpy as np

from mlgate.metrics.score_table import ScoreTable


def table_average_precision(table: ScoreTable) -> float:
    """AP of the rows behind ``table`` (at least one positive); each distinct score is one
    threshold, summed in a fixed order (the table's), so the bits do not depend on the rows'."""
    if table.total_pos < 1:
        raise ValueError("average precision needs at least one positive")
    # descending thresholds: positives and rows at or above each distinct score
    true_pos = np.cumsum(table.n_pos[::-1])
    seen = np.cumsum((table.n_pos + table.n_neg)[::-1])
    precision = true_pos / seen
    recall = true_pos / true_pos[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))
