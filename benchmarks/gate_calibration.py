"""Calibration of the gate's rules by simulation; records section "gate_calibration".

Why: a promotion rule is a statistical test, and its error rates are what a user should know.
This script measures them on the project's own code (``delong_paired``, ``roc_auc_delong`` and
the rule functions of ``mlgate.gate.statistics``), so a change to either shows up here.

Model (binormal, seeded): labels with 28 % positives; champion score ``d_A y + e_A``, candidate
``d_B y + e_B`` with unit-variance normal noise, ``corr(e_A, e_B) = rho`` within each class
(how alike the two models rank the rows), ``AUC = Phi(d / sqrt 2)``. The champion's AUC is 0.87,
the candidate's ``0.87 + gain``. The same noise serves every gain of a replicate (common random
numbers), so differences between gains are not Monte-Carlo noise.

Sections:

1. promotion rate of each candidate rule over gains x rho x holdout size;
2. slices shaped like the default data's seven slices: family-wise false alarm with no change
   and the chance that a drop of 2 x margin in one slice blocks it;
3. floors judged three ways (point, CI lower bound, CI upper bound) around the floor;
4. holdout reuse: K candidates that are not better, judged on one holdout, with and without
   alpha spending.

Run: ``.venv/bin/python benchmarks/gate_calibration.py [--reps 2000]`` (about 15 min on 2 cores).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import machine_line, record  # noqa: E402

from mlgate.gate.statistics import (  # noqa: E402
    holdout_floor,
    slice_floor,
    slice_tests,
    spent_alpha,
    superiority,
)
from mlgate.metrics import delong_paired, holm_adjusted, roc_auc_delong  # noqa: E402

SEED = 20261204
PREVALENCE = 0.28
CHAMPION_AUC = 0.87
RHOS = (0.5, 0.9, 0.99)
SIZES = (2_000, 6_000, 60_000)
GAINS = (-0.005, 0.0, 0.005, 0.01, 0.02)
MIN_DELTA = 0.005  # gate.min_delta
ALPHA = 0.025  # gate.superiority_alpha
SLICE_MARGIN, SLICE_ALPHA = 0.03, 0.05
# The default data's evaluated slices (metrics/slices.json of `make repro`): rows, positives,
# candidate AUC.
SLICES = {
    "enterprise": (568, 155, 0.863),
    "smb": (5495, 1531, 0.870),
    "contract_monthly": (3275, 1479, 0.787),
    "contract_annual": (1853, 181, 0.802),
    "contract_multi_year": (935, 26, 0.884),
    "new_customers": (1053, 507, 0.775),
    "new_enterprise": (93, 45, 0.771),
}

Rule = Callable[[float, float], bool]  # (diff, SE) -> promote
RULES: dict[str, tuple[str, Rule]] = {
    "point": (
        "point delta >= min_delta (old default)",
        lambda d, se: superiority(d, se, alpha=ALPHA, min_delta=MIN_DELTA).material,
    ),
    "sup": (
        "lower bound (one-sided 2.5 %) > 0, no materiality",
        lambda d, se: superiority(d, se, alpha=ALPHA, min_delta=0.0).shown,
    ),
    "sup+mat": (
        "lower bound (one-sided 2.5 %) > 0 AND delta >= min_delta (new default; = old "
        "require_superiority)",
        lambda d, se: _both(superiority(d, se, alpha=ALPHA, min_delta=MIN_DELTA)),
    ),
    "sup5+mat": (
        "lower bound (one-sided 5 %) > 0 AND delta >= min_delta",
        lambda d, se: _both(superiority(d, se, alpha=0.05, min_delta=MIN_DELTA)),
    ),
    "lb>margin": (
        "lower bound (one-sided 2.5 %) > min_delta",
        lambda d, se: superiority(d - MIN_DELTA, se, alpha=ALPHA, min_delta=0.0).shown,
    ),
}


def _both(s) -> bool:
    return s.shown and s.material


def separation(auc: float) -> float:
    return math.sqrt(2.0) * float(norm.ppf(auc))


def draw(rng: np.random.Generator, n: int, prevalence: float, rho: float):
    y = rng.random(n) < prevalence
    e_a = rng.normal(size=n)
    e_b = rho * e_a + math.sqrt(1.0 - rho * rho) * rng.normal(size=n)
    return y, e_a, e_b


def mc_se(rate: float, reps: int) -> float:
    return math.sqrt(max(rate * (1 - rate), 1e-12) / reps)


# --------------------------------------------------------------------------- 1. promotion


def promotion(reps: int) -> tuple[list[str], dict]:
    d_champ = separation(CHAMPION_AUC)
    rows, key = [], {}
    for rho in RHOS:
        for n in SIZES:
            rng = np.random.default_rng([SEED, 1, int(rho * 100), n])
            hits = {g: dict.fromkeys(RULES, 0) for g in GAINS}
            ses = {g: [] for g in GAINS}
            for _ in range(reps):
                y, e_a, e_b = draw(rng, n, PREVALENCE, rho)
                champion = d_champ * y + e_a
                for gain in GAINS:
                    candidate = separation(CHAMPION_AUC + gain) * y + e_b
                    r = delong_paired(y, candidate, champion)
                    ses[gain].append(r.std_error)
                    for name, (_, rule) in RULES.items():
                        hits[gain][name] += rule(r.diff, r.std_error)
            for gain in GAINS:
                rates = {name: hits[gain][name] / reps for name in RULES}
                key[(rho, n, gain)] = rates
                se = float(np.median(ses[gain]))
                mde = superiority(0.0, se, alpha=ALPHA, min_delta=MIN_DELTA).min_detectable_gain
                rows.append(
                    f"| {rho} | {n:,} | {gain:+.3f} | {se:.5f} | {mde:.4f} | "
                    + " | ".join(f"{100 * rates[name]:.1f}" for name in RULES)
                    + " |"
                )
            print(f"  promotion rho={rho} n={n} done", file=sys.stderr)
    return rows, key


# --------------------------------------------------------------------------- 2. slices


def _slice_draw(
    rng, rho: float, drop_in: str | None, drop: float = 2 * SLICE_MARGIN
) -> tuple[dict, dict]:
    """Seven slices; ``drop_in`` (a name, or "all") loses ``drop`` AUC in the candidate."""
    results, planning = {}, {}
    for name, (n, n_pos, auc) in SLICES.items():
        y = np.zeros(n, dtype=bool)
        y[rng.choice(n, size=n_pos, replace=False)] = True
        e_a = rng.normal(size=n)
        e_b = rho * e_a + math.sqrt(1.0 - rho * rho) * rng.normal(size=n)
        cand_auc = auc - (drop if drop_in in (name, "all") else 0.0)
        champion = separation(auc) * y + e_a
        results[name] = delong_paired(y, separation(cand_auc) * y + e_b, champion)
        planning[name] = roc_auc_delong(y, champion).std_error
    return results, planning


def _cond(hits: int, total: int) -> str:
    return f"{100 * hits / total:.1f}" if total else "—"


def slices(reps: int, rho: float) -> list[str]:
    rng = np.random.default_rng([SEED, 2, int(rho * 100)])
    false_alarm_new = false_alarm_all = 0
    may_block = dict.fromkeys(SLICES, 0)
    caught_new = dict.fromkeys(SLICES, 0)
    caught_all = dict.fromkeys(SLICES, 0)
    blockable_drop = dict.fromkeys(SLICES, 0)
    mdd = {name: [] for name in SLICES}
    for _ in range(reps):
        tests = slice_tests(*_slice_draw(rng, rho, None), margin=SLICE_MARGIN, alpha=SLICE_ALPHA)
        false_alarm_new += any(t.blocks for t in tests.values())
        # the old rule: Holm over all tested slices rejects anything iff min p <= alpha / k
        false_alarm_all += any(t.p_value * len(tests) <= SLICE_ALPHA for t in tests.values())
        for name, t in tests.items():
            may_block[name] += t.may_block
            mdd[name].append(t.min_detectable_drop)
        for name in SLICES:
            tests = slice_tests(
                *_slice_draw(rng, rho, name), margin=SLICE_MARGIN, alpha=SLICE_ALPHA
            )
            caught_new[name] += tests[name].blocks
            blockable_drop[name] += tests[name].may_block
            # the old rule: Holm over all seven tested slices, each may block
            names = list(tests)
            adjusted = holm_adjusted([tests[k].p_value for k in names])
            caught_all[name] += bool(adjusted[names.index(name)] <= SLICE_ALPHA)
    rows = [
        f"| {name} | {n:,} | {n_pos:,} | {float(np.median(mdd[name])):.4f} | "
        f"{100 * may_block[name] / reps:.1f} | {100 * caught_new[name] / reps:.1f} | "
        f"{_cond(caught_new[name], blockable_drop[name])} | {100 * caught_all[name] / reps:.1f} |"
        for name, (n, n_pos, _) in SLICES.items()
    ]
    rows.append(
        f"| **no change: any slice blocks** | | | | | {100 * false_alarm_new / reps:.2f} | | "
        f"{100 * false_alarm_all / reps:.2f} |"
    )
    return rows


# --------------------------------------------------------------------------- 3. floors


def floors(reps: int) -> list[str]:
    cases = [
        ("slice new_enterprise", 93, 45, 0.74, slice_floor),
        ("slice contract_multi_year", 935, 26, 0.74, slice_floor),
        ("holdout", 6000, 1680, 0.80, holdout_floor),
    ]
    rows = []
    for label, n, n_pos, floor, _ in cases:
        rng = np.random.default_rng([SEED, 3, n])
        offsets = (-0.02, -0.01, 0.0, 0.01, 0.02) if n > 5000 else (-0.10, -0.05, 0.0, 0.03, 0.05)
        for offset in offsets:
            auc = floor + offset
            fail = {"point": 0, "lower": 0, "upper": 0}
            for _ in range(reps):
                y = np.zeros(n, dtype=bool)
                y[rng.choice(n, size=n_pos, replace=False)] = True
                r = roc_auc_delong(y, separation(auc) * y + rng.normal(size=n))
                fail["point"] += r.auc < floor
                fail["lower"] += not holdout_floor(r.ci_low, floor)
                fail["upper"] += not slice_floor(r.ci_high, floor)
            rows.append(
                f"| {label} | {n:,} / {n_pos:,} | {floor} | {auc:.2f} | "
                + " | ".join(f"{100 * fail[k] / reps:.1f}" for k in ("point", "lower", "upper"))
                + " |"
            )
    return rows


# --------------------------------------------------------------------------- 4. reuse


def reuse(reps: int, n: int = 6000, rho: float = 0.9, k_max: int = 20) -> list[str]:
    rng = np.random.default_rng([SEED, 4])
    d = separation(CHAMPION_AUC)
    first = {False: np.full(reps, k_max + 1), True: np.full(reps, k_max + 1)}
    for rep in range(reps):
        y, e_a, _ = draw(rng, n, PREVALENCE, rho)
        champion = d * y + e_a
        for k in range(k_max):
            e_b = rho * e_a + math.sqrt(1 - rho * rho) * rng.normal(size=n)
            r = delong_paired(y, d * y + e_b, champion)
            for spend in (False, True):
                alpha = spent_alpha(ALPHA, k, spend)
                s = superiority(r.diff, r.std_error, alpha=alpha, min_delta=MIN_DELTA)
                if _both(s) and first[spend][rep] > k_max:
                    first[spend][rep] = k + 1
    probe = np.random.default_rng([SEED, 5])
    ses = []
    for _ in range(200):
        y, e_a, e_b = draw(probe, n, PREVALENCE, rho)
        ses.append(delong_paired(y, separation(0.88) * y + e_b, d * y + e_a).std_error)
    se_09 = float(np.median(ses))
    rows = []
    for k in (1, 2, 5, 10, 20):
        power = {}
        for spend in (False, True):
            z = norm.isf(spent_alpha(ALPHA, k - 1, spend))
            power[spend] = norm.cdf((0.01 - max(MIN_DELTA, z * se_09)) / se_09)
        any_no, any_yes = (100 * np.mean(first[spend] <= k) for spend in (False, True))
        rows.append(
            f"| {k} | {any_no:.1f} | {any_yes:.1f}"
            f" | {spent_alpha(ALPHA, k - 1, True):.5f} | {100 * power[False]:.1f} | "
            f"{100 * power[True]:.1f} |"
        )
    return rows


# --------------------------------------------------------------------------- null check


def slice_boundary(reps: int) -> None:
    """Every slice dropped by exactly the margin: each null hypothesis true at its boundary,
    where Holm's family-wise bound is tightest."""
    rows = []
    start = time.perf_counter()
    for rho in (0.9, 0.5):
        rng = np.random.default_rng([SEED, 7, int(rho * 100)])
        new = old = 0
        for _ in range(reps):
            tests = slice_tests(
                *_slice_draw(rng, rho, "all", SLICE_MARGIN), margin=SLICE_MARGIN, alpha=SLICE_ALPHA
            )
            new += any(t.blocks for t in tests.values())
            old += min(t.p_value for t in tests.values()) * len(tests) <= SLICE_ALPHA
        rates = new / reps, old / reps
        rows.append(
            f"| {rho} | "
            + " | ".join(f"{100 * v:.2f} ± {100 * mc_se(v, reps):.2f}" for v in rates)
            + " |"
        )
    body = "\n".join(
        [
            "## gate_calibration_slices: family-wise false alarm at the boundary",
            "",
            f"Machine: {machine_line(('numpy', 'scipy'))}; "
            f"{(time.perf_counter() - start) / 60:.1f} min. The seven default-shaped slices, "
            f"every one dropped by exactly the margin {SLICE_MARGIN} (no slice dropped by *more*"
            f"), {reps:,} replicates: P(any slice blocks) ± Monte-Carlo SE (%), slice_alpha "
            f"{SLICE_ALPHA}.",
            "",
            "| rho | new rule (powered slices, Holm) | old rule (all slices, Holm) |",
            "|---|---|---|",
            *rows,
        ]
    )
    record("gate_calibration_slices", body)


