"""Tests for mlgate.drift: known answers, slow oracles, and the documented asymmetry."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from mlgate.drift import counts
from mlgate.drift.binning import MISSING, UNSEEN
from mlgate.drift.distance import jensen_shannon_distance, normed_wasserstein
from mlgate.drift.psi import expected_psi_no_shift, psi_categorical, psi_numeric
from mlgate.drift.report import drift_report

EPS = 1e-4


def psi_formula(e: list[float], a: list[float], eps: float = EPS) -> float:
    """PSI from raw shares by the documented rule: zeros -> eps, renormalise each side."""
    e_arr = np.where(np.asarray(e) == 0, eps, e)
    a_arr = np.where(np.asarray(a) == 0, eps, a)
    e_arr, a_arr = e_arr / e_arr.sum(), a_arr / a_arr.sum()
    return float(np.sum((a_arr - e_arr) * np.log(a_arr / e_arr)))


def slow_numeric_psi(ref: list[float], cur: list[float], n_bins: int) -> float:
    """Oracle: numpy's inverted-CDF quantiles and a per-value loop over the bins."""
    ref_valid = [x for x in ref if not math.isnan(x)]
    cuts = sorted(
        set(np.quantile(ref_valid, np.arange(1, n_bins) / n_bins, method="inverted_cdf"))
    )
    cuts = [c for c in cuts if c < max(ref_valid)]

    def shares(values: list[float]) -> list[float]:
        counts = [0] * (len(cuts) + 2)
        for x in values:
            if math.isnan(x):
                counts[-1] += 1
            else:
                counts[sum(1 for c in cuts if x > c)] += 1
        if counts[-1] == 0 and not any(math.isnan(x) for x in ref + cur):
            counts.pop()
        return [c / len(values) for c in counts]

    return psi_formula(shares(ref), shares(cur))


# --------------------------------------------------------------------------- numeric PSI


def test_identical_numeric_samples_give_zero() -> None:
    x = np.random.default_rng(0).normal(size=1000)
    x[::7] = np.nan
    result = psi_numeric(x, x.copy())
    assert result.psi == 0.0
    assert result.labels[-1] == MISSING


def test_hand_computed_two_bin_shift() -> None:
    ref = np.r_[np.zeros(50), np.ones(50)]
    cur = np.r_[np.zeros(80), np.ones(20)]
    result = psi_numeric(ref, cur, n_bins=2)
    expected = 0.3 * math.log(1.6) + (-0.3) * math.log(0.4)
    assert expected == pytest.approx(0.4159, abs=1e-4)
    assert result.psi == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(result.reference_share, [0.5, 0.5])
    np.testing.assert_allclose(result.current_share, [0.8, 0.2])
    np.testing.assert_array_equal(result.edges, [-np.inf, 0.0, np.inf])
    assert result.contributions.sum() == pytest.approx(result.psi, rel=1e-12)


def test_swapping_reference_and_current_changes_psi() -> None:
    # Documented case: reference 0..99, current 0..49. From the reference the median cut (49)
    # leaves the current's upper bin empty (epsilon); from the current the cut is 24, where
    # the reference puts 25 % below and 75 % above.
    wide = np.arange(100.0)
    narrow = np.arange(50.0)
    forward = psi_numeric(wide, narrow, n_bins=2)
    backward = psi_numeric(narrow, wide, n_bins=2)
    np.testing.assert_array_equal(forward.edges, [-np.inf, 49.0, np.inf])
    np.testing.assert_array_equal(backward.edges, [-np.inf, 24.0, np.inf])
    assert forward.psi == pytest.approx(psi_formula([0.5, 0.5], [1.0, 0.0]), rel=1e-12)
    assert backward.psi == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5), rel=1e-12)
    # The numbers quoted in the module docstring.
    assert round(forward.psi, 2) == 4.60 and round(backward.psi, 3) == 0.275


def test_missing_values_get_their_own_bin() -> None:
    ref = np.arange(100.0)
    cur = np.r_[np.arange(100.0), np.full(100, np.nan)]
    result = psi_numeric(ref, cur, n_bins=2)
    assert result.labels[-1] == MISSING
    np.testing.assert_array_equal(result.reference_counts, [50, 50, 0])
    np.testing.assert_array_equal(result.current_counts, [50, 50, 100])
    assert result.psi == pytest.approx(psi_formula([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]), rel=1e-12)
    # The null rate jump alone is flagged as drift at the usual threshold.
    assert result.psi > 0.2


