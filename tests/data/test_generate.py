"""The synthetic churn generator: deterministic, and its data obey the documented causal model.

The known answers come from ``true_logit`` itself (probed one feature at a time), so the tests
check that the labels follow the model the module documents, whatever its coefficients.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import mlgate.data.generate as gen
from mlgate.data.generate import generate, generate_block, iter_blocks, true_logit
from mlgate.data.split import holdout_mask
from mlgate.errors import ParamsError
from mlgate.params import CorruptionParams, DriftKnobs, GenerateParams, NumericDrift

N = 20_000
FEATURES = [
    "annual",
    "multi-year",
    "tenure_months",
    "support_tickets",
    "is_enterprise",
    "monthly_spend",
    "south",
]


def _params(n_rows: int = N, **overrides: Any) -> GenerateParams:
    return replace(GenerateParams(n_rows=n_rows), **overrides)


def _design(frame: pd.DataFrame) -> pd.DataFrame:
    """The true model's features, one column per coefficient (monthly / non-south baseline)."""
    return pd.DataFrame(
        {
            "annual": (frame["contract_type"] == "annual").astype(float),
            "multi-year": (frame["contract_type"] == "multi-year").astype(float),
            "tenure_months": frame["tenure_months"].astype(float),
            "support_tickets": frame["support_tickets"].astype(float),
            "is_enterprise": frame["is_enterprise"].astype(float),
            "monthly_spend": frame["monthly_spend"].astype(float),
            "south": (frame["region"] == "south").astype(float),
        }
    )


def _true_coefficients(**knobs: Any) -> dict[str, float]:
    """Read each coefficient off ``true_logit`` by changing one feature of a base customer."""
    base = {
        "contract_type": "monthly", "tenure_months": 10, "support_tickets": 1,
        "is_enterprise": False, "monthly_spend": 60.0, "region": "north",
    }  # fmt: skip
    changes = {
        "annual": {"contract_type": "annual"},
        "multi-year": {"contract_type": "multi-year"},
        "tenure_months": {"tenure_months": 11},
        "support_tickets": {"support_tickets": 2},
        "is_enterprise": {"is_enterprise": True},
        "monthly_spend": {"monthly_spend": 61.0},
        "south": {"region": "south"},
    }
    rows = pd.DataFrame([base] + [{**base, **change} for change in changes.values()])
    logit = true_logit(rows, **knobs)
    return dict(zip(changes, logit[1:] - logit[0], strict=True))


def _fit(frame: pd.DataFrame) -> tuple[dict[str, float], LogisticRegression, pd.Series, pd.Series]:
    """Unpenalised logistic regression on the true features; coefficients on the raw scale."""
    x = _design(frame)
    mean, sd = x.mean(), x.std()
    model = LogisticRegression(C=1e8, max_iter=1_000).fit((x - mean) / sd, frame["churned"])
    return dict(zip(FEATURES, model.coef_[0] / sd.to_numpy(), strict=True)), model, mean, sd


# Tolerances are 3-5 standard errors of the MLE at n=20,000 (Fisher information); over seeds
# 0-9 the largest error was 0.7 of its tolerance.
TOLERANCE = {"annual": 0.25, "multi-year": 0.35, "tenure_months": 0.01, "support_tickets": 0.06,
             "is_enterprise": 0.4, "monthly_spend": 0.003, "south": 0.2}  # fmt: skip


@pytest.fixture(scope="module")
def default_table() -> pd.DataFrame:
    return generate(_params())


@pytest.fixture(scope="module")
def default_fit(default_table: pd.DataFrame) -> dict[str, float]:
    return _fit(default_table)[0]


# --------------------------------------------------------------------------- determinism


def test_same_params_give_an_identical_table() -> None:
    params = _params(3_000)
    pd.testing.assert_frame_equal(generate(params), generate(params))


def test_different_seed_gives_a_different_table() -> None:
    a, b = generate(_params(3_000, seed=1)), generate(_params(3_000, seed=2))
    assert (a["customer_id"] == b["customer_id"]).all()  # ids are positional, not random
    assert not a["tenure_months"].equals(b["tenure_months"])
    assert not a["churned"].equals(b["churned"])


