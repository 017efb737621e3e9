"""Benchmark: mlgate.behavioral.run_suite with the shipped spec, against the model's own cost.

A LogisticRegression on one-hot categoricals + scaled numerics is fitted on 50,000 synthetic
churn rows (same columns and causal structure as the project's generator, built here with
numpy). The shipped contracts/behavioral.yaml then runs on holdouts of 1e5 and 1e6 rows.

Baselines, measured in the same run:

* floor: predict_proba alone on frames of exactly the sizes the suite scored (the sizes
  are recorded from the suite's own calls, then replayed on holdout prefixes). The ratio
  suite / floor is what the suite adds on top of scoring: selecting, perturbing, comparing,
  building examples.
* inside: the time spent inside predict_proba during the suite (a timing wrapper).
* one pass: a single predict_proba over the holdout, for scale ("the suite costs k scorings").

Medians of 3 runs. Run: .venv/bin/python benchmarks/behavioral.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import machine_line, peak_rss_mib, record  # noqa: E402

from mlgate.behavioral import load_spec, run_suite  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "contracts" / "behavioral.yaml"
CATEGORICAL = ["contract_type", "region", "city"]
NUMERIC = ["tenure_months", "monthly_spend", "support_tickets", "is_enterprise"]
CONTRACTS = np.array(["monthly", "annual", "multi-year"])
CONTRACT_EFFECT = np.array([0.0, -1.5, -2.8])
REGIONS = np.array(["north", "south", "east", "west"])
CITIES = np.array([f"city_{i:03d}" for i in range(1, 301)])


def synthetic(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    contract = rng.choice(3, n, p=[0.55, 0.30, 0.15])
    enterprise = rng.random(n) < 0.10
    tenure = np.clip(np.rint(rng.gamma(1.5, np.array([14.0, 28.0, 45.0])[contract] / 1.5)), 0, 120)
    spend = np.round(rng.lognormal(np.log(55.0), 0.45, n) * np.where(enterprise, 3.0, 1.0), 2)
    tickets = rng.poisson(0.9 + 0.6 * (contract == 0) + 0.4 * enterprise)
    city_w = 1.0 / np.arange(1, 301) ** 1.1
    logit = (
        -0.5
        + CONTRACT_EFFECT[contract]
        - 0.05 * tenure
        + 0.65 * tickets
        - 0.9 * enterprise
        + 0.006 * (spend - 60)
    )
    return pd.DataFrame(
        {
            "customer_id": np.arange(n, dtype="int64") + 100_000 + seed * 10_000_000,
            "signup_date": (
                np.datetime64("2026-01-01", "D")
                - np.rint(tenure * 30.44).astype("int64").astype("timedelta64[D]")
            ).astype("datetime64[ms]"),
            "tenure_months": tenure.astype("int64"),
            "monthly_spend": spend,
            "contract_type": CONTRACTS[contract],
            "is_enterprise": enterprise,
            "region": REGIONS[rng.choice(4, n, p=[0.3, 0.25, 0.25, 0.2])],
            "city": CITIES[rng.choice(300, n, p=city_w / city_w.sum())],
            "support_tickets": tickets.astype("int64"),
            "churned": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("int64"),
        }
    )


def fitted_model():
    train = synthetic(50_000, seed=1)
    features = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
    )
    model = make_pipeline(features, LogisticRegression(max_iter=1000))
    return model.fit(train, train["churned"])


class Timed:
    """Forwards predict_proba and records (rows, seconds) of every call."""

    def __init__(self, model) -> None:
        self.model = model
        self.calls: list[tuple[int, float]] = []

    def predict_proba(self, X):
        start = time.perf_counter()
        out = self.model.predict_proba(X)
        self.calls.append((len(X), time.perf_counter() - start))
        return out


def median_time(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    spec = load_spec(yaml.safe_load(SPEC.read_text(encoding="utf-8")), source=str(SPEC))
    model = fitted_model()
    rows = []
    for n in args.sizes:
        holdout = synthetic(n, seed=2)
        suite_times, inside_times = [], []
        for _ in range(args.repeats):
            timed = Timed(model)
            start = time.perf_counter()
            summary, examples = run_suite(timed, holdout, spec, seed=0, id_column="customer_id")
            suite_times.append(time.perf_counter() - start)
            inside_times.append(sum(s for _, s in timed.calls))
        sizes = [k for k, _ in timed.calls]
        frames = [holdout.iloc[:k] for k in sizes]

        def replay(frames=frames) -> None:
            for frame in frames:
                model.predict_proba(frame)

        floor = median_time(replay, args.repeats)
        one_pass = median_time(lambda h=holdout: model.predict_proba(h), args.repeats)
        suite = statistics.median(suite_times)
        inside = statistics.median(inside_times)
        rows.append(
            f"| {n:,} | {len(spec.tests)} ({summary['n_tests'] - summary['n_skipped']} ran, "
            f"passed: {summary['passed']}) | {len(sizes)} / {sum(sizes):,} | {suite:.2f} "
            f"| {floor:.2f} | **{suite / floor:.2f}** | {inside:.2f} ({suite / inside:.2f}) "
            f"| {one_pass:.2f} ({suite / one_pass:.1f}) | {peak_rss_mib():.0f} |"
        )
        print(rows[-1], flush=True)

    body = "\n".join(
        [
            "## behavioral: run_suite with the shipped spec vs predict_proba alone",
            "",
            machine_line(),
            "",
            "Model: LogisticRegression on one-hot (contract_type, region, city) + scaled "
            "numerics, fitted on 50,000 synthetic rows. Spec: contracts/behavioral.yaml "
            f"({len(spec.tests)} tests: 2 mft, 2 inv, 3 dir, 1 coverage). Median of "
            f"{args.repeats} runs.",
            "",
            "| holdout rows | tests | predict calls / rows scored | suite (s) "
            "| floor: predict_proba on the same sizes (s) | suite / floor "
            "| inside predict during suite (s) (suite / inside) "
            "| one predict over holdout (s) (suite / one) | peak RSS MiB |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "The suite scores the holdout once and shares those scores between tests; each "
            "perturbation test scores only the rows its perturbation changed (in one call), "
            "coverage one stressed copy, mft its few cases. Peak RSS is the whole process's "
            "so far (it includes the 1e5 run and the training data).",
        ]
    )
    record("behavioral", body)


if __name__ == "__main__":
    main()