def test_no_missing_bin_without_missing_values() -> None:
    result = psi_numeric(np.arange(10.0), np.arange(10.0) + 0.5, n_bins=5)
    assert MISSING not in result.labels


def test_ties_merge_quantile_bins() -> None:
    rng = np.random.default_rng(1)
    three_values = rng.choice([0.0, 1.0, 2.0], size=1000, p=[0.6, 0.3, 0.1])
    result = psi_numeric(three_values, three_values[::-1], n_bins=10)
    np.testing.assert_array_equal(result.edges, [-np.inf, 0.0, 1.0, np.inf])
    assert result.n_bins == 3
    assert np.all(result.reference_counts > 0)

    binary = np.r_[np.zeros(70), np.ones(30)]
    assert psi_numeric(binary, binary, n_bins=10).n_bins == 2


def test_constant_reference_has_a_single_bin() -> None:
    result = psi_numeric(np.full(50, 3.0), np.arange(50.0))
    assert result.n_bins == 1
    assert result.psi == 0.0
    assert normed_wasserstein(np.full(50, 3.0), np.arange(50.0)) is None


def test_values_outside_the_reference_range_fall_in_outer_bins() -> None:
    ref = np.arange(100.0)
    result = psi_numeric(ref, [-1e9, -5.0, 1e9, 500.0], n_bins=4)
    np.testing.assert_array_equal(result.current_counts, [2, 0, 0, 2])


@settings(deadline=None, max_examples=60)
@given(
    ref=st.lists(
        st.one_of(st.integers(-5, 5).map(float), st.just(float("nan"))), min_size=1, max_size=40
    ),
    cur=st.lists(
        st.one_of(st.integers(-8, 8).map(float), st.just(float("nan"))), min_size=1, max_size=40
    ),
    n_bins=st.integers(1, 8),
)
def test_numeric_psi_matches_slow_oracle(ref: list[float], cur: list[float], n_bins: int) -> None:
    if all(math.isnan(x) for x in ref):
        return  # the oracle needs a reference quantile; this case is tested below
    result = psi_numeric(ref, cur, n_bins=n_bins)
    assert result.psi == pytest.approx(slow_numeric_psi(ref, cur, n_bins), rel=1e-9, abs=1e-12)
    assert result.psi >= 0.0
    assert result.reference_counts.sum() == len(ref)
    assert result.current_counts.sum() == len(cur)
    assert result.reference_share.sum() == pytest.approx(1.0)
    assert result.contributions.sum() == pytest.approx(result.psi, rel=1e-9, abs=1e-15)


def test_all_missing_reference_still_gives_a_psi() -> None:
    result = psi_numeric([np.nan, np.nan], [1.0, np.nan], n_bins=4)
    np.testing.assert_array_equal(result.reference_counts, [0, 2])
    np.testing.assert_array_equal(result.current_counts, [1, 1])
    assert result.psi == pytest.approx(psi_formula([0.0, 1.0], [0.5, 0.5]), rel=1e-12)


def test_pandas_nullable_and_row_order_do_not_matter() -> None:
    ref = pd.Series([1, 2, None, 4, 5, 6, 7, 8], dtype="Int64")
    cur = pd.Series([8, 1, 1, None, None, 2, 3, 9], dtype="Int64")
    a = psi_numeric(ref, cur, n_bins=4)
    b = psi_numeric(ref.iloc[::-1], cur.sample(frac=1, random_state=3), n_bins=4)
    assert a.psi == b.psi
    assert a.labels[-1] == MISSING


# --------------------------------------------------------------------------- categorical PSI


def test_identical_categorical_samples_give_zero() -> None:
    values = ["a", "b", "b", None, "c", "c", "c"]
    assert psi_categorical(values, list(reversed(values))).psi == 0.0


