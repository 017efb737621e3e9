"""The same holdout rows in another order give the same decision, to the last bit.

The gate compares two models on one holdout; nothing about the rows' order is evidence. Every
figure (AUCs, their difference, DeLong variances, p values, losses) must therefore be a function
of the multiset of (label, score, slice) rows: the tests permute the rows and compare the
decision and the metrics byte for byte (exact float equality, then the JSON the stages write).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlgate.champion import Champion
from mlgate.evaluation import holdout_metrics, slice_metrics
from mlgate.gate.compare import ChampionEvidence, compare
from mlgate.gate.decision import decide
from mlgate.io import dumps_json
from mlgate.metrics import delong_paired, roc_auc_delong
from mlgate.params import GateParams
from mlgate.slices import parse_slices

CHAMP = Champion(ref="churn-model#prod#1", commit="a" * 40, source="gto", version="v0.0.1")
SLICES = parse_slices(
    {
        "seg_x": {"column": "segment", "op": "==", "value": "x"},
        "seg_y": {"column": "segment", "op": "==", "value": "y"},
    },
    where="evaluate.slices",
)


def _rows(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"segment": rng.choice(["x", "y"], size=n, p=[0.7, 0.3])})
    signal = rng.normal(size=n)
    y = (signal + rng.normal(size=n) > 0.8).astype(int)
    # rounded scores: many ties, within and across classes, as real models give
    candidate = np.round(1 / (1 + np.exp(-(signal + rng.normal(scale=0.7, size=n)))), 3)
    return frame, y, candidate


def _equal_auc_champion(y: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Another model with exactly the candidate's AUC but another ranking of the rows: the
    scores of positives are shuffled among positives (the same multiset, so the same U)."""
    champion = candidate.copy()
    pos = np.flatnonzero(y == 1)
    champion[pos] = np.random.default_rng(7).permutation(candidate[pos])
    return champion


def _decision(frame, y, candidate, champion, earlier: int = 0) -> dict:
    comparison = compare(
        frame,
        y,
        candidate,
        champion,
        SLICES,
        min_samples=30,
        confidence=0.95,
        threshold=0.5,
        calibration_bins=10,
    )
    return decide(
        GateParams(min_delta=0.0, non_inferiority={"brier_loss": 0.01, "log_loss": 0.05}),
        validation={"passed": True},
        holdout={"roc_auc": 0.9},
        slices={"slices": {}},
        behavioral={"passed": True, "tests": []},
        stale=[],
        champion=ChampionEvidence(CHAMP, {"roc_auc": 0.8}, comparison),
        serving={},
    )


def test_equal_aucs_give_a_difference_of_exactly_zero_in_every_row_order():
    frame, y, candidate = _rows()
    champion = _equal_auc_champion(y, candidate)
    rng = np.random.default_rng(1)
    for _ in range(20):
        perm = rng.permutation(y.size)
        r = delong_paired(y[perm], candidate[perm], champion[perm])
        # exactly 0 (and +0.0), with a positive variance: the models do rank rows differently
        assert r.diff == 0.0 and str(r.diff) == "0.0" and r.variance > 0
        assert r.auc_a == r.auc_b


def test_permuted_holdout_gives_a_byte_identical_decision():
    frame, y, candidate = _rows()
    for champion in (_equal_auc_champion(y, candidate), np.round(candidate**1.3 * 0.9, 2)):
        reference = _decision(frame, y, candidate, champion)
        rng = np.random.default_rng(2)
        for _ in range(10):
            perm = rng.permutation(y.size)
            permuted = _decision(
                frame.iloc[perm].reset_index(drop=True), y[perm], candidate[perm], champion[perm]
            )
            assert permuted == reference  # exact floats, every key
            assert dumps_json(permuted) == dumps_json(reference)


def test_min_delta_zero_does_not_flip_with_the_row_order():
    """Equal AUCs meet ``min_delta: 0`` in every order (a -1 ulp difference would reject)."""
    frame, y, candidate = _rows()
    champion = _equal_auc_champion(y, candidate)
    rng = np.random.default_rng(3)
    for _ in range(10):
        perm = rng.permutation(y.size)
        decision = _decision(
            frame.iloc[perm].reset_index(drop=True), y[perm], candidate[perm], champion[perm]
        )
        check = next(c for c in decision["checks"] if c["name"] == "auc_improvement")
        assert check["value"] == 0.0 and check["passed"] is True


def test_holdout_and_slice_metrics_do_not_depend_on_the_row_order():
    frame, y, candidate = _rows()
    options = {"threshold": 0.5, "confidence": 0.95, "calibration_bins": 10}
    reference = holdout_metrics(y, candidate, **options)
    ref_slices = slice_metrics(frame, y, candidate, SLICES, min_samples=30, **options)
    rng = np.random.default_rng(4)
    for _ in range(10):
        perm = rng.permutation(y.size)
        assert holdout_metrics(y[perm], candidate[perm], **options) == reference
        permuted_frame = frame.iloc[perm].reset_index(drop=True)
        permuted = slice_metrics(
            permuted_frame, y[perm], candidate[perm], SLICES, min_samples=30, **options
        )
        assert permuted == ref_slices


@pytest.mark.parametrize("seed", range(5))
def test_single_auc_and_its_variance_do_not_depend_on_the_row_order(seed):
    rng = np.random.default_rng(seed)
    y = rng.random(500) < 0.1
    score = np.round(rng.random(500) + y * 0.3, 2)
    reference = roc_auc_delong(y, score)
    for _ in range(10):
        perm = rng.permutation(y.size)
        assert roc_auc_delong(y[perm], score[perm]) == reference
