"""ROC AUC and DeLong's CI against slow oracles, sklearn, a bootstrap and a published example."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm, rankdata
from sklearn.metrics import roc_auc_score

from mlgate.metrics import (
    AucResult,
    UndefinedAucError,
    midrank_components,
    roc_auc_delong,
)

from ._oracles import (
    auc_double_loop,
    bootstrap_aucs,
    bootstrap_indices,
    components_double_loop,
    delong_variance_double_loop,
    percentile_width,
)


@st.composite
def labelled_scores(draw, max_size: int = 40, n_levels: int | None = None):
    """Labels with >= 2 of each class, and scores drawn from few levels so ties are common."""
    n_pos = draw(st.integers(2, max_size // 2))
    n_neg = draw(st.integers(2, max_size // 2))
    levels = n_levels or draw(st.integers(1, 8))
    y = np.array([True] * n_pos + [False] * n_neg)
    perm = draw(st.permutations(list(range(n_pos + n_neg))))
    y = y[np.array(perm)]
    score = np.array(
        draw(st.lists(st.integers(0, levels - 1), min_size=y.size, max_size=y.size)),
        dtype=float,
    )
    # a continuous jitter on some draws, so both heavy-tie and tie-free inputs occur
    if draw(st.booleans()):
        score = score + np.array(
            draw(st.lists(st.floats(0, 0.5), min_size=y.size, max_size=y.size))
        )
    return y, score


# ------------------------------------------------------------------ AUC and components


@settings(deadline=None, max_examples=150)
@given(labelled_scores())
def test_auc_equals_the_psi_double_loop_with_ties(data):
    y, score = data
    assert roc_auc_delong(y, score).auc == pytest.approx(auc_double_loop(y, score), abs=1e-12)


@settings(deadline=None, max_examples=150)
@given(labelled_scores())
def test_components_equal_brute_force_structural_components(data):
    y, score = data
    v10, v01 = midrank_components(y, score)
    b10, b01 = components_double_loop(y, score)
    np.testing.assert_allclose(v10, b10, rtol=0, atol=1e-12)
    np.testing.assert_allclose(v01, b01, rtol=0, atol=1e-12)
    assert v10.mean() == pytest.approx(v01.mean(), abs=1e-12)


@settings(deadline=None, max_examples=100)
@given(labelled_scores())
def test_variance_equals_double_loop_delong_variance(data):
    y, score = data
    result = roc_auc_delong(y, score)
    assert result.variance == pytest.approx(delong_variance_double_loop(y, score), abs=1e-14)
    assert result.std_error == pytest.approx(math.sqrt(result.variance))


@settings(deadline=None, max_examples=100)
@given(labelled_scores(max_size=60))
def test_auc_equals_sklearn_roc_auc_score(data):
    y, score = data
    assert roc_auc_delong(y, score).auc == pytest.approx(roc_auc_score(y, score), abs=1e-12)


@settings(deadline=None, max_examples=60)
@given(labelled_scores(max_size=60))
def test_fast_midranks_equal_the_rankdata_form_of_sun_and_xu(data):
    """The single-sort midranks must give the scipy.stats.rankdata formula: V10 exactly, and
    V01 = (2m - 2 (Tz - Ty)) / 2m, which is the formula's 1 - (Tz - Ty) / m rounded once."""
    y, score = data
    m, n = int(y.sum()), int((~y).sum())
    t_z = rankdata(score, method="average")
    t_x = rankdata(score[y], method="average")
    t_y = rankdata(score[~y], method="average")
    v10, v01 = midrank_components(y, score)
    np.testing.assert_array_equal(v10, (t_z[y] - t_x) / n)
    np.testing.assert_array_equal(v01, (2 * m - 2 * (t_z[~y] - t_y)) / (2 * m))
    np.testing.assert_allclose(v01, 1.0 - (t_z[~y] - t_y) / m, rtol=0, atol=1e-15)


def test_components_follow_input_order():
    y = np.array([1, 0, 1, 0, 1, 0])
    score = np.array([0.9, 0.1, 0.2, 0.5, 0.5, 0.95])
    v10, v01 = midrank_components(y, score)
    # positives 0.9, 0.2, 0.5 against negatives 0.1, 0.5, 0.95
    np.testing.assert_allclose(v10, [2 / 3, 1 / 3, 1.5 / 3])
    # negatives 0.1, 0.5, 0.95 against positives 0.9, 0.2, 0.5
    np.testing.assert_allclose(v01, [1.0, 1.5 / 3, 0.0])


def test_known_small_example_by_hand():
    # 2 pos (3, 1), 2 neg (2, 1): pairs (3>2)=1, (3>1)=1, (1<2)=0, (1=1)=0.5 -> AUC 2.5/4
    result = roc_auc_delong([1, 1, 0, 0], [3, 1, 2, 1])
    assert result.auc == 0.625
    # V10 = (1, 0.25), V01 = (0.5, 0.75): var ddof=1 0.28125 / 2 + 0.03125 / 2
    assert result.variance == pytest.approx(0.28125 / 2 + 0.03125 / 2)


