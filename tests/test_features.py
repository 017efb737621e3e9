"""Feature transformers and the spec-driven preprocessor: known answers on tiny frames."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from mlgate.errors import DataError, ParamsError
from mlgate.features import (
    MISSING_CATEGORY,
    CyclicalDateEncoder,
    DaysSince,
    FeatureSpec,
    FrequencyEncoder,
    build_preprocessor,
)

# --------------------------------------------------------------------------- FrequencyEncoder


def test_frequency_known_shares_unseen_and_missing_are_zero():
    train = pd.DataFrame({"city": ["a", "a", "b", None]})
    enc = FrequencyEncoder().fit(train)
    out = enc.transform(pd.DataFrame({"city": ["a", "b", "zzz", None, np.nan]}))
    np.testing.assert_array_equal(out[:, 0], [0.5, 0.25, 0.0, 0.0, 0.0])
    assert out.dtype == np.float64
    assert list(enc.get_feature_names_out()) == ["city"]


def test_frequency_several_columns_keep_their_own_shares():
    train = pd.DataFrame({"a": ["x", "y", "y", "y"], "b": [1, 1, 2, 3]})
    out = FrequencyEncoder().fit_transform(train)
    np.testing.assert_array_equal(out, [[0.25, 0.5], [0.75, 0.5], [0.75, 0.25], [0.75, 0.25]])


def test_frequency_matches_integer_categories_after_they_become_float():
    # An integer column turns float as soon as a NaN appears at scoring time.
    enc = FrequencyEncoder().fit(pd.DataFrame({"code": [3, 3, 7, 9]}))
    out = enc.transform(pd.DataFrame({"code": [3.0, np.nan, 7.0, 8.0]}))
    np.testing.assert_array_equal(out[:, 0], [0.5, 0.0, 0.25, 0.0])


def test_frequency_categorical_dtype_with_unseen_category():
    train = pd.DataFrame({"c": pd.Categorical(["u", "v", "u", "u"])})
    enc = FrequencyEncoder().fit(train)
    test = pd.DataFrame({"c": pd.Categorical(["v", "w", None], categories=["u", "v", "w"])})
    np.testing.assert_array_equal(enc.transform(test)[:, 0], [0.25, 0.0, 0.0])


def test_frequency_works_on_numpy_arrays_with_generic_names():
    enc = FrequencyEncoder().fit(np.array([["a"], ["b"], ["b"]], dtype=object))
    np.testing.assert_allclose(enc.transform(np.array([["b"]], dtype=object)), [[2 / 3]])
    assert list(enc.get_feature_names_out()) == ["x0"]


def test_frequency_refuses_empty_training_data():
    with pytest.raises(ValueError, match="at least one training row"):
        FrequencyEncoder().fit(pd.DataFrame({"c": pd.Series([], dtype=object)}))


def test_frequency_state_is_deterministic_and_picklable():
    frame = pd.DataFrame({"c": list("abcabcaab") * 10})
    first, second = FrequencyEncoder().fit(frame), FrequencyEncoder().fit(frame)
    assert pickle.dumps(first) == pickle.dumps(second)
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.transform(frame), first.transform(frame))


@settings(deadline=None, max_examples=40)
@given(st.lists(st.one_of(st.none(), st.sampled_from(list("abcde"))), min_size=1, max_size=40))
def test_frequency_equals_count_over_rows(values):
    frame = pd.DataFrame({"c": pd.Series(values, dtype=object)})
    out = FrequencyEncoder().fit_transform(frame)[:, 0]
    n = len(values)
    expected = [values.count(v) / n if v is not None else 0.0 for v in values]
    np.testing.assert_allclose(out, expected)
    # Shares over all rows: the distinct categories sum to 1 minus the missing rate.
    shares = {v: s for v, s in zip(values, out, strict=True) if v is not None}
    assert sum(shares.values()) == pytest.approx(1 - values.count(None) / n)


@parametrize_with_checks([FrequencyEncoder()])
def test_frequency_passes_sklearn_estimator_checks(estimator, check):
    # scikit-learn's own conventions: clone, pickling, set_output, input validation...
    # The date transformers refuse numeric input on purpose, so they cannot run these checks.
    check(estimator)


# --------------------------------------------------------------------------- CyclicalDateEncoder


def test_cyclical_known_angles_for_months_and_weekdays():
    # 2024-01-01 is a Monday (day_of_week 0); 2024-04-04 is a Thursday (3).
    dates = pd.DataFrame({"d": pd.to_datetime(["2024-01-01", "2024-04-04", "2024-07-01"])})
    out = CyclicalDateEncoder().fit_transform(dates)
    month_phase = np.array([0, 3, 6]) / 12
    weekday_phase = np.array([0, 3, 0]) / 7
    expected = np.column_stack(
        [
            np.sin(2 * np.pi * month_phase),
            np.cos(2 * np.pi * month_phase),
            np.sin(2 * np.pi * weekday_phase),
            np.cos(2 * np.pi * weekday_phase),
        ]
    )
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_cyclical_december_is_next_to_january():
    dates = pd.DataFrame({"d": pd.to_datetime(["2023-12-15", "2024-01-15", "2024-06-15"])})
    out = CyclicalDateEncoder(parts=("month",)).fit_transform(dates)
    dec_jan = np.linalg.norm(out[0] - out[1])
    jan_jun = np.linalg.norm(out[1] - out[2])
    assert dec_jan < 0.6 < jan_jun


def test_cyclical_iso_strings_equal_datetimes_and_missing_is_origin():
    strings = pd.DataFrame({"d": ["2024-03-10", "2024-03-10T12:30:00", None, ""]})
    parsed = pd.DataFrame(
        {"d": pd.to_datetime(["2024-03-10", "2024-03-10T12:30:00", None, None], format="ISO8601")}
    )
    enc = CyclicalDateEncoder(parts=("month", "dayofweek", "hour"))
    out = enc.fit_transform(strings)
    np.testing.assert_allclose(out, enc.fit_transform(parsed))
    np.testing.assert_array_equal(out[2:], 0.0)
    hour_phase = 12.5 / 24
    np.testing.assert_allclose(
        out[1, 4:6], [np.sin(2 * np.pi * hour_phase), np.cos(2 * np.pi * hour_phase)]
    )


def test_cyclical_feature_names_per_column_and_part():
    frame = pd.DataFrame({"a": ["2024-01-01"], "b": ["2024-01-02"]})
    enc = CyclicalDateEncoder(parts=["quarter"]).fit(frame)
    assert list(enc.get_feature_names_out()) == [
        "a_quarter_sin",
        "a_quarter_cos",
        "b_quarter_sin",
        "b_quarter_cos",
    ]
    assert enc.transform(frame).shape == (1, 4)


def test_cyclical_all_parts_stay_on_the_unit_circle():
    dates = pd.DataFrame({"d": pd.date_range("2023-01-01", periods=800, freq="13h")})
    parts = ("month", "quarter", "dayofweek", "dayofmonth", "dayofyear", "hour")
    out = CyclicalDateEncoder(parts=parts).fit_transform(dates)
    radius = out[:, 0::2] ** 2 + out[:, 1::2] ** 2
    np.testing.assert_allclose(radius, 1.0)


def test_cyclical_timezone_aware_dates_are_read_in_utc():
    aware = pd.DataFrame({"d": pd.to_datetime(["2024-01-01 01:00"]).tz_localize("Europe/Berlin")})
    naive = pd.DataFrame({"d": pd.to_datetime(["2024-01-01 00:00"])})
    enc = CyclicalDateEncoder(parts=("hour",))
    np.testing.assert_allclose(enc.fit_transform(aware), enc.fit_transform(naive), atol=1e-12)


@pytest.mark.parametrize("parts", [("month", "season"), (), ("month", "month")])
def test_cyclical_invalid_parts_raise_at_fit(parts):
    enc = CyclicalDateEncoder(parts=parts)  # no validation in __init__, as sklearn expects
    with pytest.raises(ValueError, match="parts"):
        enc.fit(pd.DataFrame({"d": ["2024-01-01"]}))


def test_cyclical_unparseable_date_names_column_and_example():
    with pytest.raises(DataError, match=r"'signup'.*1 value.*not-a-date"):
        CyclicalDateEncoder().fit(pd.DataFrame({"signup": ["2024-01-01", "not-a-date"]}))


def test_cyclical_numeric_column_is_refused_not_read_as_epoch():
    with pytest.raises(DataError, match="'n'.*int64"):
        CyclicalDateEncoder().fit(pd.DataFrame({"n": [1, 2, 3]}))


# --------------------------------------------------------------------------- DaysSince


def test_days_since_known_values_and_missing_is_nan():
    frame = pd.DataFrame({"d": ["2024-01-01", "2024-02-01T12:00:00", None, "2024-03-01"]})
    enc = DaysSince(reference_date="2024-01-31")
    out = enc.fit_transform(frame)
    np.testing.assert_array_equal(out[[0, 1, 3], 0], [30.0, -1.5, -30.0])
    assert np.isnan(out[2, 0])
    assert list(enc.get_feature_names_out()) == ["d"]


def test_days_since_datetime_and_strings_agree():
    strings = pd.DataFrame({"d": ["2020-05-17", "2021-11-02"]})
    dates = strings.apply(pd.to_datetime)
    enc = DaysSince(reference_date="2022-01-01")
    np.testing.assert_array_equal(enc.fit_transform(strings), enc.fit_transform(dates))


@pytest.mark.parametrize("reference", [None, "soon", "2024-13-45"])
def test_days_since_needs_a_valid_reference(reference):
    with pytest.raises(ValueError, match="reference_date"):
        DaysSince(reference_date=reference).fit(pd.DataFrame({"d": ["2024-01-01"]}))


# --------------------------------------------------------------------------- sklearn protocol


@pytest.mark.parametrize(
    ("transformer", "params"),
    [
        (FrequencyEncoder(), {}),
        (CyclicalDateEncoder(parts=("month",)), {"parts": ("month",)}),
        (DaysSince(reference_date="2024-01-01"), {"reference_date": "2024-01-01"}),
    ],
)
def test_clone_and_get_params(transformer, params):
    assert transformer.get_params() == params
    copy = clone(transformer)
    assert copy is not transformer
    assert copy.get_params() == params


def test_transformers_work_inside_column_transformer_with_pandas_output():
    frame = pd.DataFrame(
        {
            "city": ["a", "b", "a", "c"],
            "when": ["2024-01-01", "2024-06-01", None, "2024-12-31"],
            "ignored": [1, 2, 3, 4],
        }
    )
    ct = ColumnTransformer(
        [
            ("freq", FrequencyEncoder(), ["city"]),
            ("cyc", CyclicalDateEncoder(parts=("month",)), ["when"]),
            ("age", DaysSince(reference_date="2025-01-01"), ["when"]),
        ]
    ).set_output(transform="pandas")
    out = ct.fit_transform(frame)
    assert list(out.columns) == [
        "freq__city",
        "cyc__when_month_sin",
        "cyc__when_month_cos",
        "age__when",
    ]
    assert out.shape == (4, 4)
    np.testing.assert_array_equal(out["freq__city"], [0.5, 0.25, 0.5, 0.25])
    assert out["age__when"].isna().tolist() == [False, False, True, False]


# --------------------------------------------------------------------------- FeatureSpec


def test_spec_turns_lists_into_tuples_and_lists_columns_once():
    spec = FeatureSpec(
        numeric=["n"],
        categorical=["c"],
        cyclical_dates=["d"],
        days_since_dates=["d"],
        date_reference="2024-01-01",
    )
    assert spec.numeric == ("n",)
    assert spec.columns == ("n", "c", "d")
    hash(spec)  # frozen and hashable


def test_spec_refuses_a_column_with_two_treatments():
    with pytest.raises(
        ParamsError, match=r"features.frequency: column 'city'.*features.categorical"
    ):
        FeatureSpec(categorical=("city",), frequency=("city",))


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({}, "no feature columns"),
        ({"numeric": ("a", "a")}, "features.numeric"),
        ({"numeric": "abc"}, "features.numeric"),
        ({"numeric": ("a", 3)}, "features.numeric"),
        ({"days_since_dates": ("d",)}, "features.date_reference"),
        ({"days_since_dates": ("d",), "date_reference": "yesterday"}, "features.date_reference"),
        ({"cyclical_dates": ("d",), "cyclical_parts": ("season",)}, "features.cyclical_parts"),
    ],
)
def test_spec_errors_name_the_key(kwargs, key):
    with pytest.raises(ParamsError, match=key):
        FeatureSpec(**kwargs)


# --------------------------------------------------------------------------- build_preprocessor


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 200
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(0, 60, n),
            "spend": rng.normal(50.0, 10.0, n),
            "flag": rng.random(n) < 0.3,
            "plan": rng.choice(["monthly", "annual", "multi-year"], n),
            "code": rng.choice([1, 2, 3], n),
            "city": rng.choice([f"c{i}" for i in range(40)], n),
            "signup": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D"),
            "unused": rng.normal(size=n),
        }
    )
    frame.loc[[1, 2], "spend"] = np.nan
    frame.loc[3, "plan"] = None
    frame.loc[4, "signup"] = pd.NaT
    return frame


@pytest.fixture
def full_spec() -> FeatureSpec:
    return FeatureSpec(
        numeric=("tenure", "spend", "flag"),
        categorical=("plan", "code"),
        frequency=("city",),
        cyclical_dates=("signup",),
        days_since_dates=("signup",),
        date_reference="2024-06-30",
    )


def test_preprocessor_names_shape_and_no_nan(mixed_frame, full_spec):
    pre = build_preprocessor(full_spec, scale_numeric=True)
    out = pre.fit_transform(mixed_frame)
    names = list(pre.get_feature_names_out())
    assert names == [
        "numeric__tenure",
        "numeric__spend",
        "numeric__flag",
        f"categorical__plan_{MISSING_CATEGORY}",
        "categorical__plan_annual",
        "categorical__plan_monthly",
        "categorical__plan_multi-year",
        "categorical__code_1",
        "categorical__code_2",
        "categorical__code_3",
        "frequency__city",
        "cyclical__signup_month_sin",
        "cyclical__signup_month_cos",
        "cyclical__signup_dayofweek_sin",
        "cyclical__signup_dayofweek_cos",
        "days_since__signup",
    ]
    assert out.shape == (len(mixed_frame), len(names))
    assert out.dtype == np.float64
    assert not np.isnan(out).any()


def test_preprocessor_scales_only_when_asked(mixed_frame, full_spec):
    scaled = build_preprocessor(full_spec, scale_numeric=True).set_output(transform="pandas")
    raw = build_preprocessor(full_spec, scale_numeric=False).set_output(transform="pandas")
    s, r = scaled.fit_transform(mixed_frame), raw.fit_transform(mixed_frame)
    for col in ("numeric__tenure", "numeric__spend", "frequency__city", "days_since__signup"):
        assert s[col].mean() == pytest.approx(0.0, abs=1e-9)
        assert s[col].std(ddof=0) == pytest.approx(1.0)
    np.testing.assert_array_equal(r["numeric__tenure"], mixed_frame["tenure"])
    assert r["numeric__flag"].tolist() == mixed_frame["flag"].astype(float).tolist()
    # the median imputation is visible in the unscaled output
    assert r["numeric__spend"].iloc[1] == pytest.approx(mixed_frame["spend"].median())


def test_preprocessor_handles_unseen_and_missing_categories(mixed_frame, full_spec):
    pre = build_preprocessor(full_spec, scale_numeric=False).set_output(transform="pandas")
    pre.fit(mixed_frame)
    new = mixed_frame.head(3).copy()
    new["plan"] = ["lifetime", None, "annual"]
    new["city"] = ["atlantis", "c1", None]
    new["code"] = [2.0, np.nan, 3.0]  # integer codes arrive as floats once a NaN is present
    out = pre.transform(new)
    plan_cols = [c for c in out.columns if c.startswith("categorical__plan_")]
    assert out.loc[0, plan_cols].sum() == 0.0  # unseen -> all zeros, no crash
    assert out.loc[1, f"categorical__plan_{MISSING_CATEGORY}"] == 1.0
    assert out.loc[2, "categorical__plan_annual"] == 1.0
    assert out.loc[0, "categorical__code_2"] == 1.0
    assert out.loc[2, "categorical__code_3"] == 1.0
    assert (
        out.loc[1, ["categorical__code_1", "categorical__code_2", "categorical__code_3"]].sum()
        == 0
    )
    assert out.loc[0, "frequency__city"] == 0.0
    assert out.loc[2, "frequency__city"] == 0.0


def test_preprocessor_bool_categorical_with_missing_values():
    frame = pd.DataFrame({"flag": pd.array([True, False, None, True], dtype="boolean")})
    pre = build_preprocessor(FeatureSpec(categorical=("flag",)), scale_numeric=False)
    out = pre.fit_transform(frame)
    assert list(pre.get_feature_names_out()) == [
        "categorical__flag_False",
        "categorical__flag_True",
        f"categorical__flag_{MISSING_CATEGORY}",
    ]
    np.testing.assert_array_equal(out, [[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]])


def test_preprocessor_omits_empty_groups_and_drops_unlisted_columns(mixed_frame):
    pre = build_preprocessor(FeatureSpec(frequency=("city",)), scale_numeric=False)
    out = pre.fit_transform(mixed_frame)
    assert [name for name, _, _ in pre.transformers] == ["frequency"]
    assert out.shape == (len(mixed_frame), 1)


def test_preprocessor_clone_and_pickle_give_the_same_output(mixed_frame, full_spec):
    pre = build_preprocessor(full_spec, scale_numeric=True)
    expected = pre.fit_transform(mixed_frame)
    np.testing.assert_array_equal(clone(pre).fit_transform(mixed_frame), expected)
    restored = pickle.loads(pickle.dumps(pre))
    np.testing.assert_array_equal(restored.transform(mixed_frame), expected)


def test_preprocessor_reads_columns_by_name_in_any_order(mixed_frame, full_spec):
    pipe = Pipeline([("features", build_preprocessor(full_spec, scale_numeric=False))])
    pipe.fit(mixed_frame)
    shuffled = mixed_frame[list(reversed(mixed_frame.columns))]
    np.testing.assert_array_equal(pipe.transform(shuffled), pipe.transform(mixed_frame))
