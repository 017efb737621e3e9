"""mlgate.behavioral: spec loading, each test type against models with a known answer,
perturbations, skipping, vectorisation, model errors, and the shipped churn spec."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.behavioral import (
    EXAMPLE_COLUMNS,
    UNSEEN,
    BehavioralSpec,
    load_spec,
    run_suite,
)
from mlgate.errors import ArtifactError, DataError, ParamsError

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "contracts" / "behavioral.yaml"
CONTRACT = {"monthly": 0.0, "annual": -1.5, "multi-year": -2.8}


class LinearChurn:
    """predict_proba = sigmoid(intercept + sum(coef * column) + effect[category]).

    ``unseen`` says what an unknown category contributes: "zero", "nan" or "raise".
    Every call's row count is recorded, so tests can check vectorisation.
    """

    def __init__(
        self,
        numeric: dict[str, float] | None = None,
        categorical: dict[str, dict[str, float]] | None = None,
        intercept: float = 0.0,
        unseen: str = "zero",
    ) -> None:
        self.numeric = numeric or {}
        self.categorical = categorical or {}
        self.intercept = intercept
        self.unseen = unseen
        self.calls: list[int] = []

    def logit(self, X: pd.DataFrame) -> np.ndarray:
        z = np.full(len(X), self.intercept, dtype=float)
        for column, coef in self.numeric.items():
            z += coef * X[column].to_numpy(dtype=float, na_value=np.nan)
        for column, effects in self.categorical.items():
            values = X[column].astype(object).map(effects).to_numpy(dtype=float)
            unknown = np.isnan(values)
            if unknown.any() and self.unseen == "raise":
                raise ValueError(f"unknown category in {column}")
            if self.unseen == "zero":
                values = np.where(unknown, 0.0, values)
            z += values
        return z

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        self.calls.append(len(X))
        p = 1.0 / (1.0 + np.exp(-self.logit(X)))
        return np.column_stack([1.0 - p, p])


def true_model(**kw: Any) -> LinearChurn:
    categorical = {"contract_type": dict(CONTRACT)}
    categorical.update(kw.pop("categorical", {}))
    numeric = {"tenure_months": -0.05, "support_tickets": 0.65, "is_enterprise": -0.9}
    numeric.update(kw.pop("numeric", {}))
    return LinearChurn(numeric=numeric, categorical=categorical, intercept=-0.5, **kw)


def make_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A small churn-like table with the columns of the synthetic data (own, for speed)."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["monthly", "annual", "multi-year"], n, p=[0.55, 0.3, 0.15])
    tenure = rng.integers(0, 72, n)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n, dtype="int64") + 100_000,
            "signup_date": pd.Timestamp("2026-01-01") - pd.to_timedelta(tenure * 30, unit="D"),
            "tenure_months": tenure,
            "monthly_spend": np.round(rng.lognormal(np.log(55), 0.4, n), 2),
            "contract_type": contract,
            "is_enterprise": rng.random(n) < 0.1,
            "region": rng.choice(["north", "south", "east", "west"], n),
            "city": rng.choice([f"city_{i:03d}" for i in range(1, 31)], n),
            "support_tickets": rng.poisson(1.2, n),
            "churned": rng.integers(0, 2, n),
        }
    )


@pytest.fixture
def holdout() -> pd.DataFrame:
    return make_frame()


def spec_of(*tests: dict, **top: Any) -> BehavioralSpec:
    return load_spec({"tests": list(tests), **top}, source="behavioral.yaml")


def one(result: dict, name: str) -> dict:
    return next(t for t in result["tests"] if t["name"] == name)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# --------------------------------------------------------------------------- spec loading

VALID_DIR = {
    "name": "contract_dir",
    "type": "dir",
    "perturb": {"set": {"contract_type": "annual"}},
    "expect": "decrease",
}


def four_tests(**override: Any) -> list[dict]:
    fourth = {**VALID_DIR, **override}
    return [
        {"name": "a", "type": "coverage"},
        {"name": "b", "type": "inv", "perturb": {"rekey": "customer_id"}, "tolerance": 0},
        {
            "name": "c",
            "type": "mft",
            "cases": [{"tenure_months": 1}],
            "expect": {"score_above": 0.5},
        },
        fourth,
    ]


def load_error(tests: list[dict], **top: Any) -> str:
    with pytest.raises(ParamsError) as err:
        load_spec({"tests": tests, **top}, source="behavioral.yaml")
    return str(err.value)


def test_missing_key_is_reported_by_index_and_name():
    tests = four_tests()
    del tests[3]["expect"]
    assert load_error(tests) == "behavioral.yaml: tests[3] 'contract_dir': missing key 'expect'"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"type": "directional"}, "tests[3] 'contract_dir': type: expected one of mft, inv"),
        ({"expect": "down"}, "tests[3] 'contract_dir': expect: expected one of increase"),
        ({"threshold": 1.5}, "tests[3] 'contract_dir': threshold: expected a number in [0, 1]"),
        ({"threshold": "10%"}, "threshold: expected a number in [0, 1], got str '10%'"),
        ({"treshold": 0.1}, "unknown key 'treshold' for a dir test; did you mean 'threshold'?"),
        ({"cases": []}, "unknown key 'cases' for a dir test"),
        ({"tolerance": 0.1}, "tolerance applies to not_increase / not_decrease"),
        ({"expect": "not_increase", "min_delta": 0.1}, "min_delta applies to increase"),
        ({"min_delta": -0.1}, "min_delta: expected a number >= 0"),
        ({"min_delta": "1e-3"}, "write e.g. 1.0e-9"),
        ({"min_rows": 0}, "min_rows: expected an integer >= 1"),
        ({"perturb": {"scale": {"x": 2}}}, "unknown key 'perturb.scale'; expected one of"),
        ({"perturb": [{"set": {"a": 1}}, {"add": {"b": "x"}}]}, "perturb[1].add.b: expected"),
        ({"perturb": {"set": {"a": 1}, "add": {"b": 1}}}, "exactly one of set, map"),
        ({"perturb": {"map": {"region": ["a"]}}}, "perturb.map.region: expected a mapping"),
        ({"perturb": {"shuffle": ["a"]}}, "perturb.shuffle: expected a column name"),
        ({"perturb": {"multiply": {"a": float("inf")}}}, "expected a finite number"),
        ({"perturb": []}, "perturb: expected at least one perturbation"),
        ({"rows": {"column": "x", "op": "=~", "value": 1}}, "'contract_dir': rows.op: unknown"),
    ],
)
def test_spec_errors_name_the_test_and_key(override, message):
    text = load_error(four_tests(**override))
    assert text.startswith("behavioral.yaml: tests[3]")
    assert message in text


@pytest.mark.parametrize(
    ("tests", "top", "message"),
    [
        ([], {}, "behavioral.yaml: tests: expected a non-empty list"),
        ([{"type": "mft"}], {}, "tests[0]: missing key 'name'"),
        (["mft"], {}, "tests[0]: expected a mapping"),
        ([{"name": "x", "type": "coverage"}] * 2, {}, "tests[1] 'x': duplicate name; tests[0]"),
        ([{"name": "x", "type": "coverage"}], {"min_row": 3}, "unknown key 'min_row'"),
        ([{"name": "x", "type": "coverage"}], {"min_rows": 2.5}, "min_rows: expected an integer"),
        ([{"name": "x", "type": "coverage"}], {"fail_on_skip": "no"}, "fail_on_skip: expected"),
        ([{"name": "x", "type": "coverage"}], {"base": [1]}, "base: expected a mapping"),
        (
            [{"name": "x", "type": "coverage", "unseen_categories": ["a"], "missing": ["a"]}],
            {},
            "column 'a' is in both unseen_categories and missing",
        ),
        ([{"name": "x", "type": "coverage", "missing": "a"}], {}, "missing: expected a list"),
        (
            [{"name": "m", "type": "mft", "cases": [{"a": 1}], "expect": {"above": 0.5}}],
            {},
            "tests[0] 'm': unknown key 'expect.above'; did you mean 'score_above'?",
        ),
        (
            [{"name": "m", "type": "mft", "cases": [{"a": 1}],
              "expect": {"score_above": 0.8, "score_below": 0.2}}],
            {},
            "score_above (0.8) must be smaller than score_below (0.2)",
        ),
        (
            [{"name": "m", "type": "mft", "cases": [{"a": [1, 2]}], "expect": {"score_below": 1}}],
            {},
            "tests[0] 'm': cases[0].a: expected a single value",
        ),
        (
            [{"name": "m", "type": "mft", "cases": [], "expect": {"score_below": 1}}],
            {},
            "cases: expected a non-empty list",
        ),
        (
            [{"name": "d", "type": "dir", "expect": "increase",
              "perturb": {"add": {"d": "soon"}}}],
            {},
            "perturb.add.d: expected a number, or a duration",
        ),
    ],
)  # fmt: skip
def test_other_spec_errors(tests, top, message):
    assert message in load_error(tests, **top)


def test_every_spec_problem_is_reported_in_one_pass():
    tests = four_tests(expect="down", treshold=0.1)
    tests[1]["perturb"] = {"rekey": ""}
    tests[0]["rows"] = {"column": "x", "op": "=~", "value": 1}
    text = load_error(tests, min_rows=0)
    lines = text.splitlines()
    assert lines[0] == "behavioral.yaml: 5 problems:"
    assert lines[1:] == [
        "  tests[0] 'a': rows.op: unknown operator '=~'; expected one of ==, !=, <, <=, >, >=, "
        "in, not_in, is_null, not_null",
        "  tests[1] 'b': perturb.rekey: expected a column name, got str ''",
        "  tests[3] 'contract_dir': expect: expected one of increase, decrease, not_increase, "
        "not_decrease, got str 'down'",
        "  tests[3] 'contract_dir': unknown key 'treshold' for a dir test; did you mean "
        "'threshold'?",
        "  min_rows: expected an integer >= 1, got int 0",
    ]


def test_spec_must_be_a_mapping():
    message = "behavioral.yaml: top level: expected a mapping with a 'tests'"
    with pytest.raises(ParamsError, match=message):
        load_spec(None, source="behavioral.yaml")


def test_spec_defaults():
    spec = spec_of({"name": "c", "type": "coverage"})
    assert spec.min_rows == 30 and spec.fail_on_skip is False and dict(spec.base) == {}
    test = spec.tests[0]
    assert test.threshold == 0.0 and test.rows is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        test.threshold = 0.5  # type: ignore[misc]


# --------------------------------------------------------------------------- MFT


def test_mft_known_answer_and_fill_order(holdout):
    # Cases leave columns open: test base, then spec base, then the holdout's typical row.
    spec = spec_of(
        {
            "name": "risky",
            "type": "mft",
            "base": {"support_tickets": 5},
            "cases": [
                {"tenure_months": 0},  # logit -0.5 + 3.25 = 2.75 -> 0.940
                {"tenure_months": 40},  # -0.5 - 2.0 + 3.25 = 0.75 -> 0.679
                {"tenure_months": 60, "support_tickets": 1},  # -0.5 - 3 + 0.65 -> 0.054
            ],
            "expect": {"score_above": 0.7},
        },
        base={"contract_type": "monthly", "is_enterprise": False, "support_tickets": 0},
    )
    model = true_model()
    result, examples = run_suite(model, holdout, spec, seed=0)
    t = one(result, "risky")
    assert (t["rows_tested"], t["failures"]) == (3, 2)
    assert t["failure_rate"] == pytest.approx(2 / 3) and t["passed"] is False
    assert t["min_score"] == pytest.approx(sigmoid(-0.5 - 3.0 + 0.65))
    assert t["max_score"] == pytest.approx(sigmoid(2.75))
    # Worst first: case 2 misses by more than case 1.
    assert examples["row"].tolist() == [2, 1]
    assert examples["score_after"].tolist() == pytest.approx(
        [sigmoid(-0.5 - 3.0 + 0.65), sigmoid(0.75)]
    )
    assert "support_tickets=1" in examples["changes"].iloc[0]
    assert examples["expected"].iloc[0] == "score > 0.7"


def test_mft_fills_open_columns_from_the_typical_holdout_row(holdout):
    seen: list[pd.DataFrame] = []

    class Spy(LinearChurn):
        def predict_proba(self, X):
            seen.append(X.copy())
            return super().predict_proba(X)

    spec = spec_of(
        {"name": "m", "type": "mft", "cases": [{"tenure_months": 3}, {"region": "west"}],
         "expect": {"score_below": 1.0}}
    )  # fmt: skip
    run_suite(Spy(), holdout, spec, seed=0)
    cases = seen[0]
    assert list(cases.columns) == list(holdout.columns)
    assert cases["tenure_months"].tolist() == [3, int(round(holdout["tenure_months"].median()))]
    assert cases["tenure_months"].dtype == holdout["tenure_months"].dtype
    assert cases["region"].tolist() == [holdout["region"].mode().iloc[0], "west"]
    assert cases["monthly_spend"].tolist() == [holdout["monthly_spend"].median()] * 2
    assert cases["signup_date"].dtype == holdout["signup_date"].dtype


def test_mft_value_that_does_not_fit_the_column_is_a_data_error(holdout):
    spec = spec_of(
        {"name": "m", "type": "mft", "cases": [{"tenure_months": "long"}],
         "expect": {"score_below": 1.0}}
    )  # fmt: skip
    with pytest.raises(DataError, match=r"tests\[0\] 'm': values \['long'\] for column"):
        run_suite(true_model(), holdout, spec, seed=0)


# --------------------------------------------------------------------------- INV


def test_inv_rekey_passes_a_model_that_ignores_ids_and_fails_one_that_reads_them(holdout):
    spec = spec_of(
        {"name": "ids", "type": "inv", "perturb": {"rekey": "customer_id"}, "tolerance": 1e-9}
    )
    good, _ = run_suite(true_model(), holdout, spec, seed=0)
    assert one(good, "ids")["passed"] is True and one(good, "ids")["rows_tested"] == len(holdout)
    leaky = true_model(numeric={"customer_id": 1e-5})
    bad, examples = run_suite(leaky, holdout, spec, seed=0, id_column="customer_id")
    assert one(bad, "ids")["failure_rate"] > 0.9 and bad["passed"] is False
    # row_id is the original id; the change shows the new one.
    assert examples["row_id"].iloc[0] == holdout.loc[examples["row"].iloc[0], "customer_id"]
    assert examples["changes"].iloc[0].startswith("customer_id: ")


def test_inv_region_tolerance_is_an_exact_boundary(holdout):
    # region effect: north +0.4 logit, others 0. Mapping north<->south moves exactly the
    # north and south rows; the score change is sigmoid(z + 0.4) - sigmoid(z).
    model = true_model(categorical={"region": {"north": 0.4, "south": 0, "east": 0, "west": 0}})
    z = true_model().logit(holdout)
    moved = holdout["region"].isin(["north", "south"]).to_numpy()
    shift = np.abs(sigmoid(z + 0.4) - sigmoid(z))[moved]
    tolerance = float(np.quantile(shift, 0.5))
    spec = spec_of(
        {"name": "region", "type": "inv", "tolerance": tolerance, "threshold": 0.2,
         "perturb": {"map": {"region": {"north": "south", "south": "north"}}}}
    )  # fmt: skip
    result, examples = run_suite(model, holdout, spec, seed=0, max_examples=5)
    t = one(result, "region")
    assert t["rows_selected"] == len(holdout)
    assert t["rows_tested"] == moved.sum()  # east/west rows are unchanged, so not tested
    assert t["failures"] == int((shift > tolerance).sum())
    assert t["passed"] is False  # about half fail, above the 0.2 threshold
    assert len(examples) == 5
    assert (examples["delta"].abs() > tolerance).all()
    assert examples["delta"].abs().is_monotonic_decreasing  # worst first
    region_blind, _ = run_suite(true_model(), holdout, spec, seed=0)
    assert one(region_blind, "region")["passed"] is True
    assert one(region_blind, "region")["max_abs_delta"] == 0.0


# --------------------------------------------------------------------------- DIR


def dir_spec(expect: str, perturb: dict, **extra: Any) -> BehavioralSpec:
    return spec_of({"name": "d", "type": "dir", "expect": expect, "perturb": perturb, **extra})


def test_dir_contract_change_good_model_passes_reversed_model_fails(holdout):
    spec = dir_spec(
        "decrease",
        {"set": {"contract_type": "annual"}},
        rows={"column": "contract_type", "op": "==", "value": "monthly"},
        threshold=0.1,
    )
    good, _ = run_suite(true_model(), holdout, spec, seed=0)
    n_monthly = int((holdout["contract_type"] == "monthly").sum())
    t = one(good, "d")
    assert t["rows_selected"] == t["rows_tested"] == n_monthly
    assert (t["failures"], t["passed"]) == (0, True)
    assert t["rows"] == "contract_type == 'monthly'"
    reversed_model = true_model(
        categorical={"contract_type": {k: -v for k, v in CONTRACT.items()}}
    )
    bad, examples = run_suite(reversed_model, holdout, spec, seed=0)
    assert one(bad, "d")["failure_rate"] == 1.0 and bad["passed"] is False
    assert examples["changes"].iloc[0] == "contract_type: 'monthly' -> 'annual'"
    assert examples["expected"].iloc[0] == "delta < 0"


def test_dir_ties_fail_strict_expectations_and_pass_weak_ones(holdout):
    ignores_spend = true_model()  # monthly_spend has no coefficient: every delta is exactly 0
    perturb = {"multiply": {"monthly_spend": 1.5}}
    for expect, passed in [
        ("increase", False),
        ("decrease", False),
        ("not_increase", True),
        ("not_decrease", True),
    ]:
        result, _ = run_suite(ignores_spend, holdout, dir_spec(expect, perturb), seed=0)
        t = one(result, "d")
        assert t["passed"] is passed, expect
        assert t["share_tied"] == 1.0
        assert t["failure_rate"] == (0.0 if passed else 1.0)


def test_dir_min_delta_and_tolerance_are_known_boundaries(holdout):
    model = true_model()
    z = model.logit(holdout)
    delta = sigmoid(z + 3 * 0.65) - sigmoid(z)  # three more tickets
    cut = float(np.quantile(delta, 0.3))
    result, _ = run_suite(
        model,
        holdout,
        dir_spec("increase", {"add": {"support_tickets": 3}}, min_delta=cut),
        seed=0,
    )
    assert one(result, "d")["failures"] == int((delta <= cut).sum())
    # not_decrease with tolerance: fewer tickets lower the score; tolerance forgives small drops.
    drop = sigmoid(z) - sigmoid(z - 0.65)
    tol = float(np.quantile(drop, 0.6))
    result, _ = run_suite(
        model,
        holdout,
        dir_spec("not_decrease", {"add": {"support_tickets": -1}}, tolerance=tol),
        seed=0,
    )
    assert one(result, "d")["failures"] == int((drop > tol).sum())


@settings(max_examples=20, deadline=None)
@given(
    coef=st.floats(-1.0, 1.0, allow_nan=False).filter(lambda c: abs(c) > 1e-3),
    amount=st.integers(-6, 6),
    expect=st.sampled_from(["increase", "decrease", "not_increase", "not_decrease"]),
    seed=st.integers(0, 1000),
)
def test_dir_counts_match_a_row_by_row_oracle(coef, amount, expect, seed):
    frame = make_frame(60, seed)
    model = LinearChurn(numeric={"tenure_months": coef, "support_tickets": 0.3})
    spec = dir_spec(expect, {"add": {"tenure_months": amount}}, min_rows=1)
    result, _ = run_suite(model, frame, spec, seed=0)
    t = one(result, "d")
    if amount == 0:
        assert t["skipped"] and t["rows_tested"] == 0
        return
    failures = 0
    for i in range(len(frame)):  # the slow, obvious way: one row at a time
        row = frame.iloc[[i]]
        moved = row.assign(tenure_months=row["tenure_months"] + amount)
        d = model.predict_proba(moved)[0, 1] - model.predict_proba(row)[0, 1]
        ok = {"increase": d > 0, "decrease": d < 0, "not_increase": d <= 0,
              "not_decrease": d >= 0}[expect]  # fmt: skip
        failures += not ok
    assert t["failures"] == failures


# --------------------------------------------------------------------------- coverage


COVERAGE = {
    "name": "cov",
    "type": "coverage",
    "unseen_categories": ["contract_type", "region", "city"],
    "missing": ["monthly_spend"],
}


def test_coverage_passes_a_robust_model(holdout):
    result, examples = run_suite(true_model(), holdout, spec_of(COVERAGE), seed=0)
    t = one(result, "cov")
    assert (t["passed"], t["failures"], t["rows_tested"]) == (True, 0, len(holdout))
    assert t["stress"] == (
        f"contract_type -> {UNSEEN!r}; region -> {UNSEEN!r}; city -> {UNSEEN!r}; "
        "monthly_spend -> missing"
    )
    assert examples.empty


def test_coverage_flags_nan_from_missing_values(holdout):
    model = true_model(numeric={"monthly_spend": 0.001})  # NaN spend -> NaN score
    result, examples = run_suite(model, holdout, spec_of(COVERAGE), seed=0, max_examples=3)
    t = one(result, "cov")
    assert t["failure_rate"] == 1.0 and t["invalid_scores"] == 0
    assert t["invalid_stressed_scores"] == len(holdout)
    assert len(examples) == 3 and examples["score_after"].isna().all()


def test_coverage_flags_unseen_category_nan(holdout):
    spec = spec_of({**COVERAGE, "missing": []})
    result, _ = run_suite(true_model(unseen="nan"), holdout, spec, seed=0)
    assert one(result, "cov")["passed"] is False


def test_coverage_turns_a_raising_model_into_a_failure_not_a_crash(holdout):
    result, examples = run_suite(true_model(unseen="raise"), holdout, spec_of(COVERAGE), seed=0)
    t = one(result, "cov")
    assert t["passed"] is False and t["failures"] == len(holdout)
    assert t["stress_error"] == "ValueError: unknown category in contract_type"
    assert examples["row"].isna().all() and "it raised ValueError" in examples["expected"][0]


def test_coverage_flags_scores_outside_unit_interval(holdout):
    class Overshoot(LinearChurn):
        def predict_proba(self, X):
            p = super().predict_proba(X)
            p[:, 1] += (X["tenure_months"].to_numpy() > 60) * 0.9
            return p

    result, _ = run_suite(
        Overshoot(), holdout, spec_of({"name": "cov", "type": "coverage"}), seed=0
    )
    t = one(result, "cov")
    assert t["failures"] == int((holdout["tenure_months"] > 60).sum()) > 0
    assert t["stress"] is None  # nothing to stress: only the original rows are checked


def test_coverage_unseen_category_on_a_numeric_column_is_a_data_error(holdout):
    spec = spec_of({"name": "cov", "type": "coverage", "unseen_categories": ["tenure_months"]})
    with pytest.raises(DataError, match="unseen categories apply to text or categorical"):
        run_suite(true_model(), holdout, spec, seed=0)


# --------------------------------------------------------------------------- perturbations


class Recorder(LinearChurn):
    """Keeps every frame it scores, to inspect what a perturbation produced."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[pd.DataFrame] = []

    def predict_proba(self, X):
        self.frames.append(X.copy())
        return super().predict_proba(X)