def test_labels_may_be_bool_int_float_or_pandas():
    score = np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.2])
    labels = [0, 0, 1, 1, 1, 0]
    reference = roc_auc_delong(labels, score)
    for y in (
        np.array(labels, dtype=bool),
        np.array(labels, dtype=np.int8),
        np.array(labels, dtype=float),
        pd.Series(labels, dtype="boolean"),
        pd.Series(labels),
    ):
        assert roc_auc_delong(y, pd.Series(score)) == reference


def test_higher_score_for_negatives_gives_auc_below_half_not_flipped():
    result = roc_auc_delong([1, 1, 1, 0, 0, 0], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    assert result.auc == 0.0


# ------------------------------------------------------------------ confidence interval


def test_ci_is_auc_plus_minus_z_se_and_follows_confidence():
    rng = np.random.default_rng(3)
    y = rng.random(300) < 0.4
    score = rng.normal(size=300) + y
    for confidence in (0.8, 0.95, 0.99):
        r = roc_auc_delong(y, score, confidence=confidence)
        z = norm.ppf(0.5 + confidence / 2)
        assert r.ci_low == pytest.approx(r.auc - z * r.std_error)
        assert r.ci_high == pytest.approx(r.auc + z * r.std_error)
        assert not r.ci_clipped
        assert r.confidence == confidence


def test_ci_near_one_is_clipped_and_flagged():
    y = np.array([0] * 10 + [1] * 10)
    score = np.r_[np.arange(10), np.arange(10) + 9.0]  # one tie between the classes
    r = roc_auc_delong(y, score)
    assert r.auc == pytest.approx(1 - 0.5 / 100)
    assert r.auc + 1.96 * r.std_error > 1.0  # the raw interval leaves [0, 1] ...
    assert r.ci_high == 1.0 and r.ci_clipped  # ... so it is clipped and says so
    assert r.ci_low == pytest.approx(r.auc - norm.ppf(0.975) * r.std_error)


def test_perfect_separation_has_zero_variance_and_a_point_ci():
    r = roc_auc_delong([0, 0, 0, 1, 1, 1], [1, 2, 3, 4, 5, 6])
    assert (r.auc, r.variance, r.ci_low, r.ci_high, r.ci_clipped) == (1.0, 0.0, 1.0, 1.0, False)


def test_result_is_frozen():
    r = roc_auc_delong([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])
    assert isinstance(r, AucResult)
    with pytest.raises(AttributeError):
        r.auc = 0.5  # type: ignore[misc]


def _bootstrap_datasets():
    rng = np.random.default_rng(20240611)
    y1 = rng.random(400) < 0.4
    y2 = rng.random(500) < 0.5
    y3 = rng.random(660) < 0.1
    y4 = rng.random(400) < 0.5
    return {
        "binormal": (y1, rng.normal(size=400) + 1.2 * y1),
        "five_levels_heavy_ties": (y2, np.clip(np.round(rng.normal(size=500) + y2 + 2), 0, 4)),
        "imbalanced_10pct": (y3, rng.normal(size=660) + 1.0 * y3),
        "high_auc": (y4, rng.normal(size=400) + 2.3 * y4),
    }


@pytest.mark.parametrize("name", list(_bootstrap_datasets()))
def test_delong_se_and_ci_width_agree_with_a_4000_replicate_bootstrap(name):
    y, score = _bootstrap_datasets()[name]
    result = roc_auc_delong(y, score)
    replicates = bootstrap_aucs(y, score, bootstrap_indices(y.size, 4000, seed=11))
    assert not np.isnan(replicates).any()
    # the oracle itself: identical to sklearn on the first resamples
    idx = bootstrap_indices(y.size, 3, seed=11)
    for k in range(3):
        assert replicates[k] == pytest.approx(roc_auc_score(y[idx[k]], score[idx[k]]))
    se_ratio = np.std(replicates, ddof=1) / result.std_error
    width_ratio = percentile_width(replicates) / (result.ci_high - result.ci_low)
    assert abs(se_ratio - 1) < 0.05, se_ratio
    assert abs(width_ratio - 1) < 0.05, width_ratio


def test_ci_covers_the_true_auc_at_the_nominal_rate():
    """Binormal data with a known AUC: Phi(delta / sqrt(2)); 400 seeded replications."""
    rng = np.random.default_rng(5)
    delta = 0.8
    true_auc = norm.cdf(delta / math.sqrt(2))
    covered = 0
    for _ in range(400):
        y = rng.random(300) < 0.4
        r = roc_auc_delong(y, rng.normal(size=300) + delta * y)
        covered += r.ci_low <= true_auc <= r.ci_high
    assert 0.92 <= covered / 400 <= 0.98


# ------------------------------------------------------------------ published example


def test_hanley_mcneil_1982_ct_ratings():
    """Hanley & McNeil (Radiology 1982), 109 CT images rated 1..5 (5 = definitely abnormal).

    Compared against: (1) the published AUC 0.893 (0.8932 to 4 d.p.); (2) H&M's own SE
    ~0.032, recomputed here with their exponential-approximation formula (an independent
    variance estimator, so only "near" is expected); (3) Stata's ``roctab disease rating`` on
    the same data (``webuse hanley``, [R] roctab example 1), whose default SE is DeLong's: area
    0.8932, SE 0.0307, 95% CI 0.83295-0.95339 - figures recalled from the Stata manual, not
    fetched in this environment; our DeLong output matches all of their printed digits.
    """
    normal_counts = [33, 6, 6, 11, 2]  # n = 58, ratings 1..5
    abnormal_counts = [3, 2, 2, 11, 33]  # n = 51
    ratings = np.arange(1, 6)
    score = np.r_[np.repeat(ratings, normal_counts), np.repeat(ratings, abnormal_counts)]
    y = np.r_[np.zeros(58, dtype=bool), np.ones(51, dtype=bool)]

    r = roc_auc_delong(y, score)
    assert (r.n, r.n_pos, r.n_neg) == (109, 51, 58)
    # exact: (sum over pairs of psi) / (51 * 58) = 2642 / 2958
    assert r.auc == pytest.approx(2642 / 2958, abs=1e-15)
    assert round(r.auc, 4) == 0.8932

    a, m, n = r.auc, 51, 58
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se_hanley = math.sqrt(
        (a * (1 - a) + (m - 1) * (q1 - a * a) + (n - 1) * (q2 - a * a)) / (m * n)
    )
    assert round(se_hanley, 3) == 0.032

    assert round(r.std_error, 4) == 0.0307
    assert 0.031 - 0.001 < r.std_error < 0.033
    assert (round(r.ci_low, 5), round(r.ci_high, 5)) == (0.83295, 0.95339)


# ------------------------------------------------------------------ degenerate input

_OK_Y = [0, 1, 0, 1]
_OK_S = [0.1, 0.9, 0.4, 0.6]


@pytest.mark.parametrize(
    ("y", "score", "message"),
    [
        ([1, 1, 1, 1], _OK_S, "at least 2 positives and 2 negatives"),
        ([0, 0, 0, 0], _OK_S, "n_pos=0"),
        ([0, 1, 0, 0], _OK_S, "n_pos=1"),
        ([1, 0, 1, 1], _OK_S, "n_neg=1"),
    ],
)
def test_too_few_of_a_class_raises_undefined_auc_error(y, score, message):
    with pytest.raises(UndefinedAucError, match=message):
        roc_auc_delong(y, score)
    with pytest.raises(ValueError):  # still a ValueError for callers that catch that
        midrank_components(y, score)


@pytest.mark.parametrize(
    ("y", "score", "message"),
    [
        (_OK_Y, [0.1, np.nan, 0.4, 0.6], r"finite.*nan at index 1"),
        (_OK_Y, [0.1, 0.9, np.inf, 0.6], r"finite.*inf at index 2"),
        (_OK_Y, [0.1, 0.9, 0.4], "same length, got 4 and 3"),
        ([0, 1, 2, 1], _OK_S, r"binary labels.*2 at index 2"),
        ([0, 1, -1, 1], _OK_S, "binary labels"),
        ([0.0, 1.0, 0.5, 1.0], _OK_S, "binary labels"),
        ([0, 1, np.nan, 1], _OK_S, "binary labels"),
        (["a", "b", "a", "b"], _OK_S, "binary labels"),
        (_OK_Y, ["x", "y", "z", "w"], "numeric"),
        ([], [], "empty"),
        ([[0, 1], [0, 1]], [[0.1, 0.2], [0.3, 0.4]], "1-D"),
    ],
)
def test_malformed_input_raises_value_error_naming_the_problem(y, score, message):
    with pytest.raises(ValueError, match=message) as info:
        roc_auc_delong(y, score)
    assert not isinstance(info.value, UndefinedAucError)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1, 95, True, "0.95"])
def test_bad_confidence_raises(confidence):
    with pytest.raises(ValueError, match="confidence"):
        roc_auc_delong(_OK_Y, _OK_S, confidence=confidence)


@pytest.mark.parametrize("biggest", [3, 2**31, 2_999_999_999, 3_000_000_001])
def test_exact_sum_of_squares_in_chunks_and_beyond_int64_squares(biggest):
    """The variance's sums of squares are exact Python ints: chunked int64 sums where a square
    fits, Python ints where it would not; compared with a plain Python sum."""
    from mlgate.metrics.auc import _sum_squares

    k = np.random.default_rng(0).integers(-biggest, biggest, size=5000, endpoint=True)
    k[0] = biggest
    assert _sum_squares(k) == sum(int(v) ** 2 for v in k.tolist())
