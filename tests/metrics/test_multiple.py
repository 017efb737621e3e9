"""Holm's step-down: hand-worked examples, values written from the definition, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mlgate.metrics import holm, holm_adjusted


def test_hand_worked_example_unsorted_input():
    # k = 4, alpha = 0.05. Sorted: 0.005 (idx 3) <= 0.05/4 = 0.0125 reject;
    # 0.01 (idx 0) <= 0.05/3 = 0.0167 reject; 0.03 (idx 2) > 0.05/2 = 0.025 stop.
    p = [0.01, 0.04, 0.03, 0.005]
    assert holm(p, alpha=0.05).tolist() == [True, False, False, True]
    # adjusted, ascending: 4*0.005, 3*0.01, 2*0.03, max(0.06, 1*0.04) -> input order
    np.testing.assert_allclose(holm_adjusted(p), [0.03, 0.06, 0.06, 0.02])


def test_second_example_written_from_the_definition():
    # k = 5. Sorted 0.001, 0.011, 0.013, 0.04, 0.2; times (5, 4, 3, 2, 1) =
    # 0.005, 0.044, 0.039, 0.08, 0.2; running max 0.005, 0.044, 0.044, 0.08, 0.2.
    # (the values statsmodels' multipletests(method="holm") gives by the same definition)
    p = [0.001, 0.2, 0.013, 0.04, 0.011]
    np.testing.assert_allclose(holm_adjusted(p), [0.005, 0.2, 0.044, 0.08, 0.044])
    assert holm(p).tolist() == [True, False, True, False, True]
    # at alpha 0.01 only the smallest survives (0.011 > 0.01 / 4)
    assert holm(p, alpha=0.01).tolist() == [True, False, False, False, False]


def test_step_down_stops_at_first_failure_even_if_a_later_p_passes_its_own_threshold():
    # sorted 0.02 (> 0.05/3) fails first; 0.021 <= 0.025 would pass on its own, but Holm stops
    p = [0.021, 0.02, 0.9]
    assert holm(p).tolist() == [False, False, False]


def test_adjusted_values_are_capped_at_one():
    np.testing.assert_allclose(holm_adjusted([0.5, 0.6, 0.7]), [1.0, 1.0, 1.0])


def test_empty_and_single():
    assert holm([]).tolist() == []
    assert holm_adjusted([]).tolist() == []
    assert holm([0.04]).tolist() == [True]
    assert holm([0.06]).tolist() == [False]
    assert holm_adjusted([0.04]).tolist() == [0.04]


def test_ties_are_rejected_or_kept_together():
    assert holm([0.02, 0.02, 0.02]).tolist() == [False, False, False]  # 0.02 > 0.05 / 3
    assert holm([0.01, 0.01, 0.01]).tolist() == [True, True, True]


p_lists = st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=12)


@settings(deadline=None, max_examples=200)
@given(p_lists, st.sampled_from([0.01, 0.05, 0.1]))
def test_holm_equals_adjusted_le_alpha_and_lies_between_bonferroni_and_raw(p, alpha):
    k = len(p)
    sorted_p = np.sort(p)
    # keep clear of exact boundaries where p * m and alpha / m round differently
    assume(all(abs(v * (k - i) - alpha) > 1e-12 for i, v in enumerate(sorted_p)))
    rejected = holm(p, alpha=alpha)
    np.testing.assert_array_equal(rejected, holm_adjusted(p) <= alpha)
    bonferroni = np.array(p) <= alpha / k
    assert np.all(rejected >= bonferroni)  # Holm rejects at least what Bonferroni rejects
    assert np.all(rejected <= (np.array(p) <= alpha))  # and never more than raw tests


@settings(deadline=None, max_examples=100)
@given(p_lists, st.randoms(use_true_random=False))
def test_result_follows_input_order(p, rnd):
    perm = list(range(len(p)))
    rnd.shuffle(perm)
    shuffled = [p[i] for i in perm]
    np.testing.assert_array_equal(holm(shuffled), holm(p)[perm])
    np.testing.assert_allclose(holm_adjusted(shuffled), holm_adjusted(p)[perm])


@settings(deadline=None, max_examples=100)
@given(p_lists)
def test_adjusted_values_are_monotone_in_raw_values_and_not_below_them(p):
    adjusted = holm_adjusted(p)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= 0)
    assert np.all(adjusted >= np.array(p))
    assert np.all(adjusted <= 1.0)


@pytest.mark.parametrize(
    ("p", "message"),
    [
        ([0.1, np.nan], r"\[0, 1\].*nan at index 1"),
        ([0.1, 1.5], r"1.5 at index 1"),
        ([-0.01], r"\[0, 1\]"),
        ([[0.1, 0.2]], "1-D"),
        (["0.1"], "numbers"),
        ([True, False], "numbers"),
    ],
)
def test_invalid_p_values_raise(p, message):
    with pytest.raises(ValueError, match=message):
        holm(p)
    with pytest.raises(ValueError, match=message):
        holm_adjusted(p)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.05, True, "0.05", None])
def test_invalid_alpha_raises(alpha):
    with pytest.raises(ValueError, match="alpha"):
        holm([0.01], alpha=alpha)