def test_categorical_hand_computed() -> None:
    result = psi_categorical(["x"] * 5 + ["y"] * 5, ["x"] * 8 + ["y"] * 2)
    assert result.labels == ("x", "y")
    assert result.psi == pytest.approx(0.3 * math.log(1.6) - 0.3 * math.log(0.4), rel=1e-12)


def test_unseen_categories_land_in_the_unseen_bin_and_raise_psi() -> None:
    ref = ["a"] * 50 + ["b"] * 50
    seen_only = ["a"] * 45 + ["b"] * 45
    with_new = seen_only + ["c"] * 6 + ["d"] * 4
    base = psi_categorical(ref, seen_only)
    result = psi_categorical(ref, with_new)
    assert result.labels == ("a", "b", UNSEEN)
    np.testing.assert_array_equal(result.reference_counts, [50, 50, 0])
    np.testing.assert_array_equal(result.current_counts, [45, 45, 10])
    assert result.categories == ("a", "b")
    assert result.psi == pytest.approx(psi_formula([0.5, 0.5, 0], [0.45, 0.45, 0.1]), rel=1e-12)
    assert base.psi == 0.0 < result.psi
    # Swapping: "c"/"d" become reference bins, "a"/"b" keep their shares -> another value.
    assert psi_categorical(with_new, ref).psi != pytest.approx(result.psi)


def test_categorical_missing_bin() -> None:
    result = psi_categorical(["a", "b"] * 10, ["a", "b"] * 5 + [None] * 5 + [np.nan] * 5)
    assert result.labels == ("a", "b", MISSING)
    np.testing.assert_array_equal(result.current_counts, [5, 5, 10])


def test_categorical_dtypes_interoperate() -> None:
    ref = pd.Series(pd.Categorical(["a", "b", "b"], categories=["a", "b", "zz_unused"]))
    cur = pd.Series(["b", "a", "a", "q"], dtype="str")
    result = psi_categorical(ref, cur)
    assert result.labels == ("a", "b", UNSEEN)  # unused categories are not bins
    np.testing.assert_array_equal(result.current_counts, [2, 1, 1])
    as_objects = psi_categorical(["a", "b", "b"], ["b", "a", "a", "q"])
    assert result.psi == as_objects.psi


def test_categorical_integer_labels() -> None:
    result = psi_categorical(np.array([1, 2, 2, 10]), np.array([10, 10, 2, 3]))
    assert result.categories == (1, 10, 2)  # string order, independent of rows
    np.testing.assert_array_equal(result.current_counts, [0, 2, 1, 1])


# --------------------------------------------------------------------------- no-shift expectation


def test_expected_psi_no_shift_formula() -> None:
    assert expected_psi_no_shift(10, 1000, 500) == pytest.approx(9 * (1 / 1000 + 1 / 500))
    assert expected_psi_no_shift(1, 10, 10) == 0.0
    with pytest.raises(ValueError, match="n_ref"):
        expected_psi_no_shift(10, 0, 5)


@pytest.mark.parametrize(("n_ref", "n_cur"), [(2000, 2000), (4000, 800)])
def test_mean_numeric_psi_under_no_shift_matches_expectation(n_ref: int, n_cur: int) -> None:
    rng = np.random.default_rng(12345)
    psis = [
        psi_numeric(rng.gamma(2.0, size=n_ref), rng.gamma(2.0, size=n_cur), n_bins=10).psi
        for _ in range(300)
    ]
    expected = expected_psi_no_shift(10, n_ref, n_cur)
    assert np.mean(psis) == pytest.approx(expected, rel=0.25)


def test_mean_categorical_psi_under_no_shift_matches_expectation() -> None:
    rng = np.random.default_rng(7)
    labels, p = np.array(list("abcdef")), [0.3, 0.25, 0.2, 0.1, 0.1, 0.05]
    psis = [
        psi_categorical(rng.choice(labels, 3000, p=p), rng.choice(labels, 1000, p=p)).psi
        for _ in range(300)
    ]
    assert np.mean(psis) == pytest.approx(expected_psi_no_shift(6, 3000, 1000), rel=0.25)


# --------------------------------------------------------------------------- distances