def perturbed(frame: pd.DataFrame, perturb: Any, seed: int = 0, **extra: Any) -> pd.DataFrame:
    model = Recorder()
    spec = spec_of({"name": "p", "type": "inv", "tolerance": 1, "min_rows": 1,
                    "perturb": perturb, **extra})  # fmt: skip
    result, _ = run_suite(model, frame, spec, seed=seed)
    assert not one(result, "p")["skipped"], one(result, "p")["skip_reason"]
    return model.frames[-1]


def test_map_swaps_simultaneously_and_leaves_other_values(holdout):
    out = perturbed(holdout, {"map": {"region": {"north": "south", "south": "north"}}})
    before = holdout.loc[out.index, "region"]
    assert ((before == "north") == (out["region"] == "south")).all()
    assert ((before == "south") == (out["region"] == "north")).all()
    assert set(out.index) == set(holdout.index[holdout["region"].isin(["north", "south"])])


def test_map_keeps_integer_columns_integer_and_categoricals_categorical():
    df = pd.DataFrame({"k": [1, 2, 3, 1], "c": pd.Categorical(["a", "b", "a", "b"])})
    out = perturbed(df, {"map": {"k": {1: 10}}})
    assert out["k"].tolist() == [10, 10] and out["k"].dtype == np.int64
    out = perturbed(df, {"map": {"c": {"a": "z"}}})
    assert out["c"].tolist() == ["z", "z"] and isinstance(out["c"].dtype, pd.CategoricalDtype)


