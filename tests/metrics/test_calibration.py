"""Brier, log loss, ECE and the reliability table against sklearn and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sk_log_loss

from mlgate.metrics import brier_loss, calibration_table, expected_calibration_error, log_loss


@st.composite
def labels_and_probs(draw, max_size: int = 60):
    n = draw(st.integers(2, max_size))
    y = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    y[0], y[1] = True, False  # sklearn's log_loss wants both classes present
    p = np.array(draw(st.lists(st.floats(1e-6, 1 - 1e-6), min_size=n, max_size=n)))
    return y, p


@settings(deadline=None, max_examples=80)
@given(labels_and_probs())
def test_brier_and_log_loss_match_sklearn(data):
    y, p = data
    assert brier_loss(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert log_loss(y, p) == pytest.approx(sk_log_loss(y, p), rel=1e-9)


def test_hand_computed_losses():
    y, p = [1, 0, 1, 0], [0.9, 0.2, 0.6, 0.5]
    assert brier_loss(y, p) == pytest.approx((0.01 + 0.04 + 0.16 + 0.25) / 4)
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.6) + math.log(0.5)) / 4
    assert log_loss(y, p) == pytest.approx(expected)


def test_log_loss_clips_at_eps_instead_of_returning_inf():
    assert log_loss([1, 0], [0.0, 1.0]) == pytest.approx(-math.log(1e-15))
    assert log_loss([1, 0], [0.0, 1.0], eps=1e-3) == pytest.approx(-math.log(1e-3))
    assert log_loss([1, 0], [1.0, 0.0]) == pytest.approx(-math.log(1 - 1e-15), abs=1e-14)


def test_losses_are_defined_with_a_single_class():
    assert brier_loss([1, 1], [0.5, 1.0]) == pytest.approx(0.125)
    assert log_loss([0, 0], [0.5, 0.5]) == pytest.approx(math.log(2))


def test_ece_hand_computed_uniform_bins():
    # 2 bins: (0, 0.5] holds 0.1, 0.2, 0.4 (labels 0, 1, 0); (0.5, 1] holds 0.6, 0.9 (1, 1)
    y = [0, 1, 0, 1, 1]
    p = [0.1, 0.2, 0.4, 0.6, 0.9]
    gap_low = abs(1 / 3 - (0.1 + 0.2 + 0.4) / 3)
    gap_high = abs(1.0 - (0.6 + 0.9) / 2)
    expected = 3 / 5 * gap_low + 2 / 5 * gap_high
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(expected)


def test_ece_hand_computed_quantile_bins():
    # 4 values, 2 equal-mass bins split at the median 0.5: {0.2, 0.4} and {0.6, 0.8}
    y = [0, 1, 1, 1]
    p = [0.2, 0.4, 0.6, 0.8]
    expected = 0.5 * abs(0.5 - 0.3) + 0.5 * abs(1.0 - 0.7)
    assert expected_calibration_error(y, p, n_bins=2, strategy="quantile") == pytest.approx(
        expected
    )


def test_perfectly_calibrated_bins_give_zero_ece():
    # every bin's observed rate equals its (constant) prediction
    p = np.repeat([0.25, 0.75], 4)
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert expected_calibration_error(y, p, n_bins=10) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [1, 5, 10, 17])
def test_calibration_table_matches_sklearn_calibration_curve(strategy, n_bins):
    rng = np.random.default_rng(n_bins)
    p = rng.beta(2, 3, size=500)
    p[:20] = 0.5  # ties on a bin edge
    y = rng.random(500) < p
    table = calibration_table(y, p, n_bins=n_bins, strategy=strategy)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    np.testing.assert_allclose(table["frac_pos"], prob_true, rtol=0, atol=1e-12)
    np.testing.assert_allclose(table["mean_pred"], prob_pred, rtol=0, atol=1e-12)
    assert table["n"].sum() == 500
    assert list(table.columns) == ["bin", "bin_lower", "bin_upper", "n", "mean_pred", "frac_pos"]
    gaps = (table["frac_pos"] - table["mean_pred"]).abs()
    assert expected_calibration_error(y, p, n_bins=n_bins, strategy=strategy) == pytest.approx(
        float((table["n"] * gaps).sum() / 500)
    )


def test_calibration_table_drops_empty_bins_but_keeps_bin_numbers():
    table = calibration_table([0, 1, 1], [0.05, 0.95, 0.91], n_bins=10)
    assert isinstance(table, pd.DataFrame)
    assert table["bin"].tolist() == [0, 9]
    assert table["n"].tolist() == [1, 2]
    assert table["bin_lower"].tolist() == pytest.approx([0.0, 0.9])
    assert table["frac_pos"].tolist() == [0.0, 1.0]


def test_quantile_bins_with_heavy_ties_merge_instead_of_failing():
    p = np.r_[np.full(90, 0.1), np.linspace(0.2, 0.9, 10)]
    y = np.r_[np.zeros(81), np.ones(9), np.ones(10)]
    table = calibration_table(y, p, n_bins=10, strategy="quantile")
    assert table["n"].sum() == 100 and len(table) < 10


# ------------------------------------------------------------------ errors

_Y = [0, 1, 0, 1]
_P = [0.1, 0.9, 0.4, 0.6]
_ALL = [brier_loss, log_loss, expected_calibration_error, calibration_table]


@pytest.mark.parametrize("func", _ALL)
@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        (_Y, [0.1, 1.2, 0.4, 0.6], r"probabilities in \[0, 1\].*1.2 at index 1"),
        (_Y, [-0.1, 0.9, 0.4, 0.6], r"probabilities in \[0, 1\]"),
        (_Y, [0.1, np.nan, 0.4, 0.6], "finite"),
        (_Y, [0.1, 0.9, np.inf, 0.6], "finite"),
        (_Y, [0.1, 0.9], "same length"),
        ([0, 2, 0, 1], _P, "binary labels"),
        ([], [], "empty"),
    ],
)
def test_invalid_input_raises(func, y, p, message):
    with pytest.raises(ValueError, match=message):
        func(y, p)


@pytest.mark.parametrize("func", [expected_calibration_error, calibration_table])
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_bins": 0}, "n_bins"),
        ({"n_bins": 2.5}, "n_bins"),
        ({"n_bins": True}, "n_bins"),
        ({"strategy": "equal"}, "strategy"),
    ],
)
def test_invalid_binning_raises(func, kwargs, message):
    with pytest.raises(ValueError, match=message):
        func(_Y, _P, **kwargs)


@pytest.mark.parametrize("eps", [0.0, -1e-3, 0.5, 1.0, "1e-15", None])
def test_invalid_eps_raises(eps):
    with pytest.raises(ValueError, match="eps"):
        log_loss(_Y, _P, eps=eps)
