"""Score tables: built from rows or from partial (score, label, count) rows in any order and
partitioning, they give the same table and the same metrics, bit for bit; the metrics agree
with the row-level definitions (sklearn and the row functions)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from mlgate.evaluation import holdout_metrics, slice_metrics, table_metrics
from mlgate.metrics import (
    ScoreTable,
    UndefinedAucError,
    brier_loss,
    expected_calibration_error,
    log_loss,
    roc_auc_delong,
    roc_auc_from_table,
    score_table,
    table_from_counts,
    table_k_values,
)
from mlgate.slices import parse_slices

OPTIONS = {"threshold": 0.5, "confidence": 0.95, "calibration_bins": 10}


def partial_counts(
    y: np.ndarray, score: np.ndarray, rng: np.random.Generator, parts: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a cluster would collect: rows shuffled into ``parts`` random partitions, each
    counted by (score, label), the partial counts concatenated and shuffled again."""
    perm = rng.permutation(y.size)
    cuts = np.sort(rng.integers(0, y.size + 1, size=parts - 1))
    frames = []
    for rows in np.split(perm, cuts):
        part = pd.DataFrame({"score": score[rows], "label": y[rows].astype(int)})
        frames.append(part.groupby(["score", "label"]).size().rename("count").reset_index())
    counts = pd.concat(frames, ignore_index=True)
    counts = counts.iloc[rng.permutation(len(counts))]
    return counts["score"].to_numpy(), counts["label"].to_numpy(), counts["count"].to_numpy()


def row_reference(y: np.ndarray, score: np.ndarray, threshold: float, bins: int) -> dict:
    """The metrics straight from the rows by the row-level functions (sums in row order)."""
    predicted = score >= threshold
    return {
        "roc_auc": roc_auc_score(y, score),
        "pr_auc": average_precision_score(y, score),
        "brier_loss": brier_loss(y, score),
        "log_loss": log_loss(y, score),
        "calibration_error": expected_calibration_error(y, score, n_bins=bins),
        "mean_score": float(np.mean(score)),
        "confusion": {
            "tn": int(np.sum(~predicted & ~y)),
            "fp": int(np.sum(predicted & ~y)),
            "fn": int(np.sum(~predicted & y)),
            "tp": int(np.sum(predicted & y)),
        },
    }


