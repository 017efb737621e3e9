"""The DVC plot data (ROC, precision-recall, calibration, confusion) from per-score counts.

The same points as :func:`mlgate.evaluation.curves` draws from rows: ROC and PR follow
scikit-learn's ``roc_curve``/``precision_recall_curve`` (cumulative counts at each distinct
threshold, the same ``drop_intermediate`` rule, then thinned); calibration uses the reliability
bins of :func:`mlgate.metrics.calibration_table`. Only the confusion records differ: they are
rebuilt from the four counts instead of a seeded sample of rows (same proportions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlgate.evaluation import MAX_CONFUSION_ROWS, _thin
from mlgate.spark.counts import Counts


def _cumulative(counts: Counts) -> tuple[np.ndarray, np.ndarray]:
    """(false positives, true positives) at each distinct score, from the highest down."""
    scores, labels, n = counts
    distinct, at = np.unique(scores, return_inverse=True)
    pos = np.bincount(at, weights=np.where(labels, n, 0), minlength=distinct.size)[::-1]
    neg = np.bincount(at, weights=np.where(labels, 0, n), minlength=distinct.size)[::-1]
    return np.cumsum(neg), np.cumsum(pos)


def _roc(fps: np.ndarray, tps: np.ndarray) -> pd.DataFrame:
    if fps.size > 2:
        keep = np.flatnonzero(
            np.concatenate([[True], (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0), [True]])
        )
        fps, tps = fps[keep], tps[keep]
    fps, tps = np.concatenate([[0.0], fps]), np.concatenate([[0.0], tps])
    return pd.DataFrame({"fpr": fps / fps[-1], "tpr": tps / tps[-1]})


def _precision_recall(fps: np.ndarray, tps: np.ndarray) -> pd.DataFrame:
    if fps.size > 2:
        keep = np.flatnonzero(
            np.concatenate([[True], (np.diff(tps[:-1]) != 0) | (np.diff(tps[1:]) != 0), [True]])
        )
        fps, tps = fps[keep], tps[keep]
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
    recall = tps / tps[-1]
    # ascending recall, ending where scikit-learn's reversed curve ends: (recall 0, precision 1)
    return pd.DataFrame(
        {
            "recall": np.concatenate([[0.0], recall]),
            "precision": np.concatenate([[1.0], precision]),
        }
    )


def _calibration(counts: Counts, n_bins: int) -> pd.DataFrame:
    scores, labels, n = counts
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], scores)  # bin k is (e_k, e_k+1], as calibration_table
    rows = np.bincount(bins, weights=n, minlength=n_bins)
    sum_pred = np.bincount(bins, weights=scores * n, minlength=n_bins)
    sum_pos = np.bincount(bins, weights=np.where(labels, n, 0), minlength=n_bins)
    keep = rows > 0
    return pd.DataFrame(
        {
            "mean_pred": sum_pred[keep] / rows[keep],
            "frac_pos": sum_pos[keep] / rows[keep],
            "n": rows[keep].astype(np.int64),
        }
    )


def _confusion(counts: Counts, threshold: float) -> pd.DataFrame:
    scores, labels, n = counts
    cells = [(int(a), int(p)) for a in (0, 1) for p in (0, 1)]
    sizes = np.array(
        [int(n[(labels == bool(a)) & ((scores >= threshold) == bool(p))].sum()) for a, p in cells]
    )
    total = int(sizes.sum())
    if total > MAX_CONFUSION_ROWS:  # the same proportions in MAX_CONFUSION_ROWS records
        scaled = sizes * MAX_CONFUSION_ROWS / total
        sizes = np.floor(scaled).astype(np.int64)
        short = MAX_CONFUSION_ROWS - int(sizes.sum())
        sizes[np.argsort(-(scaled - sizes), kind="stable")[:short]] += 1
    actual = np.repeat([a for a, _ in cells], sizes)
    predicted = np.repeat([p for _, p in cells], sizes)
    return pd.DataFrame({"actual": actual, "predicted": predicted})


def table_curves(
    counts: Counts, *, calibration_bins: int, threshold: float
) -> dict[str, pd.DataFrame]:
    """The four plot tables of :func:`mlgate.evaluation.curves`, from one slice's counts."""
    fps, tps = _cumulative(counts)
    return {
        "roc": _thin(_roc(fps, tps)).round(6),
        "precision_recall": _thin(_precision_recall(fps, tps)).round(6),
        "calibration": _calibration(counts, calibration_bins).round(6),
        "confusion": _confusion(counts, threshold),
    }