def test_set_add_multiply_combine_in_order(holdout):
    out = perturbed(
        holdout,
        [{"set": {"support_tickets": 2}}, {"add": {"support_tickets": 3}},
         {"multiply": {"monthly_spend": 2}}, {"set": {"contract_type": "annual"}}],
    )  # fmt: skip
    assert (out["support_tickets"] == 5).all()
    assert np.allclose(out["monthly_spend"], holdout.loc[out.index, "monthly_spend"] * 2)
    assert (out["contract_type"] == "annual").all()


def test_add_a_duration_to_a_date_column(holdout):
    out = perturbed(holdout, {"add": {"signup_date": "-365 days"}})
    assert (
        holdout.loc[out.index, "signup_date"] - out["signup_date"] == pd.Timedelta(days=365)
    ).all()


@pytest.mark.parametrize(
    ("perturb", "message"),
    [
        ({"add": {"region": 1}}, "cannot add column 'region'"),
        ({"add": {"tenure_months": "30 days"}}, "durations apply to date columns"),
        ({"multiply": {"signup_date": 2}}, "cannot multiply column 'signup_date'"),
        ({"rekey": "is_enterprise"}, "cannot rekey column 'is_enterprise'"),
    ],
)
def test_perturbation_that_does_not_fit_the_column_is_a_data_error(holdout, perturb, message):
    spec = spec_of({"name": "p", "type": "inv", "tolerance": 1, "perturb": perturb})
    with pytest.raises(DataError, match=message):
        run_suite(true_model(), holdout, spec, seed=0)