def null_check(reps: int) -> None:
    """Gain 0 only, many replicates: is the 2.5 % bound met beyond Monte-Carlo noise?"""
    d = separation(CHAMPION_AUC)
    alphas = (0.025, 0.02)
    rows = []
    start = time.perf_counter()
    for rho in RHOS:
        for n in SIZES[:2]:  # the small holdouts, where the normal approximation is weakest
            rng = np.random.default_rng([SEED, 6, int(rho * 100), n])
            hits = dict.fromkeys(alphas, 0)
            for _ in range(reps):
                y, e_a, e_b = draw(rng, n, PREVALENCE, rho)
                r = delong_paired(y, d * y + e_b, d * y + e_a)
                for alpha in alphas:
                    hits[alpha] += _both(
                        superiority(r.diff, r.std_error, alpha=alpha, min_delta=MIN_DELTA)
                    )
            rates = [hits[a] / reps for a in alphas]
            rows.append(
                f"| {rho} | {n:,} | "
                + " | ".join(f"{100 * v:.2f} ± {100 * mc_se(v, reps):.2f}" for v in rates)
                + " |"
            )
            print(f"  null rho={rho} n={n} done", file=sys.stderr)
    body = "\n".join(
        [
            "## gate_calibration_null: false promotions at gain 0, many replicates",
            "",
            f"Machine: {machine_line(('numpy', 'scipy'))}; "
            f"{(time.perf_counter() - start) / 60:.1f} min. Same model as gate_calibration, "
            f"true gain 0, {reps:,} replicates per cell (seed {SEED}); rate ± its Monte-Carlo "
            "SE (%) of `sup+mat` (lower bound > 0 AND delta >= 0.005) at two one-sided levels.",
            "",
            "| rho | n | alpha 0.025 | alpha 0.02 |",
            "|---|---|---|---|",
            *rows,
        ]
    )
    record("gate_calibration_null", body)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000, help="replicates per cell")
    parser.add_argument(
        "--null", action="store_true", help="only the many-replicate check at gain 0"
    )
    parser.add_argument(
        "--slice-boundary", action="store_true", help="only the slices at their null boundary"
    )
    args = parser.parse_args()
    if args.slice_boundary:
        slice_boundary(args.reps)
        return
    if args.null:
        null_check(args.reps)
        return
    reps = args.reps
    start = time.perf_counter()
    promo_rows, key = promotion(reps)
    slice_rows = {rho: slices(reps, rho) for rho in (0.9, 0.5)}
    print("  slices done", file=sys.stderr)
    floor_rows = floors(reps)
    reuse_reps = max(200, reps // 2)
    reuse_rows = reuse(reuse_reps)
    minutes = (time.perf_counter() - start) / 60

    worst_null = max(
        (key[(rho, n, g)]["sup+mat"], rho, n, g) for rho in RHOS for n in SIZES for g in (0.0,)
    )
    power_target = key[(0.9, 6000, 0.01)]["sup+mat"]
    rule_lines = [f"* `{name}`: {text}" for name, (text, _) in RULES.items()]
    body = "\n".join(
        [
            "## gate_calibration: error rates of the promotion rules (simulation)",
            "",
            f"Machine: {machine_line(('numpy', 'scipy'))}; {minutes:.1f} min.",
            "",
            f"Binormal scores, {PREVALENCE:.0%} positives, champion AUC {CHAMPION_AUC}; rho = "
            "within-class correlation of the two models' scores; "
            f"{reps:,} replicates per cell (seed {SEED}), so a rate near 2.5 % carries a "
            f"Monte-Carlo SE of {100 * mc_se(0.025, reps):.2f} points, near 95 % "
            f"{100 * mc_se(0.95, reps):.2f}. Every replicate runs `delong_paired` and the "
            "rule functions of `mlgate.gate.statistics`. min_delta = 0.005.",
            "",
            *rule_lines,
            "",
            "Promotion rate (%). SE = median paired SE of the delta; MDG = minimum detectable "
            "gain of `sup+mat` (80 % power).",
            "",
            "| rho | n | true gain | SE | MDG | " + " | ".join(RULES) + " |",
            "|---|---|---|---|---|" + "---|" * len(RULES),
            *promo_rows,
            "",
            f"Targets, new default `sup+mat`: not-better candidates (gain <= 0) promoted <= 2.5 % "
            f"in every cell: worst at gain 0 is {100 * worst_null[0]:.2f} % (rho {worst_null[1]},"
            f" n {worst_null[2]:,}); gain +0.01 at rho 0.9, n 6,000 promoted "
            f"{100 * power_target:.1f} % (target >= 95 %).",
            "",
            "### Slices (margin 0.03, slice_alpha 0.05, seven slices shaped like the default "
            "data's, simulated independently)",
            "",
            "MDD = median minimum detectable drop (80 % power at slice_alpha / 7, at the "
            "champion's own SE in the slice); may block = share of replicates in which that "
            "MDD was <= 2 x margin; caught = P(the slice blocks | a 0.06 drop in that slice "
            "only), unconditional and given that it may block; no change = P(any slice "
            "blocks | no slice changed), the family-wise false alarm.",
            "",
            *[
                line
                for rho, rows in slice_rows.items()
                for line in (
                    f"rho {rho}:",
                    "",
                    "| slice | n | positives | MDD | may block (%) | caught, new rule (%) | "
                    "caught when it may block (%) | caught, old rule: all slices, Holm (%) |",
                    "|---|---|---|---|---|---|---|---|",
                    *rows,
                    "",
                )
            ],
            "### Floors: P(floor check fails) (%), 95 % DeLong CI",
            "",
            "`point`: AUC < floor; `lower`: CI lower bound < floor (holdout rule, burden on the "
            "model); `upper`: CI upper bound < floor (slice rule, fails when shown below).",
            "",
            "| case | n / positives | floor | true AUC | point | lower | upper |",
            "|---|---|---|---|---|---|---|",
            *floor_rows,
            "",
            f"### Holdout reuse: K candidates that are not better (gain 0, rho 0.9, n 6,000), "
            f"one holdout and champion, {reuse_reps:,} replicates",
            "",
            "P(any of the first K promoted) without and with spending (k-th decision at "
            "alpha / (k (k + 1))); power of the K-th decision for a +0.01 gain (normal "
            "approximation at the simulated SE).",
            "",
            "| K | any promoted, no spending (%) | with spending (%) | alpha of decision K | "
            "power K-th, no spending (%) | with spending (%) |",
            "|---|---|---|---|---|---|",
            *reuse_rows,
        ]
    )
    record("gate_calibration", body)


if __name__ == "__main__":
    main()
