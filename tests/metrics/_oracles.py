"""Slow, obvious reference implementations the fast statistics are checked against."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def psi_matrix(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """psi(X_i, Y_j) for every (positive i, negative j) pair: 1 if X > Y, 0.5 if equal."""
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=float)
    pos, neg = score[y], score[~y]
    psi = np.empty((pos.size, neg.size))
    for i, x in enumerate(pos):  # the O(mn) double loop of STATISTICS.md, kept literal
        for j, v in enumerate(neg):
            psi[i, j] = 1.0 if x > v else (0.5 if x == v else 0.0)
    return psi


def auc_double_loop(y: np.ndarray, score: np.ndarray) -> float:
    return float(psi_matrix(y, score).mean())


def components_double_loop(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components straight from the definition (positives/negatives in
    input order)."""
    psi = psi_matrix(y, score)
    return psi.mean(axis=1), psi.mean(axis=0)


def delong_variance_double_loop(y: np.ndarray, score: np.ndarray) -> float:
    v10, v01 = components_double_loop(y, score)
    return float(np.var(v10, ddof=1) / v10.size + np.var(v01, ddof=1) / v01.size)


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) row indices drawn with replacement; seeded so every test is reproducible."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def bootstrap_aucs(y: np.ndarray, score: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """AUC of every resample (rows of ``idx``) by the rank-sum (Mann-Whitney) formula with
    midranks, vectorised over replicates. Replicates missing a class give NaN."""
    y_b = np.asarray(y, dtype=bool)[idx]
    ranks = rankdata(np.asarray(score, dtype=float)[idx], method="average", axis=1)
    m = y_b.sum(axis=1)
    n = y_b.shape[1] - m
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(y_b, ranks, 0.0).sum(axis=1) - m * (m + 1) / 2.0) / (m * n)


def percentile_width(replicates: np.ndarray, confidence: float = 0.95) -> float:
    tail = (1.0 - confidence) / 2.0 * 100.0
    lo, hi = np.nanpercentile(replicates, [tail, 100.0 - tail])
    return float(hi - lo)
