"""Paired DeLong test of two models on the same rows: oracles, bootstrap, p-value sanity."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from mlgate.metrics import PairedAucResult, UndefinedAucError, delong_paired, roc_auc_delong

from ._oracles import (
    bootstrap_aucs,
    bootstrap_indices,
    components_double_loop,
    percentile_width,
    psi_matrix,
)


@st.composite
def paired_scores(draw, max_size: int = 40):
    n_pos = draw(st.integers(2, max_size // 2))
    n_neg = draw(st.integers(2, max_size // 2))
    y = np.array([True] * n_pos + [False] * n_neg)
    y = y[np.array(draw(st.permutations(list(range(y.size)))))]
    levels = draw(st.integers(1, 6))
    ints = st.lists(st.integers(0, levels - 1), min_size=y.size, max_size=y.size)
    return y, np.array(draw(ints), dtype=float), np.array(draw(ints), dtype=float)


@settings(deadline=None, max_examples=120)
@given(paired_scores())
def test_variance_equals_covariance_matrix_formula_from_double_loop(data):
    """Var = S_AA + S_BB - 2 S_AB with S = S10 / m + S01 / n, components by the double loop."""
    y, a, b = data
    a10, a01 = components_double_loop(y, a)
    b10, b01 = components_double_loop(y, b)
    s10 = np.cov(np.vstack([a10, b10]), ddof=1)
    s01 = np.cov(np.vstack([a01, b01]), ddof=1)
    s = s10 / a10.size + s01 / a01.size
    expected = s[0, 0] + s[1, 1] - 2 * s[0, 1]

    r = delong_paired(y, a, b)
    assert r.variance == pytest.approx(expected, abs=1e-13)
    assert r.auc_a == pytest.approx(a10.mean(), abs=1e-12)
    assert r.auc_b == pytest.approx(b10.mean(), abs=1e-12)
    # the difference is the exact difference of the two U statistics, rounded once
    twice_u = [int(round(2 * psi_matrix(y, s).sum())) for s in (a, b)]
    assert r.diff == float(Fraction(twice_u[0] - twice_u[1], 2 * a10.size * a01.size))
    assert r.diff == pytest.approx(r.auc_a - r.auc_b, abs=1e-15)


@settings(deadline=None, max_examples=60)
@given(paired_scores())
def test_swapping_models_negates_diff_and_keeps_p_value(data):
    y, a, b = data
    ab, ba = delong_paired(y, a, b), delong_paired(y, b, a)
    assert ab.diff == pytest.approx(-ba.diff, abs=1e-15)
    assert ab.variance == pytest.approx(ba.variance, abs=1e-15)
    assert ab.p_value == pytest.approx(ba.p_value)
    assert 0.0 <= ab.p_value <= 1.0


def test_single_model_aucs_match_roc_auc_delong():
    rng = np.random.default_rng(1)
    y = rng.random(200) < 0.3
    a, b = rng.normal(size=200) + y, rng.normal(size=200) + 0.5 * y
    r = delong_paired(y, a, b)
    assert r.auc_a == roc_auc_delong(y, a).auc
    assert r.auc_b == roc_auc_delong(y, b).auc
    assert (r.n, r.n_pos, r.n_neg) == (200, int(y.sum()), int((~y).sum()))
    z = norm.ppf(0.975)
    assert r.z == pytest.approx(r.diff / r.std_error)
    assert r.p_value == pytest.approx(2 * (1 - norm.cdf(abs(r.z))))
    assert (r.ci_low, r.ci_high) == pytest.approx(
        (r.diff - z * r.std_error, r.diff + z * r.std_error)
    )
    assert isinstance(r, PairedAucResult)


def test_identical_models_give_p_one_and_a_zero_ci():
    rng = np.random.default_rng(2)
    y = rng.random(100) < 0.5
    score = rng.normal(size=100) + y
    for other in (score.copy(), np.exp(score), 3 * score - 7):  # same ranking, same AUC
        r = delong_paired(y, score, other)
        assert (r.diff, r.variance, r.z, r.p_value) == (0.0, 0.0, 0.0, 1.0)
        assert (r.ci_low, r.ci_high, r.ci_clipped) == (0.0, 0.0, False)


def test_perfect_model_against_constant_model_has_zero_variance_and_p_zero():
    y = np.array([0, 0, 0, 1, 1, 1])
    r = delong_paired(y, [1, 2, 3, 4, 5, 6], np.zeros(6))
    assert (r.auc_a, r.auc_b, r.diff, r.variance) == (1.0, 0.5, 0.5, 0.0)
    assert r.z == math.inf and r.p_value == 0.0
    assert (r.ci_low, r.ci_high) == (0.5, 0.5)


def test_strongly_different_models_give_a_tiny_p_value():
    rng = np.random.default_rng(3)
    y = rng.random(2000) < 0.4
    strong, useless = rng.normal(size=2000) + 2.0 * y, rng.normal(size=2000)
    r = delong_paired(y, strong, useless)
    assert r.diff > 0.3 and r.ci_low > 0.25
    assert r.p_value < 1e-12
    assert delong_paired(y, useless, strong).z < -7


def test_null_rejection_rate_is_near_alpha():
    """Two exchangeable models (same signal, independent noise): reject ~5 % at alpha 0.05."""
    rng = np.random.default_rng(7)
    p_values = []
    for _ in range(400):
        y = rng.random(300) < 0.4
        base = rng.normal(size=300) + 0.8 * y
        p_values.append(
            delong_paired(y, base + rng.normal(size=300), base + rng.normal(size=300)).p_value
        )
    rate = np.mean(np.array(p_values) < 0.05)
    assert 0.025 <= rate <= 0.08, rate


def test_pairing_detects_what_two_overlapping_unpaired_cis_do_not():
    """A small real improvement on shared rows: the paired CI excludes 0, single CIs overlap."""
    rng = np.random.default_rng(4)
    y = rng.random(3000) < 0.3
    base = rng.normal(size=3000) + 1.0 * y
    champion = base + 0.3 * rng.normal(size=3000)
    candidate = champion + 0.15 * y  # a small, consistent gain on the positives
    paired = delong_paired(y, candidate, champion)
    a, b = roc_auc_delong(y, candidate), roc_auc_delong(y, champion)
    assert paired.ci_low > 0
    assert a.ci_low < b.ci_high  # unpaired intervals overlap


def _paired_datasets():
    rng = np.random.default_rng(99)
    out = {}
    y = rng.random(500) < 0.4
    base = rng.normal(size=500) + y
    out["correlated"] = (y, base + 0.5 * rng.normal(size=500), base + 0.6 * rng.normal(size=500))
    y = rng.random(500) < 0.4
    out["independent"] = (y, rng.normal(size=500) + y, rng.normal(size=500) + 0.7 * y)
    y = rng.random(600) < 0.5
    latent = rng.normal(size=600) + y
    out["heavy_ties"] = (
        y,
        np.round(latent + 0.3 * rng.normal(size=600)),
        np.round(2 * (latent + 0.5 * rng.normal(size=600))) / 2,
    )
    y = rng.random(700) < 0.12
    base = rng.normal(size=700) + 1.3 * y
    out["imbalanced"] = (y, base + 0.4 * rng.normal(size=700), base + 0.4 * rng.normal(size=700))
    return out


@pytest.mark.parametrize("name", list(_paired_datasets()))
def test_ci_of_difference_agrees_with_a_paired_bootstrap(name):
    y, a, b = _paired_datasets()[name]
    r = delong_paired(y, a, b)
    idx = bootstrap_indices(y.size, 4000, seed=12)  # same rows for both models: paired
    diffs = bootstrap_aucs(y, a, idx) - bootstrap_aucs(y, b, idx)
    assert not np.isnan(diffs).any()
    se_ratio = np.std(diffs, ddof=1) / r.std_error
    width_ratio = percentile_width(diffs) / (r.ci_high - r.ci_low)
    assert abs(se_ratio - 1) < 0.05, se_ratio
    assert abs(width_ratio - 1) < 0.05, width_ratio
    # and the unpaired bootstrap (independent resamples) would be wider: pairing matters
    if name == "correlated":
        unpaired = bootstrap_aucs(y, a, idx) - bootstrap_aucs(
            y, b, bootstrap_indices(y.size, 4000, seed=13)
        )
        assert np.std(unpaired) > 1.5 * np.std(diffs)


# ------------------------------------------------------------------ errors

_Y = [0, 1, 0, 1]
_A = [0.1, 0.9, 0.4, 0.6]


@pytest.mark.parametrize(
    ("y", "a", "b", "error", "message"),
    [
        ([0, 1, 1, 1], _A, _A, UndefinedAucError, "n_neg=1"),
        ([1, 1, 1, 1], _A, _A, UndefinedAucError, "n_neg=0"),
        (_Y, _A, [0.1, 0.2, 0.3], ValueError, "score_b must have the same length"),
        (_Y, [0.1, 0.2], _A, ValueError, "score_a must have the same length"),
        (_Y, _A, [0.1, np.nan, 0.3, 0.2], ValueError, "score_b must be finite"),
        (_Y, [np.inf, 0.1, 0.2, 0.3], _A, ValueError, "score_a must be finite"),
        ([0, 1, 3, 1], _A, _A, ValueError, "binary labels"),
    ],
)
def test_paired_errors(y, a, b, error, message):
    with pytest.raises(error, match=message):
        delong_paired(y, a, b)


def test_paired_bad_confidence():
    with pytest.raises(ValueError, match="confidence"):
        delong_paired(_Y, _A, _A, confidence=1.0)