@settings(deadline=None, max_examples=80)
@given(
    u=st.lists(st.integers(-20, 20), min_size=1, max_size=50),
    v=st.lists(st.integers(-30, 30), min_size=1, max_size=50),
)
def test_wasserstein_matches_scipy(u: list[int], v: list[int]) -> None:
    u_arr, v_arr = np.asarray(u, float) / 3, np.asarray(v, float) / 7
    std = u_arr.std()
    got = normed_wasserstein(u_arr, v_arr)
    if std == 0:
        assert got is None
    else:
        assert got == pytest.approx(wasserstein_distance(u_arr, v_arr) / std, rel=1e-10, abs=1e-12)


def test_wasserstein_large_unequal_samples_and_missing() -> None:
    rng = np.random.default_rng(3)
    u, v = rng.normal(size=30_001), rng.normal(0.3, 2.0, size=12_345)
    expected = wasserstein_distance(u, v) / u.std()
    v_with_nan = np.r_[v, np.full(100, np.nan)]
    assert normed_wasserstein(u, v_with_nan) == pytest.approx(expected, rel=1e-10)
    assert normed_wasserstein(u, u + 2 * u.std()) == pytest.approx(2.0, rel=1e-12)
    assert normed_wasserstein(u, [np.nan]) is None


@pytest.mark.parametrize(("n", "m"), [(1000, 1000), (1000, 333), (257, 1001)])
def test_wasserstein_in_small_slices_matches_scipy(
    n: int, m: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The value table is summed in blocks of BLOCK rows; shrink it to cross many borders.
    monkeypatch.setattr(counts, "BLOCK", 7)
    rng = np.random.default_rng(n + m)
    u, v = rng.normal(size=n).round(1), rng.gamma(2.0, size=m).round(1)
    expected = wasserstein_distance(u, v) / u.std()
    assert normed_wasserstein(u, v) == pytest.approx(expected, rel=1e-10)


def test_jensen_shannon_distance() -> None:
    assert jensen_shannon_distance(list("aabbc"), list("cbaba")) == 0.0
    assert jensen_shannon_distance(list("aaaa"), list("bbbb")) == pytest.approx(1.0)
    ref, cur = list("aaab") + [None], list("abbbc")
    expected = jensenshannon([0.6, 0.2, 0, 0.2], [0.2, 0.6, 0.2, 0], base=2)
    assert jensen_shannon_distance(ref, cur) == pytest.approx(expected, rel=1e-12)
    assert 0.0 < expected < 1.0


# --------------------------------------------------------------------------- report


def _frames(n: int = 4000, shift: float = 0.0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(mean: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "income": rng.lognormal(10, 0.5, n),
                "age": rng.normal(40 + mean * 12, 12, n),
                "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
            }
        )

    return frame(0.0), frame(shift)


def test_report_flags_a_large_mean_shift() -> None:
    ref, cur = _frames(shift=1.0)
    report = drift_report(ref, cur, numeric=["income", "age"], categorical=["plan"])
    assert report["drifted_features"] == ["age"]
    assert report["retrain_recommended"] is True
    assert report["max_psi_feature"] == "age"
    age = report["features"]["age"]
    assert age["drifted"] is True and age["psi"] > 0.2
    assert age["distance"] == pytest.approx(1.0, abs=0.1)
    assert age["distance_name"] == "normed_wasserstein"
    plan = report["features"]["plan"]
    assert plan["kind"] == "categorical" and plan["distance_name"] == "jensen_shannon"
    assert plan["n_bins_used"] == 3


def test_report_without_shift_is_quiet_and_json_ready() -> None:
    ref, cur = _frames(shift=0.0)
    report = drift_report(ref, cur, numeric=["age", "income"], categorical=["plan"])
    assert report["drifted_features"] == []
    assert report["retrain_recommended"] is False
    assert list(report["features"]) == ["age", "income", "plan"]
    assert set(report["features"]["age"]) == {
        "kind",
        "psi",
        "expected_psi_no_shift",
        "distance",
        "distance_name",
        "drifted",
        "n_bins_used",
    }
    assert report["features"]["age"]["expected_psi_no_shift"] == pytest.approx(9 * 2 / 4000)
    assert report["n_reference"] == report["n_current"] == 4000
    assert report["threshold"] == 0.2
    text = json.dumps(report, allow_nan=False)
    # Same input in another row and column order -> byte-identical output.
    shuffled = drift_report(
        ref.sample(frac=1, random_state=1)[["plan", "age", "income"]],
        cur.sample(frac=1, random_state=2),
        numeric=["income", "age"],
        categorical=["plan"],
    )
    assert json.dumps(shuffled, allow_nan=False) == text
    for value in report["features"]["income"].values():
        assert type(value) in (str, float, int, bool)


def test_report_threshold_is_strict() -> None:
    ref = pd.DataFrame({"x": np.r_[np.zeros(50), np.ones(50)]})
    cur = pd.DataFrame({"x": np.r_[np.zeros(80), np.ones(20)]})
    psi = psi_numeric(ref["x"], cur["x"], n_bins=2).psi
    at = drift_report(ref, cur, numeric=["x"], categorical=[], n_bins=2, threshold=psi)
    below = drift_report(ref, cur, numeric=["x"], categorical=[], n_bins=2, threshold=psi * 0.99)
    assert at["drifted_features"] == [] and below["drifted_features"] == ["x"]


def test_report_distance_is_none_when_undefined() -> None:
    ref = pd.DataFrame({"x": [1.0, 1.0, 1.0]})
    cur = pd.DataFrame({"x": [1.0, 2.0, np.nan]})
    report = drift_report(ref, cur, numeric=["x"], categorical=[])
    assert report["features"]["x"]["distance"] is None
    assert report["features"]["x"]["n_bins_used"] == 2  # one value bin + missing


@pytest.mark.parametrize(
    ("drop_from", "message"),
    [("ref", "missing from the reference data"), ("cur", "missing from the current data")],
)
def test_report_missing_column_names_column_and_side(drop_from: str, message: str) -> None:
    ref, cur = _frames(n=50)
    if drop_from == "ref":
        ref = ref.drop(columns="age")
    else:
        cur = cur.drop(columns="age")
    with pytest.raises(ValueError, match=f"'age' is {message}"):
        drift_report(ref, cur, numeric=["age"], categorical=["plan"])


def test_report_column_missing_on_both_sides() -> None:
    ref, cur = _frames(n=50)
    with pytest.raises(ValueError, match="'tenure' is missing from the reference and current"):
        drift_report(ref, cur, numeric=["tenure"], categorical=[])


def test_report_rejects_bad_input() -> None:
    ref, cur = _frames(n=50)
    with pytest.raises(ValueError, match="current_df is empty"):
        drift_report(ref, cur.iloc[:0], numeric=["age"], categorical=[])
    with pytest.raises(ValueError, match="reference_df is empty"):
        drift_report(ref.iloc[:0], cur, numeric=["age"], categorical=[])
    with pytest.raises(ValueError, match="no features"):
        drift_report(ref, cur, numeric=[], categorical=[])
    with pytest.raises(ValueError, match="listed twice"):
        drift_report(ref, cur, numeric=["age"], categorical=["age"])
    with pytest.raises(ValueError, match="'plan' is listed as numeric"):
        drift_report(ref, cur, numeric=["plan"], categorical=[])
    with pytest.raises(ValueError, match="threshold"):
        drift_report(ref, cur, numeric=["age"], categorical=[], threshold=0)
    with pytest.raises(ValueError, match="n_bins"):
        drift_report(ref, cur, numeric=["age"], categorical=[], n_bins=0)
    with pytest.raises(ValueError, match="epsilon"):
        drift_report(ref, cur, numeric=["age"], categorical=[], epsilon=0.0)


def test_functions_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="reference is empty"):
        psi_numeric([], [1.0])
    with pytest.raises(ValueError, match="current is empty"):
        psi_categorical(["a"], [])
    with pytest.raises(ValueError, match="infinite"):
        psi_numeric([1.0, np.inf], [1.0])
    with pytest.raises(ValueError, match="n_bins"):
        psi_numeric([1.0], [1.0], n_bins=True)
    with pytest.raises(ValueError, match="epsilon"):
        psi_categorical(["a"], ["a"], epsilon=1.5)
    with pytest.raises(ValueError, match="numeric"):
        psi_numeric(pd.Series(["a", "b"]), [1.0])
