"""Deterministic synthetic churn data with a known causal structure.

The true model (what tests and behavioral specs rely on), per customer::

    logit P(churn) = -0.8
                     + {monthly: 0, annual: -1.2, multi-year: -2.2}[contract_type]
                     - 0.06  * tenure_months
                     + 0.9   * support_tickets
                     - 0.9   * is_enterprise
                     + 0.006 * (monthly_spend - 60)
                     + region_effect * (region == "south")      # 0 by default: region-blind

``reverse_contract_effect`` flips the sign of the contract term (a world where the model learns
the wrong direction). Covariate drift shifts/scales numeric features or re-weights categories
*before* labels are drawn, so P(churn | x) is unchanged (pure covariate shift). Label noise flips
a fraction of labels; corruption (nulls, out-of-range values, unknown categories, duplicate ids)
is applied last, so the contract has something to catch.

Rows are produced in fixed blocks of ``BLOCK_ROWS``, each from its own seed
``(seed, block_index)``: the table for a given (seed, n_rows) is identical however it is
written, and 10 million rows never need more than one block in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from mlgate.errors import ParamsError
from mlgate.params import GenerateParams

BLOCK_ROWS = 1_000_000
CONTRACT_TYPES = ("monthly", "annual", "multi-year")
CONTRACT_WEIGHTS = (0.55, 0.30, 0.15)
CONTRACT_EFFECT = (0.0, -1.2, -2.2)
REGIONS = ("north", "south", "east", "west")
REGION_WEIGHTS = (0.30, 0.25, 0.25, 0.20)
N_CITIES = 300
CITIES = tuple(f"city_{i:03d}" for i in range(1, N_CITIES + 1))
_city_w = 1.0 / np.arange(1, N_CITIES + 1) ** 1.1
CITY_WEIGHTS = tuple(_city_w / _city_w.sum())
TENURE_MEAN = (14.0, 28.0, 45.0)  # months, by contract type
MAX_TENURE = 120
ID_OFFSET = 100_000
NUMERIC_DRIFTABLE = ("tenure_months", "monthly_spend", "support_tickets")
CATEGORICAL = {"contract_type": CONTRACT_TYPES, "region": REGIONS}


def true_logit(
    frame: pd.DataFrame, *, reverse_contract_effect: bool = False, region_effect: float = 0.0
) -> np.ndarray:
    """The generator's churn logit for the rows of ``frame`` (documented in the module)."""
    effect = dict(zip(CONTRACT_TYPES, CONTRACT_EFFECT, strict=True))
    contract = frame["contract_type"].map(effect).to_numpy(dtype=float)
    if reverse_contract_effect:
        contract = -contract
    return (
        -0.8
        + contract
        - 0.06 * frame["tenure_months"].to_numpy(dtype=float)
        + 0.9 * frame["support_tickets"].to_numpy(dtype=float)
        - 0.9 * frame["is_enterprise"].to_numpy(dtype=float)
        + 0.006 * (frame["monthly_spend"].to_numpy(dtype=float) - 60.0)
        + region_effect * (frame["region"].to_numpy() == "south")
    )


def _weights(
    params: GenerateParams, column: str, categories: tuple[str, ...], default: tuple[float, ...]
) -> np.ndarray:
    custom = params.drift.categorical.get(column)
    if custom is None:
        return np.asarray(default)
    unknown = sorted(set(custom) - set(categories))
    if unknown:
        raise ParamsError(
            f"generate.drift.categorical.{column}: unknown categories {unknown}; "
            f"expected some of {list(categories)}"
        )
    w = np.array([custom.get(c, 0.0) for c in categories], dtype=float)
    if (w < 0).any() or w.sum() <= 0:
        raise ParamsError(
            f"generate.drift.categorical.{column}: weights must be >= 0 with a positive sum"
        )
    return w / w.sum()


def check_knobs(params: GenerateParams) -> None:
    """Reject drift knobs for columns the generator does not have, before any work is done."""
    for column in params.drift.numeric:
        if column not in NUMERIC_DRIFTABLE:
            raise ParamsError(
                f"generate.drift.numeric.{column}: not a numeric generator column; "
                f"expected one of {list(NUMERIC_DRIFTABLE)}"
            )
    for column in params.drift.categorical:
        if column not in CATEGORICAL:
            raise ParamsError(
                f"generate.drift.categorical.{column}: not a categorical generator column; "
                f"expected one of {list(CATEGORICAL)}"
            )
        _weights(params, column, CATEGORICAL[column], CONTRACT_WEIGHTS)
    for column in params.corruption.null_columns:
        if column not in ("tenure_months", "monthly_spend", "support_tickets", "region", "city"):
            raise ParamsError(
                f"generate.corruption.null_columns: '{column}' cannot be nulled; expected some of "
                "tenure_months, monthly_spend, support_tickets, region, city"
            )


