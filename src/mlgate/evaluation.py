"""Holdout and slice metrics, and the curve data DVC plots read.

Metric names carry their direction: ``*_auc``/``*_score`` higher is better, ``*_loss``/``*_error``
lower is better; the gate reads the direction from the name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from mlgate.metrics import (
    ScoreTable,
    UndefinedAucError,
    calibration_table,
    roc_auc_from_table,
    score_table,
    subset_order,
)
from mlgate.metrics.average_precision import table_average_precision
from mlgate.metrics.calibration import (
    table_brier_loss,
    table_calibration_error,
    table_log_loss,
    table_mean_score,
)
from mlgate.slices import Predicate

MAX_CURVE_POINTS = 500
MAX_CONFUSION_ROWS = 50_000


def _r(value: float) -> float:
    # Rounding to 10 significant digits keeps metric files byte-identical across BLAS builds
    # that differ in the last bits, while staying far below any difference the gate cares about.
    return float(f"{float(value):.10g}")


def _confusion(table: ScoreTable, threshold: float) -> dict[str, int]:
    """Counts of rows predicted positive (``score >= threshold``) or not, by label."""
    cut = int(np.searchsorted(table.scores, threshold, side="left"))  # first score >= it
    tp, fn = int(table.n_pos[cut:].sum()), int(table.n_pos[:cut].sum())
    fp, tn = int(table.n_neg[cut:].sum()), int(table.n_neg[:cut].sum())
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp}


def _threshold_scores(confusion: dict[str, int]) -> tuple[float, float, float]:
    tp, fp, fn = confusion["tp"], confusion["fp"], confusion["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def table_metrics(
    table: ScoreTable, *, threshold: float, confidence: float, calibration_bins: int
) -> dict[str, Any]:
    """Every headline metric of one model from the score table of its rows (raises
    UndefinedAucError with a single class or fewer than two of one).

    The one function both engines call: the local engine builds the table from arrays
    (:func:`holdout_metrics`), Spark from ``groupBy(score, label).count()``; the table does
    not depend on row order or partitioning, so neither do these figures.
    """
    auc = roc_auc_from_table(table, confidence=confidence)
    confusion = _confusion(table, threshold)
    precision, recall, f1 = _threshold_scores(confusion)
    return {
        "n": table.total,
        "n_positive": table.total_pos,
        "positive_rate": _r(table.total_pos / table.total),
        "roc_auc": _r(auc.auc),
        "roc_auc_ci_low": _r(auc.ci_low),
        "roc_auc_ci_high": _r(auc.ci_high),
        "roc_auc_std_error": _r(auc.std_error),
        "roc_auc_ci_clipped": auc.ci_clipped,
        "pr_auc": _r(table_average_precision(table)),
        "brier_loss": _r(table_brier_loss(table)),
        "log_loss": _r(table_log_loss(table)),
        "calibration_error": _r(table_calibration_error(table, n_bins=calibration_bins)),
        "mean_score": _r(table_mean_score(table)),
        "threshold": threshold,
        "precision_score": _r(precision),
        "recall_score": _r(recall),
        "f1_score": _r(f1),
        "confusion": confusion,
    }


def holdout_metrics(
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    threshold: float,
    confidence: float,
    calibration_bins: int,
    order: np.ndarray | None = None,
) -> dict[str, Any]:
    """Every headline metric of one model on one set of rows: :func:`table_metrics` of their
    score table. ``order``: ``np.argsort(y_score)`` if the caller has it (saves the sort)."""
    return table_metrics(
        score_table(y_true, y_score, order),
        threshold=threshold,
        confidence=confidence,
        calibration_bins=calibration_bins,
    )


def slice_metrics(
    frame: pd.DataFrame,
    y_true: np.ndarray,
    y_score: np.ndarray,
    slices: Mapping[str, Predicate],
    *,
    min_samples: int,
    threshold: float,
    confidence: float,
    calibration_bins: int,
    order: np.ndarray | None = None,
) -> dict[str, dict[str, Any]]:
    """Metrics per named slice; a slice too small or with one class is kept, marked skipped.
    ``order``: ``np.argsort(y_score)`` if the caller has it; one sort serves every slice."""
    y = np.asarray(y_true).astype(bool)
    if order is None:
        order = np.argsort(y_score)
    out: dict[str, dict[str, Any]] = {}
    for name, predicate in slices.items():
        mask = predicate.mask(frame)
        n, n_pos = int(mask.sum()), int(y[mask].sum())
        entry: dict[str, Any] = {"predicate": predicate.describe(), "n": n, "n_positive": n_pos}
        reason = slice_skip_reason(n, n_pos, min_samples)
        if reason is None:
            try:
                table = score_table(y[mask], y_score[mask], subset_order(order, mask))
                entry.update(
                    table_metrics(
                        table,
                        threshold=threshold,
                        confidence=confidence,
                        calibration_bins=calibration_bins,
                    )
                )
            except UndefinedAucError as exc:
                reason = str(exc)
        out[name] = mark_skipped(entry, reason)
    return out


def slice_skip_reason(n: int, n_pos: int, min_samples: int) -> str | None:
    """Why a slice of ``n`` rows, ``n_pos`` positive, gets no metrics (None: it gets them)."""
    if n < min_samples:
        return f"{n} rows < min_samples {min_samples}"
    if n_pos < 2 or n - n_pos < 2:
        return f"needs at least 2 of each class, has {n_pos} positive / {n - n_pos} negative"
    return None


def mark_skipped(entry: dict[str, Any], reason: str | None) -> dict[str, Any]:
    """``entry`` with ``skipped`` (and ``skip_reason`` when skipped), as slices.json holds it."""
    entry["skipped"] = reason is not None
    if reason is not None:
        entry["skip_reason"] = reason
    return entry


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    # Plot files stay small at any holdout size: keep evenly spaced points and both ends.
    if len(frame) <= MAX_CURVE_POINTS:
        return frame
    keep = np.unique(np.linspace(0, len(frame) - 1, MAX_CURVE_POINTS).round().astype(int))
    return frame.iloc[keep]


def curves(
    y_true: np.ndarray, y_score: np.ndarray, *, calibration_bins: int, threshold: float
) -> dict[str, pd.DataFrame]:
    """Data for the DVC plots: ROC, precision-recall, calibration, confusion counts."""
    y = np.asarray(y_true).astype(int)
    fpr, tpr, _ = roc_curve(y, y_score, drop_intermediate=True)
    precision, recall, _ = precision_recall_curve(y, y_score, drop_intermediate=True)
    calib = calibration_table(y, y_score, n_bins=calibration_bins)
    predicted = (np.asarray(y_score) >= threshold).astype(int)
    # DVC's confusion template counts one record per row; beyond MAX_CONFUSION_ROWS a seeded
    # sample keeps the file small (exact counts are in holdout.json under "confusion").
    rows = np.arange(y.size)
    if y.size > MAX_CONFUSION_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(y.size, MAX_CONFUSION_ROWS, replace=False))
    confusion = pd.DataFrame({"actual": y[rows], "predicted": predicted[rows]})
    return {
        "roc": _thin(pd.DataFrame({"fpr": fpr, "tpr": tpr})).round(6),
        "precision_recall": _thin(
            pd.DataFrame({"recall": recall[::-1], "precision": precision[::-1]})
        ).round(6),
        "calibration": calib[["mean_pred", "frac_pos", "n"]].round(6),
        "confusion": confusion,
    }
