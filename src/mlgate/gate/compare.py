"""Candidate and champion scored on the same holdout rows: the paired DeLong test overall and
per slice, and every metric of both models (the evidence the champion rules judge).

Comparisons with the champion are *paired*: both models are scored on the candidate's holdout
rows, so the shared sampling noise cancels (DeLong's paired test).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlgate.champion import Champion
from mlgate.evaluation import holdout_metrics
from mlgate.gate.checks import Missing
from mlgate.metrics import (
    PairedAucResult,
    UndefinedAucError,
    delong_paired,
    roc_auc_delong,
    subset_order,
)
from mlgate.slices import Predicate


@dataclass(frozen=True)
class SliceComparison:
    n: int
    paired: PairedAucResult | None
    skip_reason: str | None = None
    # The champion's own DeLong SE in the slice: decides whether the slice may block.
    champion_se: float | None = None


@dataclass(frozen=True)
class Comparison:
    """Candidate and champion scored on the same holdout rows."""

    paired: PairedAucResult
    candidate: dict[str, Any]
    champion: dict[str, Any]
    slices: dict[str, SliceComparison] = field(default_factory=dict)
    # Where the champion's scores came from: its committed predictions or a re-scoring (why).
    champion_scores: str = "re-scored"


@dataclass(frozen=True)
class ChampionEvidence:
    champion: Champion
    committed_metrics: dict[str, Any] | Missing
    comparison: Comparison | Missing


Scored = tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]


def too_few(n: int, n_pos: int, min_samples: int) -> str | None:
    """Why a slice of ``n`` rows, ``n_pos`` positive, gets no paired test (None: it gets one)."""
    if n < min_samples or n_pos < 2 or n - n_pos < 2:
        return f"{n} rows, {n_pos} positive: too few"
    return None


def _slice(
    mask: np.ndarray, scored: Scored, min_samples: int, confidence: float
) -> SliceComparison:
    """The paired test on the rows of ``mask``; ``scored``: labels, both models' scores and
    their sort orders over the whole holdout."""
    y, candidate, champion, orders = scored
    n, n_pos = int(mask.sum()), int(y[mask].sum())
    if (reason := too_few(n, n_pos, min_samples)) is not None:
        return SliceComparison(n, None, reason)
    champion_order = subset_order(orders[1], mask)
    try:
        paired = delong_paired(
            y[mask],
            candidate[mask],
            champion[mask],
            confidence=confidence,
            presorted=(subset_order(orders[0], mask), champion_order),
        )
        alone = roc_auc_delong(y[mask], champion[mask], presorted=champion_order)
    except UndefinedAucError as exc:
        return SliceComparison(n, None, str(exc))
    return SliceComparison(n, paired, champion_se=alone.std_error)


def compare(
    frame: pd.DataFrame,
    y_true: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    slices: Mapping[str, Predicate],
    *,
    min_samples: int,
    confidence: float,
    threshold: float,
    calibration_bins: int,
    champion_scores: str = "re-scored",
) -> Comparison:
    """Paired DeLong test overall and per slice, plus every metric of both on the same rows."""
    y = np.asarray(y_true).astype(bool)
    options: dict[str, Any] = {
        "threshold": threshold,
        "confidence": confidence,
        "calibration_bins": calibration_bins,
    }

    # The pieces are independent and mostly numpy gathers and sorts, which release the GIL:
    # two threads share them (1e6 rows: 0.9 s -> 0.55 s). Each result is what it would be alone.
    with ThreadPoolExecutor(2) as pool:
        # One sort per model serves the whole holdout and every slice (subset_order).
        sorts = [pool.submit(np.argsort, scores) for scores in (candidate, champion)]
        orders = sorts[0].result(), sorts[1].result()
        overall = pool.submit(
            delong_paired, y, candidate, champion, confidence=confidence, presorted=orders
        )
        metrics = [
            pool.submit(holdout_metrics, y, scores, **options, order=order)
            for scores, order in ((candidate, orders[0]), (champion, orders[1]))
        ]
        scored = (y, candidate, champion, orders)

        def one_slice(predicate: Predicate) -> SliceComparison:
            return _slice(predicate.mask(frame), scored, min_samples, confidence)

        per_slice = dict(zip(slices, pool.map(one_slice, slices.values()), strict=True))
        return Comparison(
            paired=overall.result(),
            candidate=metrics[0].result(),
            champion=metrics[1].result(),
            slices=per_slice,
            champion_scores=champion_scores,
        )


def nonfinite(scores: np.ndarray, who: str) -> Missing | None:
    """A model that cannot score every row cannot be compared: say which and how many."""
    bad = int(np.count_nonzero(~np.isfinite(scores)))
    if not bad:
        return None
    return Missing(f"{who}: {bad} of {scores.size} holdout scores are NaN or infinite")