def _drift_numeric(values: np.ndarray, params: GenerateParams, column: str) -> np.ndarray:
    knob = params.drift.numeric.get(column)
    if knob is None:
        return values
    mean = values.mean()
    return (values - mean) * knob.scale + mean + knob.shift


def generate_block(params: GenerateParams, block: int, n: int) -> pd.DataFrame:
    """Rows ``block * BLOCK_ROWS`` .. ``+ n`` of the table for ``params``."""
    rng = np.random.default_rng([params.seed, block])
    start = block * BLOCK_ROWS
    contract_idx = rng.choice(
        3, size=n, p=_weights(params, "contract_type", CONTRACT_TYPES, CONTRACT_WEIGHTS)
    )
    is_enterprise = rng.random(n) < 0.10
    tenure = rng.gamma(1.5, np.asarray(TENURE_MEAN)[contract_idx] / 1.5)
    tenure = np.clip(np.rint(_drift_numeric(tenure, params, "tenure_months")), 0, MAX_TENURE)
    spend = rng.lognormal(np.log(55.0), 0.45, n) * np.where(is_enterprise, 3.0, 1.0)
    spend = np.round(np.clip(_drift_numeric(spend, params, "monthly_spend"), 5.0, None), 2)
    tickets = rng.poisson(0.9 + 0.6 * (contract_idx == 0) + 0.4 * is_enterprise)
    tickets = np.clip(
        np.rint(_drift_numeric(tickets.astype(float), params, "support_tickets")), 0, None
    )
    region_idx = rng.choice(4, size=n, p=_weights(params, "region", REGIONS, REGION_WEIGHTS))
    city_idx = rng.choice(N_CITIES, size=n, p=np.asarray(CITY_WEIGHTS))
    days_back = np.rint(tenure * 30.44 + rng.uniform(0, 30, n)).astype("int64")
    reference = np.datetime64(params.reference_date, "D")
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(start, start + n, dtype="int64") + ID_OFFSET,
            "signup_date": (reference - days_back.astype("timedelta64[D]")).astype(
                "datetime64[ms]"
            ),
            "tenure_months": tenure.astype("int64"),
            "monthly_spend": spend,
            "contract_type": pd.Categorical.from_codes(contract_idx, CONTRACT_TYPES).astype(str),
            "is_enterprise": is_enterprise,
            "region": np.asarray(REGIONS, dtype=object)[region_idx],
            "city": np.asarray(CITIES, dtype=object)[city_idx],
            "support_tickets": tickets.astype("int64"),
        }
    )
    logit = true_logit(
        frame,
        reverse_contract_effect=params.reverse_contract_effect,
        region_effect=params.region_effect,
    )
    churned = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    if params.label_noise > 0:
        churned ^= rng.random(n) < params.label_noise
    frame["churned"] = churned.astype("int64")
    return _corrupt(frame, params, rng)


def _corrupt(
    frame: pd.DataFrame, params: GenerateParams, rng: np.random.Generator
) -> pd.DataFrame:
    c = params.corruption
    n = len(frame)
    if c.null_rate > 0:
        for column in c.null_columns:
            mask = rng.random(n) < c.null_rate
            if frame[column].dtype.kind in "iub":
                frame[column] = frame[column].astype("float64")
            frame.loc[mask, column] = None
    if c.out_of_range_rate > 0:
        mask = rng.random(n) < c.out_of_range_rate
        frame.loc[mask, "tenure_months"] = -(rng.integers(1, 24, int(mask.sum())))
    if c.unknown_category_rate > 0:
        mask = rng.random(n) < c.unknown_category_rate
        frame.loc[mask, "contract_type"] = "weekly"
    if c.duplicate_id_rate > 0:
        mask = rng.random(n) < c.duplicate_id_rate
        donors = rng.integers(0, n, int(mask.sum()))
        frame.loc[mask, "customer_id"] = frame["customer_id"].to_numpy()[donors]
    return frame


def iter_blocks(params: GenerateParams) -> Iterator[pd.DataFrame]:
    """Yield the table in blocks of at most ``BLOCK_ROWS`` rows."""
    check_knobs(params)
    for block, start in enumerate(range(0, params.n_rows, BLOCK_ROWS)):
        yield generate_block(params, block, min(BLOCK_ROWS, params.n_rows - start))


def generate(params: GenerateParams) -> pd.DataFrame:
    """The whole table in memory (tests and small sizes; the stage streams blocks)."""
    return pd.concat(list(iter_blocks(params)), ignore_index=True)