def test_multi_block_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gen, "BLOCK_ROWS", 1_000)
    params = _params(2_500)
    blocks = list(iter_blocks(params))
    assert [len(b) for b in blocks] == [1_000, 1_000, 500]
    table = generate(params)
    pd.testing.assert_frame_equal(table, pd.concat(blocks, ignore_index=True))
    pd.testing.assert_frame_equal(table, generate(params))
    # Ids run on across blocks, so they stay unique.
    assert table["customer_id"].tolist() == list(range(100_000, 102_500))
    # Each block has its own random stream (not the first block repeated).
    assert not np.array_equal(blocks[0]["tenure_months"], blocks[1]["tenure_months"][:1_000])
    # A full block depends only on (seed, block index): growing the table keeps it as is.
    bigger = generate(_params(3_000))
    pd.testing.assert_frame_equal(bigger.iloc[:2_000], table.iloc[:2_000])
    pd.testing.assert_frame_equal(
        generate_block(params, 1, 1_000).reset_index(drop=True), blocks[1]
    )


def test_schema_of_the_table(default_table: pd.DataFrame) -> None:
    assert list(default_table.columns) == [
        "customer_id", "signup_date", "tenure_months", "monthly_spend", "contract_type",
        "is_enterprise", "region", "city", "support_tickets", "churned",
    ]  # fmt: skip
    assert default_table["customer_id"].is_unique
    assert not default_table.isna().any().any()
    assert set(default_table["churned"].unique()) == {0, 1}
    assert default_table["tenure_months"].between(0, gen.MAX_TENURE).all()
    assert (default_table["monthly_spend"] >= 5.0).all()
    assert (default_table["support_tickets"] >= 0).all()


def test_signup_date_is_consistent_with_tenure(default_table: pd.DataFrame) -> None:
    reference = pd.Timestamp(GenerateParams().reference_date)
    months = (reference - default_table["signup_date"]).dt.days / 30.44
    assert (months >= default_table["tenure_months"] - 0.5).all()
    assert (months <= default_table["tenure_months"] + 1.5).all()


def test_enterprise_share_is_about_ten_percent(default_table: pd.DataFrame) -> None:
    # sd of the share at n=20,000 is 0.0021.
    assert abs(default_table["is_enterprise"].mean() - 0.10) < 0.01


def test_category_mix_matches_the_documented_weights(default_table: pd.DataFrame) -> None:
    shares = default_table["contract_type"].value_counts(normalize=True)
    for category, weight in zip(gen.CONTRACT_TYPES, gen.CONTRACT_WEIGHTS, strict=True):
        assert abs(shares[category] - weight) < 0.015, category


# --------------------------------------------------------------------------- causal model


def test_labels_follow_the_true_model(default_table: pd.DataFrame) -> None:
    """Calibration against the known P(churn | x): by decile of the true probability."""
    p = 1.0 / (1.0 + np.exp(-true_logit(default_table)))
    decile = pd.qcut(p, 10, labels=False)
    observed = default_table["churned"].groupby(decile).mean()
    expected = pd.Series(p).groupby(decile).mean()
    assert (observed - expected).abs().max() < 0.04  # 2,000 rows per bin: sd <= 0.011
    assert abs(default_table["churned"].mean() - p.mean()) < 0.01


def test_documented_directions_hold_marginally(default_table: pd.DataFrame) -> None:
    rate = default_table.groupby("contract_type")["churned"].mean()
    assert rate["monthly"] > rate["annual"] > rate["multi-year"]
    by_tickets = default_table.groupby(default_table["support_tickets"].clip(upper=3))["churned"]
    assert by_tickets.mean().is_monotonic_increasing
    by_tenure = default_table.groupby(pd.qcut(default_table["tenure_months"], 4), observed=True)
    assert by_tenure["churned"].mean().is_monotonic_decreasing


def test_documented_directions_hold_conditionally(default_fit: dict[str, float]) -> None:
    truth = _true_coefficients()
    # The documented signs, independently of the exact coefficients.
    assert truth["annual"] < 0 and truth["multi-year"] < truth["annual"]
    assert truth["tenure_months"] < 0 < truth["support_tickets"]
    assert truth["is_enterprise"] < 0
    assert truth["south"] == 0.0
    # A correctly specified logistic regression recovers them from the data.
    for name, value in truth.items():
        assert abs(default_fit[name] - value) < TOLERANCE[name], (name, default_fit[name], value)
    assert default_fit["multi-year"] < default_fit["annual"] < 0
    assert default_fit["is_enterprise"] < 0


