"""Probabilistic losses and calibration error for a binary model's predicted P(y = 1).

A model can rank well (high AUC) and still give probabilities nobody should act on; these
metrics catch that. Names carry their direction: every function here is lower-is-better.

Binning convention (both ``expected_calibration_error`` and ``calibration_table``): bin edges
``e_0 < ... < e_B`` are equal-width on [0, 1] (``strategy="uniform"``) or the quantiles of
``y_prob`` (``strategy="quantile"``, equal mass); bin k is ``(e_k, e_k+1]`` and the first bin
also takes ``e_0``. That is exactly the binning of ``sklearn.calibration.calibration_curve``, so
a plot drawn from :func:`calibration_table` and sklearn's curve agree point for point. Empty bins
(always possible with quantile edges on tied probabilities) are left out, because their mean
prediction is undefined; ``bin`` keeps the original bin number so the gap stays visible.
"""

from __future__ import annotations

import numbers
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from mlgate.metrics.checks import as_binary_labels, as_finite_scores, check_same_length
from mlgate.metrics.score_table import ScoreTable

__all__ = [
    "brier_loss",
    "calibration_table",
    "expected_calibration_error",
    "log_loss",
    "table_brier_loss",
    "table_calibration_error",
    "table_log_loss",
    "table_mean_score",
]

Strategy = Literal["uniform", "quantile"]


def _validate(
    y_true: ArrayLike, y_prob: ArrayLike
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    y = as_binary_labels(y_true)
    p = as_finite_scores(y_prob, "y_prob")
    check_same_length(y, p, "y_prob")
    outside = (p < 0.0) | (p > 1.0)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"y_prob must be probabilities in [0, 1]; found {int(outside.sum())} value(s) "
            f"outside, first {p[first].item()!r} at index {first}"
        )
    return y, p


def brier_loss(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Mean squared error of the predicted probability: ``mean((p - y)^2)``, in [0, 1]."""
    y, p = _validate(y_true, y_prob)
    return float(np.mean((p - y) ** 2))


def log_loss(y_true: ArrayLike, y_prob: ArrayLike, *, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood ``-mean(y ln p + (1 - y) ln(1 - p))``.

    ``p`` is clipped to ``[eps, 1 - eps]`` first, so one confident mistake costs at most
    ``-ln(eps)`` (about 34.5 for the default) instead of infinity; ``eps`` must be in (0, 0.5).
    (scikit-learn >= 1.5 clips at the float's machine epsilon instead, so the two agree
    whenever no probability is closer than ``eps`` to 0 or 1.)
    """
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0.0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps!r}")
    y, p = _validate(y_true, y_prob)
    # clip p and 1 - p separately: 1 - eps is not exact in floating point, but 1 - p is exact
    # for p >= 0.5, so a confident miss costs exactly -ln(eps) on either side
    log_p = np.log(np.clip(p, eps, 1.0 - eps))
    log_not_p = np.log(np.clip(1.0 - p, eps, 1.0 - eps))
    return float(-np.mean(np.where(y, log_p, log_not_p)))


def _bin_stats(
    y: NDArray[np.bool_], p: NDArray[np.float64], n_bins: int, strategy: str
) -> pd.DataFrame:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "quantile":
        edges = np.percentile(p, np.linspace(0.0, 100.0, n_bins + 1))
    else:
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    bin_ids = np.searchsorted(edges[1:-1], p)  # side="left": bin k is (e_k, e_k+1]
    count = np.bincount(bin_ids, minlength=n_bins)
    sum_pred = np.bincount(bin_ids, weights=p, minlength=n_bins)
    sum_pos = np.bincount(bin_ids, weights=y.astype(np.float64), minlength=n_bins)
    keep = count > 0
    return pd.DataFrame(
        {
            "bin": np.arange(n_bins)[keep],
            "bin_lower": edges[:-1][keep],
            "bin_upper": edges[1:][keep],
            "n": count[keep],
            "mean_pred": sum_pred[keep] / count[keep],
            "frac_pos": sum_pos[keep] / count[keep],
        }
    )