def test_shuffle_is_seeded_and_a_permutation(holdout):
    a = perturbed(holdout, {"shuffle": "tenure_months"}, seed=1)
    b = perturbed(holdout, {"shuffle": "tenure_months"}, seed=1)
    c = perturbed(holdout, {"shuffle": "tenure_months"}, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a["tenure_months"].equals(c["tenure_months"])
    # Rows whose value came back to itself are not tested; the multiset is preserved.
    full = holdout["tenure_months"].copy()
    full.loc[a.index] = a["tenure_months"]
    assert sorted(full) == sorted(holdout["tenure_months"])


def test_rekey_gives_new_unique_ids_for_integers_and_text():
    df = pd.DataFrame(
        {"id": [5, 17, 99, 3], "sid": pd.array(["a", "b", "rekeyed-1", "d"], dtype="str")}
    )
    out = perturbed(df, {"rekey": "id"})
    assert out["id"].is_unique and not out["id"].isin(df["id"]).any()
    assert out["id"].dtype == np.int64
    out = perturbed(df, {"rekey": "sid"})
    assert out["sid"].is_unique and not out["sid"].isin(df["sid"]).any()
    assert out["sid"].dtype == df["sid"].dtype


def test_rows_predicate_limits_the_perturbation(holdout):
    rows = {"all": [{"column": "tenure_months", "op": "<", "value": 24},
                    {"column": "is_enterprise", "op": "==", "value": False}]}  # fmt: skip
    out = perturbed(holdout, {"add": {"tenure_months": 12}}, rows=rows)
    expected = holdout[(holdout["tenure_months"] < 24) & ~holdout["is_enterprise"]]
    assert list(out.index) == list(expected.index)


# --------------------------------------------------------------------------- skipping


def test_test_with_too_few_selected_rows_is_skipped_with_reason(holdout):
    tests = [
        {"name": "tiny", "type": "inv", "tolerance": 0.1, "perturb": {"rekey": "customer_id"},
         "rows": {"column": "tenure_months", "op": "<", "value": 2}},
        {"name": "cov", "type": "coverage"},
    ]  # fmt: skip
    n = int((holdout["tenure_months"] < 2).sum())
    assert 0 < n < 30
    result, _ = run_suite(true_model(), holdout, spec_of(*tests), seed=0)
    t = one(result, "tiny")
    assert t["skipped"] is True and t["passed"] is None and t["failure_rate"] is None
    assert t["skip_reason"] == (
        f"rows (tenure_months < 2) select {n} of {len(holdout)} holdout rows; min_rows is 30"
    )
    # A skipped test is listed but does not fail the suite ...
    assert result["passed"] is True and (result["n_skipped"], result["n_passed"]) == (1, 1)
    # ... unless the spec says so.
    result, _ = run_suite(true_model(), holdout, spec_of(*tests, fail_on_skip=True), seed=0)
    assert result["passed"] is False and "fail_on_skip: tiny" in result["reason"]


def test_test_whose_perturbation_changes_too_few_rows_is_skipped(holdout):
    n = int((holdout["city"] == "city_001").sum())
    spec = spec_of(
        {"name": "city", "type": "inv", "tolerance": 0.1, "min_rows": n + 1,
         "perturb": {"map": {"city": {"city_001": "city_002"}}}}
    )  # fmt: skip
    result, _ = run_suite(true_model(), holdout, spec, seed=0)
    t = one(result, "city")
    assert t["skipped"] and t["rows_selected"] == len(holdout) and t["rows_tested"] == n
    assert f"the perturbation changes {n} of the selected rows (all rows)" in t["skip_reason"]


def test_a_suite_where_every_test_was_skipped_does_not_pass(holdout):
    spec = spec_of({"name": "cov", "type": "coverage"}, min_rows=10_000)
    result, _ = run_suite(true_model(), holdout, spec, seed=0)
    assert result["passed"] is False and result["n_skipped"] == 1
    assert "every test was skipped" in result["reason"]


# --------------------------------------------------------------------------- vectorisation


def test_scoring_is_batched_never_per_row(holdout):
    spec = load_spec(yaml.safe_load(SHIPPED.read_text()), source="behavioral.yaml")
    model = true_model()
    result, _ = run_suite(model, holdout, spec, seed=0)
    kinds = [t.type for t in spec.tests]
    n_mft = kinds.count("mft")
    n_perturb = kinds.count("inv") + kinds.count("dir")
    n_cov = kinds.count("coverage")
    # One shared holdout call, one per perturbation test, one per coverage stress, one per mft.
    assert len(model.calls) == 1 + n_perturb + n_cov + n_mft
    assert len(model.calls) <= 2 * len(spec.tests) + n_cov
    mft_rows = sum(len(t.cases) for t in spec.tests)
    assert sorted(model.calls)[:n_mft] == sorted(len(t.cases) for t in spec.tests if t.cases)
    assert max(model.calls) == len(holdout)  # the shared original scores, and full-frame tests
    assert sum(model.calls) <= len(holdout) * (1 + n_perturb + n_cov) + mft_rows
    assert result["n_skipped"] == 0


def test_sampling_caps_rows_per_test_seeded_and_in_holdout_order():
    holdout = make_frame(n=3000, seed=3)
    tests = [
        {"name": "dir_all", **{k: v for k, v in VALID_DIR.items() if k != "name"}},
        {"name": "monthly", "type": "inv", "tolerance": 0.0, "perturb": {"rekey": "customer_id"},
         "rows": {"column": "contract_type", "op": "==", "value": "monthly"}},
        {"name": "cov", "type": "coverage", "missing": ["monthly_spend"]},
    ]  # fmt: skip
    spec = spec_of(*tests)
    n_monthly = int((holdout["contract_type"] == "monthly").sum())
    model = true_model()
    result, _ = run_suite(model, holdout, spec, seed=0, max_rows=500)
    for name, matched in [("dir_all", 3000), ("monthly", n_monthly), ("cov", 3000)]:
        t = one(result, name)
        assert (t["rows_selected"], t["rows_sampled"]) == (matched, 500), name
        assert t["rows_tested"] <= 500
    # one full holdout call for the shared scores, then at most 500 rows per test
    assert model.calls[0] == 3000 and max(model.calls[1:]) == 500
    again, _ = run_suite(true_model(), holdout, spec, seed=0, max_rows=500)
    assert again == result
    other_seed, _ = run_suite(true_model(), holdout, spec, seed=1, max_rows=500)
    assert one(other_seed, "dir_all")["mean_delta"] != one(result, "dir_all")["mean_delta"]
    # no sampling at or above the number of rows: identical to max_rows 0
    whole, _ = run_suite(true_model(), holdout, spec, seed=0, max_rows=0)
    assert run_suite(true_model(), holdout, spec, seed=0, max_rows=3000)[0] == whole
    assert one(whole, "dir_all")["rows_sampled"] == 3000


def test_a_sampled_failure_rate_estimates_the_full_one():
    class TenureDependent:
        """An annual contract lowers churn only for tenure < 30: about 58 % of moves fail."""

        def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
            annual = (X["contract_type"] == "annual").to_numpy()
            p = sigmoid(annual * 0.05 * (X["tenure_months"].to_numpy() - 29.5))
            return np.column_stack([1.0 - p, p])

    holdout = make_frame(n=20_000, seed=5)
    spec = spec_of(VALID_DIR)
    full = one(run_suite(TenureDependent(), holdout, spec, seed=0)[0], "contract_dir")
    sampled = one(
        run_suite(TenureDependent(), holdout, spec, seed=0, max_rows=2000)[0], "contract_dir"
    )
    rate = full["failure_rate"]
    assert 0.4 < rate < 0.7 and sampled["rows_sampled"] == 2000
    se = (rate * (1 - rate) / sampled["rows_tested"]) ** 0.5
    assert abs(sampled["failure_rate"] - rate) < 4 * se


def test_max_rows_below_min_rows_is_a_params_error(holdout):
    spec = spec_of({"name": "cov", "type": "coverage"})
    with pytest.raises(ParamsError, match=r"behavioral.max_rows is 10, below .* min_rows 30"):
        run_suite(true_model(), holdout, spec, seed=0, max_rows=10)


# --------------------------------------------------------------------------- model and data errors


def test_model_that_raises_is_an_artifact_error(holdout):
    class Broken:
        def predict_proba(self, X):
            raise RuntimeError("feature names mismatch")

    spec = spec_of({"name": "cov", "type": "coverage"})
    with pytest.raises(
        ArtifactError, match=r"cannot score the holdout \(400 rows\).*RuntimeError"
    ):
        run_suite(Broken(), holdout, spec, seed=0)


@pytest.mark.parametrize(
    "output",
    [
        lambda X: np.zeros(len(X)),  # 1-d
        lambda X: np.zeros((len(X) - 1, 2)),  # wrong length
        lambda X: np.zeros((len(X), 1)),  # one column
    ],
)
def test_model_with_wrong_output_shape_is_an_artifact_error(holdout, output):
    class Odd:
        def predict_proba(self, X):
            return output(X)

    with pytest.raises(ArtifactError, match=r"returned shape .*; expected \(400, 2\)"):
        run_suite(Odd(), holdout, spec_of({"name": "cov", "type": "coverage"}), seed=0)


def test_object_without_predict_proba_is_an_artifact_error(holdout):
    with pytest.raises(ArtifactError, match="has no predict_proba"):
        run_suite(object(), holdout, spec_of({"name": "cov", "type": "coverage"}), seed=0)


@pytest.mark.parametrize(
    ("test", "message"),
    [
        ({"name": "x", "type": "coverage", "rows": {"column": "tenure", "op": "<", "value": 1}},
         "tests[0] 'x': rows: column 'tenure' is not in the holdout data; did you mean"),
        ({"name": "x", "type": "dir", "expect": "increase", "perturb": {"add": {"tickets": 1}}},
         "tests[0] 'x': perturb: column 'tickets'"),
        ({"name": "x", "type": "mft", "cases": [{"spend": 1}], "expect": {"score_below": 1}},
         "tests[0] 'x': cases[0]: column 'spend'"),
        ({"name": "x", "type": "coverage", "missing": ["zip"]},
         "tests[0] 'x': missing: column 'zip'"),
    ],
)  # fmt: skip
def test_unknown_column_is_a_data_error_before_any_scoring(holdout, test, message):
    model = true_model()
    with pytest.raises(DataError) as err:
        run_suite(model, holdout, spec_of(test), seed=0)
    assert message in str(err.value)
    assert model.calls == []


def test_unknown_id_column_is_a_data_error(holdout):
    with pytest.raises(DataError, match="id_column 'cid'"):
        run_suite(true_model(), holdout, spec_of({"name": "c", "type": "coverage"}), seed=0,
                  id_column="cid")  # fmt: skip


# --------------------------------------------------------------------------- outputs


def test_summary_is_json_ready_and_examples_are_parquet_ready(holdout, tmp_path):
    spec = load_spec(yaml.safe_load(SHIPPED.read_text()), source="behavioral.yaml")
    reversed_model = true_model(
        categorical={"contract_type": {k: -v for k, v in CONTRACT.items()}}
    )
    result, examples = run_suite(
        reversed_model, holdout, spec, seed=0, max_examples=4, id_column="customer_id"
    )
    json.dumps(result, allow_nan=False)  # no NaN, no numpy scalars
    assert set(result) >= {"passed", "n_tests", "n_failed", "n_skipped", "tests", "reason"}
    assert result["n_tests"] == len(spec.tests)
    for t in result["tests"]:
        assert set(t) >= {"name", "type", "rows_tested", "failures", "failure_rate",
                          "threshold", "passed", "skipped", "skip_reason"}  # fmt: skip
    assert list(examples.columns) == list(EXAMPLE_COLUMNS)
    assert examples.groupby("test").size().max() <= 4
    path = tmp_path / "examples.parquet"
    examples.to_parquet(path)
    back = pd.read_parquet(path)
    assert back["row_id"].dropna().astype(int).isin(holdout["customer_id"]).all()


def test_results_are_deterministic_for_a_seed(holdout):
    spec = spec_of(
        {"name": "s", "type": "inv", "tolerance": 0.01, "perturb": {"shuffle": "tenure_months"}}
    )
    a = run_suite(true_model(), holdout, spec, seed=3)
    b = run_suite(true_model(), holdout, spec, seed=3)
    assert a[0] == b[0]
    pd.testing.assert_frame_equal(a[1], b[1])


def test_holdout_is_not_modified(holdout):
    before = holdout.copy()
    spec = load_spec(yaml.safe_load(SHIPPED.read_text()), source="behavioral.yaml")
    run_suite(true_model(), holdout, spec, seed=0)
    pd.testing.assert_frame_equal(holdout, before)


def test_max_examples_must_not_be_negative(holdout):
    with pytest.raises(ValueError, match="max_examples"):
        run_suite(true_model(), holdout, spec_of({"name": "c", "type": "coverage"}), seed=0,
                  max_examples=-1)  # fmt: skip


# --------------------------------------------------------------------------- the shipped spec


def test_shipped_spec_loads_and_covers_every_test_type():
    raw = yaml.safe_load(SHIPPED.read_text())
    spec = load_spec(copy.deepcopy(raw), source=str(SHIPPED))
    assert {t.type for t in spec.tests} == {"mft", "inv", "dir", "coverage"}
    assert len({t.name for t in spec.tests}) == len(spec.tests)


@pytest.fixture(scope="module")
def churn_models():
    """The project's own pipelines, fitted on the synthetic data of three worlds."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from mlgate.data.generate import generate
    from mlgate.features import FeatureSpec
    from mlgate.model import build_pipeline
    from mlgate.params import GenerateParams, load_params

    params = load_params(REPO / "params.yaml")
    features = FeatureSpec(**dataclasses.asdict(params.features))
    holdout = generate(GenerateParams(n_rows=20_000, seed=101)).iloc[14_000:]
    models = {}
    # One thread: OpenMP busy-waiting on a loaded 2-core machine makes tiny predicts slow.
    with threadpoolctl.threadpool_limits(1):
        for label, estimator, world in [
            ("lr", "logistic_regression", {}),
            ("hgb", "hist_gradient_boosting", {}),
            ("lr_reversed", "logistic_regression", {"reverse_contract_effect": True}),
            ("lr_region", "logistic_regression", {"region_effect": 1.0}),
        ]:
            data = generate(GenerateParams(n_rows=14_000, seed=1, **world))
            model = build_pipeline(
                features,
                estimator=estimator,
                hyperparams=params.train.hyperparams.get(estimator, {}),
                seed=42,
            )
            model.fit(data[list(features.columns)], data["churned"].to_numpy())
            models[label] = model
    return holdout, models


@pytest.mark.parametrize(
    ("label", "failing"),
    [
        ("lr", set()),
        ("hgb", set()),
        ("lr_reversed", {"loyal_multi_year_no_tickets_stays", "annual_contract_lowers_churn"}),
        ("lr_region", {"region_does_not_matter"}),
    ],
)
def test_shipped_spec_passes_good_models_and_fails_broken_ones(churn_models, label, failing):
    import threadpoolctl

    holdout, models = churn_models
    spec = load_spec(yaml.safe_load(SHIPPED.read_text()), source="behavioral.yaml")
    with threadpoolctl.threadpool_limits(1):
        result, _ = run_suite(models[label], holdout, spec, seed=0, id_column="customer_id")
    failed = {t["name"] for t in result["tests"] if t["passed"] is False}
    assert failed == failing
    assert result["passed"] is (not failing) and result["n_skipped"] == 0
    if not failing:
        # With margin: every test's failure rate is at most half its threshold.
        for t in result["tests"]:
            assert t["failure_rate"] <= t["threshold"] / 2, t["name"]