def test_region_has_no_effect_by_default(default_table: pd.DataFrame) -> None:
    south = default_table["region"] == "south"
    gap = default_table.loc[south, "churned"].mean() - default_table.loc[~south, "churned"].mean()
    assert abs(gap) < 0.025  # sd of the gap is 0.0073


def test_region_effect_knob_creates_an_effect() -> None:
    table = generate(_params(region_effect=1.0))
    assert _true_coefficients(region_effect=1.0)["south"] == pytest.approx(1.0)
    south = table["region"] == "south"
    assert table.loc[south, "churned"].mean() - table.loc[~south, "churned"].mean() > 0.08
    assert abs(_fit(table)[0]["south"] - 1.0) < TOLERANCE["south"]


def test_reverse_contract_effect_flips_the_direction() -> None:
    truth = _true_coefficients(reverse_contract_effect=True)
    assert truth["multi-year"] > truth["annual"] > 0
    assert truth["annual"] == pytest.approx(-_true_coefficients()["annual"])
    fitted = _fit(generate(_params(reverse_contract_effect=True)))[0]
    assert fitted["multi-year"] > fitted["annual"] > 0
    assert abs(fitted["annual"] - truth["annual"]) < TOLERANCE["annual"]


def test_logistic_regression_reaches_the_intended_auc(default_table: pd.DataFrame) -> None:
    holdout = holdout_mask(default_table["customer_id"], fraction=0.3, salt="mlgate-v1")
    _, model, mean, sd = _fit(default_table[~holdout])
    x = (_design(default_table[holdout]) - mean) / sd
    auc = roc_auc_score(default_table.loc[holdout, "churned"], model.predict_proba(x)[:, 1])
    assert 0.80 <= auc <= 0.90


# --------------------------------------------------------------------------- label noise


def test_label_noise_flips_that_share_of_labels_and_nothing_else(
    default_table: pd.DataFrame,
) -> None:
    noisy = generate(_params(label_noise=0.1))
    flipped = noisy["churned"] != default_table["churned"]
    assert abs(flipped.mean() - 0.1) < 0.01
    pd.testing.assert_frame_equal(
        noisy.drop(columns="churned"), default_table.drop(columns="churned")
    )


# --------------------------------------------------------------------------- drift knobs


def _drifted(**numeric: NumericDrift) -> pd.DataFrame:
    return generate(_params(drift=DriftKnobs(numeric=dict(numeric))))


UNTOUCHED = ["customer_id", "contract_type", "is_enterprise", "region", "city"]


def test_numeric_shift_moves_only_that_column(default_table: pd.DataFrame) -> None:
    drifted = _drifted(tenure_months=NumericDrift(shift=-6.0))
    delta = drifted["tenure_months"].mean() - default_table["tenure_months"].mean()
    assert -6.0 <= delta < -4.5  # clipping at 0 months absorbs part of the shift
    for column in [*UNTOUCHED, "monthly_spend", "support_tickets"]:
        assert drifted[column].equals(default_table[column]), column


def test_numeric_scale_widens_the_spread_around_the_same_mean(
    default_table: pd.DataFrame,
) -> None:
    drifted = _drifted(monthly_spend=NumericDrift(scale=2.0))
    before, after = default_table["monthly_spend"], drifted["monthly_spend"]
    assert after.std() / before.std() == pytest.approx(2.0, rel=0.05)
    assert after.mean() == pytest.approx(before.mean(), rel=0.05)
    for column in [*UNTOUCHED, "tenure_months", "support_tickets"]:
        assert drifted[column].equals(default_table[column]), column


def test_ticket_shift(default_table: pd.DataFrame) -> None:
    drifted = _drifted(support_tickets=NumericDrift(shift=2.0))
    delta = drifted["support_tickets"].mean() - default_table["support_tickets"].mean()
    assert delta == pytest.approx(2.0, abs=0.05)
    assert drifted["tenure_months"].equals(default_table["tenure_months"])