def calibration_table(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 10,
    strategy: Strategy = "uniform",
) -> pd.DataFrame:
    """Reliability-diagram data: one row per non-empty bin.

    Columns: ``bin`` (0-based bin number), ``bin_lower``/``bin_upper`` (edges), ``n`` (rows in
    the bin), ``mean_pred`` (mean predicted probability), ``frac_pos`` (observed share of
    positives). A calibrated model has ``frac_pos ~= mean_pred``. Binning: see the module doc.
    """
    y, p = _validate(y_true, y_prob)
    return _bin_stats(y, p, n_bins, strategy)


def expected_calibration_error(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 10,
    strategy: Strategy = "uniform",
) -> float:
    """ECE = sum over bins of ``(n_b / N) * |frac_pos_b - mean_pred_b|``, in [0, 1].

    ``strategy="uniform"`` uses equal-width bins, ``"quantile"`` equal-mass bins (see the module
    doc); both are in use, so reports should name the one they show. ECE depends on the
    binning and is biased upwards on small samples (each bin's ``frac_pos`` is noisy).
    """
    y, p = _validate(y_true, y_prob)
    table = _bin_stats(y, p, n_bins, strategy)
    gaps = np.abs(table["frac_pos"].to_numpy() - table["mean_pred"].to_numpy())
    return float(np.sum(table["n"].to_numpy() * gaps) / p.shape[0])


# --------------------------------------------------------------------------- from a score table
# The same definitions on per-score counts: a score's rows are equal terms, so each distinct
# score contributes count * term, summed in ascending score order (a fixed order: the same
# bits whatever the order or partitioning of the rows behind the table).


def _check_table(table: ScoreTable) -> None:
    if table.total < 1:
        raise ValueError("the score table is empty; expected at least one row")
    s = table.scores
    if s[0] < 0.0 or s[-1] > 1.0:
        bad = s[0] if s[0] < 0.0 else s[-1]
        raise ValueError(
            f"y_prob must be probabilities in [0, 1]; found the score {bad.item()!r} outside"
        )


def table_brier_loss(table: ScoreTable) -> float:
    """:func:`brier_loss` of the rows behind ``table``."""
    _check_table(table)
    s = table.scores
    return float(np.sum(table.n_pos * (s - 1.0) ** 2 + table.n_neg * s**2) / table.total)


def table_log_loss(table: ScoreTable, *, eps: float = 1e-15) -> float:
    """:func:`log_loss` of the rows behind ``table`` (same clipping)."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0.0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps!r}")
    _check_table(table)
    log_p = np.log(np.clip(table.scores, eps, 1.0 - eps))
    log_not_p = np.log(np.clip(1.0 - table.scores, eps, 1.0 - eps))
    return float(-(np.sum(table.n_pos * log_p + table.n_neg * log_not_p) / table.total))


def table_mean_score(table: ScoreTable) -> float:
    """Mean predicted probability of the rows behind ``table``."""
    _check_table(table)
    return float(np.sum(table.scores * (table.n_pos + table.n_neg)) / table.total)


def table_calibration_error(table: ScoreTable, *, n_bins: int = 10) -> float:
    """:func:`expected_calibration_error` (uniform bins) of the rows behind ``table``.

    Bins are equal-width on the score, so all rows of one score fall in one bin and the
    per-bin counts are exact sums of the table's counts.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    _check_table(table)
    s, rows = table.scores, table.n_pos + table.n_neg
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bin_ids = np.searchsorted(edges[1:-1], s)  # side="left": bin k is (e_k, e_k+1]
    # scores ascend, so bins are runs of the table: exact integer counts from cumulative sums
    bounds = np.searchsorted(bin_ids, np.arange(n_bins + 1))
    cum_rows = np.concatenate([[0], np.cumsum(rows)])
    cum_pos = np.concatenate([[0], np.cumsum(table.n_pos)])
    count = cum_rows[bounds[1:]] - cum_rows[bounds[:-1]]
    sum_pos = cum_pos[bounds[1:]] - cum_pos[bounds[:-1]]
    sum_pred = np.bincount(bin_ids, weights=s * rows, minlength=n_bins)
    keep = count > 0
    gaps = np.abs(sum_pos[keep] / count[keep] - sum_pred[keep] / count[keep])
    return float(np.sum(count[keep] * gaps) / table.total)