def check_engines_agree(y: np.ndarray, score: np.ndarray, seed: int) -> dict:
    """Table from partial counts == table from rows, and so are the metrics (==, not approx);
    the metrics also match the row-level definitions."""
    rng = np.random.default_rng(seed)
    local = holdout_metrics(y, score, **OPTIONS)
    for _ in range(3):
        table = table_from_counts(*partial_counts(y, score, rng, parts=int(rng.integers(1, 5))))
        assert table == score_table(y, score)
        assert table_metrics(table, **OPTIONS) == local
    ref = row_reference(y, score, OPTIONS["threshold"], OPTIONS["calibration_bins"])
    assert local["confusion"] == ref.pop("confusion")
    for key, value in ref.items():
        assert local[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    return local


@st.composite
def tied_rows(draw, max_size: int = 60):
    n_pos = draw(st.integers(2, max_size // 2))
    n_neg = draw(st.integers(2, max_size // 2))
    y = np.array([True] * n_pos + [False] * n_neg)
    y = y[np.array(draw(st.permutations(list(range(y.size)))))]
    levels = draw(st.integers(1, 6))
    # few levels: heavy ties, and 0.5 (the threshold), 0 and 1 among the values
    ints = st.lists(st.integers(0, levels), min_size=y.size, max_size=y.size)
    return y, np.array(draw(ints), dtype=float) / max(levels, 1)


@settings(deadline=None, max_examples=80)
@given(tied_rows(), st.integers(0, 2**32 - 1))
def test_table_from_partitioned_counts_gives_the_metrics_of_the_rows(data, seed):
    y, score = data
    check_engines_agree(y, score, seed)


@pytest.mark.parametrize(
    "case",
    ["continuous", "heavy_ties", "all_tied", "two_positives", "at_threshold", "extremes"],
)
def test_adversarial_tables_agree_exactly(case):
    rng = np.random.default_rng(7)
    n = 5000
    y = rng.random(n) < 0.3
    score = np.clip(rng.random(n) * 0.7 + 0.3 * y, 0.0, 1.0)
    if case == "heavy_ties":
        score = np.round(score, 1)
    elif case == "all_tied":
        score = np.full(n, 0.5)
    elif case == "two_positives":
        y = np.zeros(n, dtype=bool)
        y[[10, 4000]] = True
    elif case == "at_threshold":
        score[rng.random(n) < 0.4] = 0.5
    elif case == "extremes":  # log loss clipping, and -0.0 next to 0.0
        score[rng.random(n) < 0.2] = 1.0
        score[rng.random(n) < 0.1] = 0.0
        score[rng.random(n) < 0.1] = -0.0
    metrics = check_engines_agree(y, score, seed=11)
    if case == "all_tied":
        assert metrics["roc_auc"] == 0.5 and metrics["roc_auc_std_error"] == 0.0
    if case == "at_threshold":
        assert metrics["confusion"]["tp"] == int(np.sum(y & (score >= 0.5)))


def test_negative_zero_is_stored_as_zero():
    y = np.array([1, 0, 1, 0])
    score = np.array([-0.0, 0.0, 0.5, 0.5])
    for table in (score_table(y, score), table_from_counts(score, y, [1, 1, 1, 1])):
        assert table.scores.tolist() == [0.0, 0.5]
        assert not np.signbit(table.scores[0])
        assert table.n_pos.tolist() == [1, 1] and table.n_neg.tolist() == [1, 1]


def test_one_class_raises_undefined_auc_error_on_both_routes():
    y = np.ones(50, dtype=bool)
    score = np.linspace(0, 1, 50)
    with pytest.raises(UndefinedAucError, match="n_neg=0"):
        holdout_metrics(y, score, **OPTIONS)
    with pytest.raises(UndefinedAucError, match="n_neg=0"):
        table_metrics(table_from_counts(score, y, np.ones(50, dtype=int)), **OPTIONS)
    with pytest.raises(UndefinedAucError, match="n_pos=0"):
        table_metrics(table_from_counts([], [], []), **OPTIONS)


def test_slices_agree_with_tables_of_their_rows_and_skip_one_class():
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({"g": rng.integers(0, 3, n)})
    y = (rng.random(n) < 0.4) & (frame["g"].to_numpy() != 2)  # slice g == 2: negatives only
    score = np.round(rng.random(n) * 0.6 + 0.4 * y, 2)
    spec = {f"g{k}": {"column": "g", "op": "==", "value": k} for k in range(3)}
    slices = parse_slices(spec, where="test")
    out = slice_metrics(frame, y, score, slices, min_samples=10, **OPTIONS)
    for k in (0, 1):
        mask = frame["g"].to_numpy() == k
        counts = partial_counts(y[mask], score[mask], rng)
        expected = table_metrics(table_from_counts(*counts), **OPTIONS)
        assert {key: out[f"g{k}"][key] for key in expected} == expected
    assert out["g2"]["skipped"] and "0 positive" in out["g2"]["skip_reason"]


def test_k_values_match_the_definition():
    rng = np.random.default_rng(5)
    y = rng.random(300) < 0.5
    score = rng.integers(0, 12, 300).astype(float)
    table = score_table(y, score)
    k10, k01 = table_k_values(table)
    pos, neg = score[y], score[~y]
    for s, a, b in zip(table.scores, k10, k01, strict=True):
        assert a == 2 * np.sum(neg < s) + np.sum(neg == s)
        assert b == 2 * np.sum(pos > s) + np.sum(pos == s)
    assert k10.dtype == np.int64 and k01.dtype == np.int64


# ------------------------------------------------------------------ huge counts


def _fraction_auc_and_variance(table: ScoreTable) -> tuple[Fraction, Fraction]:
    """AUC and DeLong variance straight from the definitions, as exact fractions: each
    positive at ``s`` has V10 = (negatives below + half those tied) / n, and
    Var = sum (V10 - mean)^2 / (m (m - 1)) + likewise for the negatives."""
    pos = [int(v) for v in table.n_pos]
    neg = [int(v) for v in table.n_neg]
    m, n = sum(pos), sum(neg)
    v10 = [Fraction(sum(neg[:i]) * 2 + neg[i], 2 * n) for i in range(len(pos))]
    v01 = [Fraction(sum(pos[i + 1 :]) * 2 + pos[i], 2 * m) for i in range(len(neg))]
    auc = sum(c * v for c, v in zip(pos, v10, strict=True)) / m
    mean01 = sum(c * v for c, v in zip(neg, v01, strict=True)) / n
    var10 = sum(c * (v - auc) ** 2 for c, v in zip(pos, v10, strict=True)) / (m - 1)
    var01 = sum(c * (v - mean01) ** 2 for c, v in zip(neg, v01, strict=True)) / (n - 1)
    return auc, var10 / m + var01 / n


@pytest.mark.parametrize("scale", [2 * 10**8, 10**9, 4 * 10**9, 10**12])
def test_auc_and_variance_exact_with_huge_counts(scale):
    """~1e9 rows in all (2e8 a score) make count * k^2 overflow int64 (limb sums), more make
    count * k overflow too (Python ints): the figures must still be the correctly rounded
    exact values."""
    rng = np.random.default_rng(scale % 1000)
    size = 7
    table = ScoreTable(
        np.linspace(0.05, 0.95, size),
        rng.integers(scale // 2, scale, size).astype(np.int64),
        rng.integers(scale // 2, scale, size).astype(np.int64),
    )
    auc, variance = _fraction_auc_and_variance(table)
    result = table_metrics(table, **OPTIONS)
    direct = roc_auc_from_table(table)
    assert direct.auc == float(auc)
    assert direct.variance == float(variance)
    assert result["roc_auc"] == float(f"{float(auc):.10g}")
    assert result["n"] == int(table.n_pos.sum() + table.n_neg.sum())


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("scores", "labels", "counts", "message"),
    [
        ([0.1, np.nan], [0, 1], [1, 1], r"scores must be finite.*nan at index 1"),
        ([0.1, np.inf], [0, 1], [1, 1], r"scores must be finite.*inf at index 1"),
        ([0.1, 0.2], [0, 2], [1, 1], r"labels must hold binary labels.*2 at index 1"),
        ([0.1, 0.2], [0, 1], [1, 0], r"counts must be >= 1.*0 at index 1"),
        ([0.1, 0.2], [0, 1], [-3, 1], r"counts must be >= 1.*-3 at index 0"),
        ([0.1, 0.2], [0, 1], [1, 1.5], r"counts must be whole numbers.*1.5 at index 1"),
        ([0.1, 0.2], [0, 1], ["a", "b"], "counts must be integers"),
        ([0.1, 0.2], [0, 1], [1], "one length"),
        ([0.1, 0.2], [0], [1, 1], "one length"),
    ],
)
def test_table_from_counts_refuses_bad_rows(scores, labels, counts, message):
    with pytest.raises(ValueError, match=message):
        table_from_counts(scores, labels, counts)


def test_table_from_counts_merges_duplicates_and_accepts_bool_and_float_labels():
    table = table_from_counts(
        [0.7, 0.2, 0.7, 0.2, 0.7], [True, False, True, True, False], [2, 3, 5, 1, 4]
    )
    assert table.scores.tolist() == [0.2, 0.7]
    assert table.n_pos.tolist() == [1, 7] and table.n_neg.tolist() == [3, 4]
    assert table_from_counts([0.7, 0.2], [1.0, 0.0], [2.0, 3.0]) == ScoreTable(
        np.array([0.2, 0.7]), np.array([0, 2]), np.array([3, 0])
    )


@pytest.mark.parametrize(
    ("scores", "n_pos", "n_neg", "message"),
    [
        ([0.2, 0.1], [1, 1], [0, 0], "strictly ascending"),
        ([0.1, 0.1], [1, 1], [0, 0], "strictly ascending"),
        ([0.1, np.nan], [1, 1], [0, 0], "finite"),
        ([0.1, 0.2], [1, 0], [0, 0], "at least one row per score"),
        ([0.1, 0.2], [1, -1], [0, 2], ">= 0"),
        ([0.1, 0.2], [1.0, 1.0], [0, 0], "int64"),
        ([0.1, 0.2], [1, 1], [0], "n_neg"),
    ],
)
def test_score_table_checks_its_invariants(scores, n_pos, n_neg, message):
    with pytest.raises(ValueError, match=message):
        ScoreTable(np.array(scores), np.array(n_pos), np.array(n_neg))


def test_score_table_validates_rows_like_roc_auc_delong():
    with pytest.raises(ValueError, match="binary labels"):
        score_table([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="presorted order does not sort"):
        score_table([0, 1, 0], [0.3, 0.2, 0.1], order=np.arange(3))
    with pytest.raises(ValueError, match="empty"):
        score_table([], [])


def test_roc_auc_delong_is_the_table_route():
    rng = np.random.default_rng(9)
    y = rng.random(2000) < 0.2
    score = np.round(rng.random(2000) + 0.2 * y, 2)
    assert roc_auc_delong(y, score, confidence=0.9) == roc_auc_from_table(
        table_from_counts(*partial_counts(y, score, rng)), confidence=0.9
    )