def test_covariate_drift_keeps_p_churn_given_x(default_table: pd.DataFrame) -> None:
    """Pure covariate shift: the label rate moves, but exactly as the true model predicts."""
    drifted = _drifted(tenure_months=NumericDrift(shift=-10.0))
    p = 1.0 / (1.0 + np.exp(-true_logit(drifted)))
    assert drifted["churned"].mean() > default_table["churned"].mean() + 0.03
    assert abs(drifted["churned"].mean() - p.mean()) < 0.01


def test_categorical_drift_reweights_the_categories() -> None:
    weights = {"monthly": 0.8, "annual": 0.15, "multi-year": 0.05}
    drifted = generate(_params(drift=DriftKnobs(categorical={"contract_type": weights})))
    shares = drifted["contract_type"].value_counts(normalize=True)
    for category, weight in weights.items():
        assert abs(shares[category] - weight) < 0.015, category
    # Weights are relative: they need not sum to one.
    region = generate(
        _params(5_000, drift=DriftKnobs(categorical={"region": {"south": 3, "north": 1}}))
    )
    assert set(region["region"]) == {"south", "north"}
    assert region["region"].eq("south").mean() == pytest.approx(0.75, abs=0.03)


# --------------------------------------------------------------------------- corruption


def _corrupted(**rates: Any) -> pd.DataFrame:
    return generate(_params(5_000, corruption=replace(CorruptionParams(), **rates)))


def test_null_rate_nulls_each_listed_column_at_about_that_rate() -> None:
    table = _corrupted(null_rate=0.1, null_columns=("monthly_spend", "region", "support_tickets"))
    for column in ("monthly_spend", "region", "support_tickets"):
        assert abs(table[column].isna().mean() - 0.1) < 0.02, column
    assert (
        not table.drop(columns=["monthly_spend", "region", "support_tickets"]).isna().any().any()
    )


def test_out_of_range_rate_makes_tenure_negative() -> None:
    table = _corrupted(out_of_range_rate=0.05)
    assert abs((table["tenure_months"] < 0).mean() - 0.05) < 0.015


def test_unknown_category_rate_injects_an_unseen_contract_type() -> None:
    table = _corrupted(unknown_category_rate=0.05)
    unknown = ~table["contract_type"].isin(gen.CONTRACT_TYPES)
    assert abs(unknown.mean() - 0.05) < 0.015
    assert set(table.loc[unknown, "contract_type"]) == {"weekly"}


def test_duplicate_id_rate_reuses_existing_ids() -> None:
    table = _corrupted(duplicate_id_rate=0.05)
    repeated = table["customer_id"].duplicated(keep="first").mean()
    # Each corrupted row copies another row's id (a few copy themselves or a corrupted row).
    assert 0.035 < repeated < 0.06
    assert table["customer_id"].isin(range(100_000, 105_000)).all()


def test_no_corruption_by_default(default_table: pd.DataFrame) -> None:
    assert default_table["contract_type"].isin(gen.CONTRACT_TYPES).all()
    assert default_table["customer_id"].is_unique


# --------------------------------------------------------------------------- bad knobs


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"drift": DriftKnobs(numeric={"age": NumericDrift()})}, "generate.drift.numeric.age"),
        (
            {"drift": DriftKnobs(categorical={"city": {"city_001": 1.0}})},
            "generate.drift.categorical.city",
        ),
        (
            {"drift": DriftKnobs(categorical={"contract_type": {"weekly": 1.0}})},
            "generate.drift.categorical.contract_type",
        ),
        (
            {"drift": DriftKnobs(categorical={"region": {"south": 0.0}})},
            "generate.drift.categorical.region",
        ),
        (
            {"drift": DriftKnobs(categorical={"region": {"south": -1.0, "north": 2.0}})},
            "generate.drift.categorical.region",
        ),
        (
            {"corruption": CorruptionParams(null_rate=0.1, null_columns=("customer_id",))},
            "generate.corruption.null_columns",
        ),
    ],
)
def test_bad_knobs_raise_params_error_naming_the_key(overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ParamsError, match=key.replace(".", r"\.")):
        generate(_params(100, **overrides))
