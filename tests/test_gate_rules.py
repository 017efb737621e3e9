"""Every rule of the gate at its boundary, on both sides, so a flipped comparison fails a test.

Evidence is built from hand-made DeLong results (exact diff and SE) and pushed through
``decide``, the function the gate stage calls.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from mlgate.gate.compare import ChampionEvidence, Comparison, SliceComparison, compare
from mlgate.gate.decision import decide
from mlgate.gate.statistics import (
    Z_POWER,
    SliceTest,
    show_vs,
    show_vs_sig,
    slice_tests,
    spent_alpha,
    superiority,
    z_one_sided,
)
from mlgate.metrics import PairedAucResult
from mlgate.params import GateParams, GateServingParams, HoldoutReuseParams
from tests.test_behavioral import dir_spec, holdout, one, sigmoid, true_model  # noqa: F401
from tests.test_gate import BEHAVIOURAL, CHAMP, HOLDOUT, SERVING, SLICES, VALID

RULES = GateParams(non_inferiority={})


def paired(diff: float, se: float, auc_b: float = 0.85) -> PairedAucResult:
    return PairedAucResult(
        auc_a=auc_b + diff,
        auc_b=auc_b,
        diff=diff,
        variance=se * se,
        std_error=se,
        z=diff / se if se else 0.0,
        p_value=float(2 * norm.sf(abs(diff / se))) if se else float(diff == 0),
        ci_low=diff - 1.959964 * se,
        ci_high=diff + 1.959964 * se,
        n=6000,
        n_pos=1680,
        n_neg=4320,
        ci_clipped=False,
        confidence=0.95,
    )


def run(
    rules: GateParams = RULES,
    overall: PairedAucResult | None = None,
    pairs: dict[str, SliceComparison] | None = None,
    candidate: dict | None = None,
    champion: dict | None = None,
    **evidence,
) -> dict:
    comparison = Comparison(
        paired=overall or paired(0.02, 0.002),
        candidate=candidate or {},
        champion=champion or {},
        slices=pairs or {},
    )
    inputs = {
        "validation": VALID,
        "holdout": HOLDOUT,
        "slices": SLICES,
        "behavioral": BEHAVIOURAL,
        "stale": [],
        "serving": SERVING,
        "champion": ChampionEvidence(CHAMP, {"roc_auc": 0.8}, comparison),
    }
    inputs.update(evidence)
    return decide(rules, **inputs)


def check(decision: dict, name: str) -> dict:
    return next(c for c in decision["checks"] if c["name"] == name)


def sl(diff: float, se: float, champion_se: float = 0.001) -> SliceComparison:
    return SliceComparison(1000, paired(diff, se), champion_se=champion_se)


# --------------------------------------------------------------------------- promotion


def test_materiality_boundary_min_delta_itself_passes_just_below_fails():
    rules = GateParams(non_inferiority={}, min_delta=0.005)
    assert check(run(rules, paired(0.005, 0.0001)), "auc_improvement")["passed"] is True
    below = check(run(rules, paired(0.00499999, 0.0001)), "auc_improvement")
    assert below["passed"] is False
    assert "0.00499999 < min_delta 0.00500000" in below["reason"]


def test_superiority_boundary_lower_bound_zero_fails_above_zero_passes():
    rules = GateParams(non_inferiority={}, min_delta=-1.0)
    # SE 0: the lower bound is the delta itself
    assert check(run(rules, paired(0.0, 0.0)), "auc_superiority")["passed"] is False
    assert check(run(rules, paired(1e-12, 0.0)), "auc_superiority")["passed"] is True
    z = z_one_sided(0.025)
    assert check(run(rules, paired(z * 0.004 * 1.001, 0.004)), "auc_superiority")["passed"]
    assert not check(run(rules, paired(z * 0.004 * 0.999, 0.004)), "auc_superiority")["passed"]


def test_default_rule_needs_both_superiority_and_materiality():
    # significant but not material (the README's logistic regression: +0.0046, SE 0.001)
    decision = run(GateParams(non_inferiority={}), paired(0.0046, 0.001))
    assert decision["failed"] == ["auc_improvement"]
    # material but not shown: delta +0.008 with SE 0.005 (lower bound < 0)
    decision = run(GateParams(non_inferiority={}), paired(0.008, 0.005))
    assert decision["failed"] == ["auc_superiority"]
    assert run(GateParams(non_inferiority={}), paired(0.008, 0.002))["promote"] is True


def test_superiority_off_restores_the_point_rule():
    rules = GateParams(non_inferiority={}, require_superiority=False)
    decision = run(rules, paired(0.008, 0.005))
    assert decision["promote"] is True
    assert "auc_superiority" not in [c["name"] for c in decision["checks"]]
    assert "no error control" in decision["comparison"]["superiority"]["rule"]


def test_gate_json_states_rule_se_detectable_gain_and_sidedness():
    decision = run(overall=paired(0.01, 0.002))
    sup = decision["comparison"]["superiority"]
    z = z_one_sided(0.025)
    assert sup["std_error"] == 0.002 and decision["comparison"]["auc_delta_se"] == 0.002
    assert sup["lower_bound"] == pytest.approx(0.01 - z * 0.002)
    assert sup["p_value"] == pytest.approx(norm.sf(5.0))
    assert sup["p_value_sidedness"] == "one-sided, H0: true delta <= 0"
    assert decision["comparison"]["p_value_sidedness"] == "two-sided, H0: true delta = 0"
    assert sup["min_detectable_gain"] == pytest.approx(max(0.005, z * 0.002) + Z_POWER * 0.002)
    assert "paired SE 0.00200" in check(decision, "auc_superiority")["reason"]
    assert "80% power" in check(decision, "auc_improvement")["reason"]


def test_min_detectable_gain_is_promoted_80_percent_of_the_time():
    for se in (0.001, 0.004):
        s = superiority(0.0, se, alpha=0.025, min_delta=0.005)
        threshold = max(0.005, z_one_sided(0.025) * se)  # promote iff delta > threshold
        assert norm.sf((threshold - s.min_detectable_gain) / se) == pytest.approx(0.80)


def test_identical_candidate_gives_delta_zero_ci_zero_and_is_rejected():
    rng = np.random.default_rng(0)
    y = rng.random(3000) < 0.3
    scores = (rng.random(3000) + y) / 2  # probabilities: the metrics need them

    comparison = compare(
        pd.DataFrame(index=range(3000)),
        y,
        scores,
        scores.copy(),
        {},
        min_samples=30,
        confidence=0.95,
        threshold=0.5,
        calibration_bins=10,
    )
    decision = decide(
        RULES,
        validation=VALID,
        holdout=HOLDOUT,
        slices=SLICES,
        behavioral=BEHAVIOURAL,
        stale=[],
        serving=SERVING,
        champion=ChampionEvidence(CHAMP, {"roc_auc": 0.8}, comparison),
    )
    c = decision["comparison"]
    assert (c["auc_delta"], c["auc_delta_ci_low"], c["auc_delta_ci_high"]) == (0.0, 0.0, 0.0)
    assert set(decision["failed"]) == {"auc_improvement", "auc_superiority"}


# --------------------------------------------------------------------------- holdout reuse


def test_alpha_spending_schedule_sums_to_alpha():
    assert spent_alpha(0.025, 3, False) == 0.025
    assert [spent_alpha(0.025, k, True) for k in range(3)] == [0.0125, 0.025 / 6, 0.025 / 12]
    assert sum(spent_alpha(0.025, k, True) for k in range(10_000)) == pytest.approx(0.025, 1e-3)
    with pytest.raises(ValueError, match="earlier_decisions"):
        spent_alpha(0.025, -1, True)


def test_spending_shrinks_alpha_with_earlier_decisions_and_gate_json_records_it():
    # one-sided p = sf(2.2) = 0.0139: below 0.025, above 0.0125
    evidence = paired(0.011, 0.005)
    spend = GateParams(non_inferiority={}, holdout_reuse=HoldoutReuseParams(spend_alpha=True))
    assert run(RULES, evidence, earlier_decisions=5)["promote"] is True
    decision = run(spend, evidence, earlier_decisions=0)
    assert decision["failed"] == ["auc_superiority"]
    reuse = decision["comparison"]["holdout_reuse"]
    assert reuse == {
        "earlier_decisions": 0,
        "spend_alpha": True,
        "alpha": 0.025,
        "alpha_used": 0.0125,
    }
    assert decision["comparison"]["superiority"]["alpha_used"] == 0.0125
    later = run(spend, paired(0.02, 0.005), earlier_decisions=2)  # p = sf(4) = 3.2e-5
    assert later["comparison"]["holdout_reuse"]["alpha_used"] == pytest.approx(0.025 / 12)
    assert later["promote"] is True


# --------------------------------------------------------------------------- slices


def test_holm_lets_two_slices_with_raw_p_0478_and_0933_pass():
    m, se = 0.03, 0.01
    slices = {
        "a": sl(-m + se * norm.ppf(0.0478), se),
        "b": sl(-m + se * norm.ppf(0.933), se),
    }
    decision = run(pairs=slices)
    a = check(decision, "slice_regression[a]")
    assert a["details"]["p_value"] == pytest.approx(0.0478)
    assert a["details"]["p_holm"] == pytest.approx(0.0956)
    assert decision["promote"] is True


def test_slice_drop_within_margin_passes_beyond_margin_blocks():
    slices = {"within": sl(-0.02, 0.004), "beyond": sl(-0.05, 0.004)}
    decision = run(pairs=slices)
    assert decision["failed"] == ["slice_regression[beyond]"]
    # margin 0.09 would forgive the 0.05 drop: a tripled margin must not pass this test
    assert check(decision, "slice_regression[beyond]")["threshold"] == -0.03


def test_slice_alpha_is_the_level_not_a_tenth_of_it():
    # one-sided p 0.02: blocks at slice_alpha 0.05, would pass at 0.005
    decision = run(pairs={"s": sl(-0.03 + 0.004 * norm.ppf(0.02), 0.004)})
    assert decision["failed"] == ["slice_regression[s]"]
    assert check(decision, "slice_regression[s]")["details"]["p_holm"] == pytest.approx(0.02)


def test_slice_drop_boundary_with_exact_evidence():
    # SE 0: a drop of exactly the margin is not beyond it; a hair more is
    assert run(pairs={"s": sl(-0.03, 0.0)})["promote"] is True
    assert run(pairs={"s": sl(-0.0300001, 0.0)})["failed"] == ["slice_regression[s]"]


def test_only_slices_powered_for_twice_the_margin_may_block():
    z = z_one_sided(0.05 / 2)  # two slices tested: Bonferroni level 0.025
    edge = 0.03 / (z + Z_POWER)  # champion SE at which a 0.06 drop is caught exactly 80 %
    slices = {
        "powered": sl(-0.2, 0.01, champion_se=edge * (1 - 1e-9)),
        "small": sl(-0.2, 0.01, champion_se=edge * (1 + 1e-9)),
    }
    decision = run(pairs=slices)
    assert decision["failed"] == ["slice_regression[powered]"]
    powered = check(decision, "slice_regression[powered]")["details"]
    small = check(decision, "slice_regression[small]")
    assert powered["power_at_twice_margin"] == pytest.approx(0.80)
    assert powered["min_detectable_drop"] == pytest.approx(0.06)
    assert small["passed"] is True and small["details"]["may_block"] is False
    assert "reported only" in small["reason"] and small["details"]["p_holm"] is None
    record = decision["comparison"]["slices"]["small"]
    assert record["may_block"] is False and record["min_detectable_drop"] > 0.06


def test_reported_only_slices_do_not_enlarge_holms_family():
    m, se = 0.03, 0.01
    slices = {
        "a": sl(-m + se * norm.ppf(0.03), se),
        "tiny": sl(0.0, 0.05, champion_se=1.0),
    }
    tests = slice_tests(
        {k: v.paired for k, v in slices.items()},
        {k: v.champion_se for k, v in slices.items()},
        margin=m,
        alpha=0.05,
    )
    assert tests["a"].p_holm == pytest.approx(0.03) and tests["a"].blocks
    assert tests["tiny"].p_holm is None and not tests["tiny"].blocks


# --------------------------------------------------------------------------- floors


def test_holdout_floor_uses_the_ci_lower_bound_at_its_boundary():
    at = {**HOLDOUT, "roc_auc_ci_low": 0.80}
    assert check(run(holdout=at), "holdout_auc_floor")["passed"] is True
    below = check(run(holdout={**HOLDOUT, "roc_auc_ci_low": 0.79996}), "holdout_auc_floor")
    assert below["passed"] is False
    assert "0.79996 < floor 0.80000" in below["reason"]


def test_slice_floor_fails_only_when_the_upper_bound_is_below():
    def floor(ci_high: float, auc: float = 0.73996) -> dict:
        entry = {"roc_auc": auc, "roc_auc_ci_low": 0.6, "roc_auc_ci_high": ci_high}
        return check(run(slices={"slices": {"s": entry}}), "slice_auc_floor[s]")

    assert floor(0.74)["passed"] is True
    shown_below = floor(0.7399)
    assert shown_below["passed"] is False
    assert "0.7399 < floor 0.7400" in shown_below["reason"]
    inconclusive = floor(0.8)
    assert inconclusive["passed"] is True
    assert "ROC AUC 0.73996" in inconclusive["reason"]
    assert "not shown below" in inconclusive["reason"]


@pytest.mark.parametrize(
    "metrics",
    [
        {"roc_auc": 86.9, "roc_auc_ci_low": 0.85},
        {"roc_auc": 0.869, "roc_auc_ci_low": 85.0},
        {"roc_auc": 0.869},
        {"roc_auc": float("nan"), "roc_auc_ci_low": 0.85},
    ],
)
def test_holdout_auc_outside_0_1_or_without_a_bound_fails(metrics):
    assert check(run(holdout=metrics), "holdout_auc_floor")["passed"] is False


def test_show_vs_prints_enough_digits_to_see_the_difference():
    assert show_vs(0.73996, 0.74) == ("0.73996", "0.74000")
    assert show_vs(0.74, 0.74) == ("0.7400", "0.7400")
    assert show_vs(0.7399999999, 0.74) == ("0.7399999999", "0.7400000000")
    assert show_vs(math.inf, 0.74) == ("inf", "0.7400")


def test_show_vs_sig_prints_enough_significant_digits_to_see_the_difference():
    assert show_vs_sig(0.0500004, 0.05) == ("0.0500004", "0.05")
    assert show_vs_sig(0.05, 0.05) == ("0.05", "0.05")
    assert show_vs_sig(0.0123, 0.05) == ("0.0123", "0.05")
    assert show_vs_sig(1e-12, 0.05) == ("1e-12", "0.05")
    assert show_vs_sig(math.nan, 0.05) == ("nan", "0.05")


def _slice_test(p_holm: float | None, mdd: float = 0.05) -> SliceTest:
    return SliceTest(
        diff=-0.05, std_error=0.01, planning_se=0.01, p_value=0.02, p_holm=p_holm,
        may_block=p_holm is not None, blocks=p_holm is not None and p_holm <= 0.05,
        level=0.05, min_detectable_drop=mdd, power_at_twice_margin=0.8,
    )  # fmt: skip


def test_slice_regression_reasons_show_the_digits_that_decide():
    from mlgate.gate.slice_rules import slice_regression_checks

    rules = GateParams(non_inferiority={}, slice_alpha=0.05, slice_margin=0.03)
    # Holm p a hair above alpha: the slice does not block, and the reason shows why.
    (above,) = slice_regression_checks(rules, {"s": _slice_test(0.0500004)})
    assert above.passed is True
    assert "Holm-adjusted 0.0500004 > alpha 0.05;" in above.reason
    (at,) = slice_regression_checks(rules, {"s": _slice_test(0.05)})
    assert at.passed is False and "Holm-adjusted 0.05 <= alpha 0.05;" in at.reason
    # Reported only: its detectable drop a hair above 2 x margin.
    (small,) = slice_regression_checks(rules, {"s": _slice_test(None, mdd=0.0600004)})
    assert "detectable drop 0.0600004 > 2 x margin 0.0600000" in small.reason


def test_superiority_reason_shows_p_against_alpha_with_the_digits_that_differ():
    rules = GateParams(non_inferiority={}, min_delta=0.0, superiority_alpha=0.025)
    # z = 1.959963 gives a one-sided p a hair below 0.025.
    sup = check(run(rules, paired(0.01959964, 0.01)), "auc_superiority")
    p_text = sup["reason"].split("one-sided p ")[1].split(" vs alpha")[0]
    assert p_text != "0.025" and float(p_text) == pytest.approx(0.025, abs=1e-6)
    assert "vs alpha 0.025" in sup["reason"]


# --------------------------------------------------------------------------- other bounds


@pytest.mark.parametrize(("metric", "lower"), [("brier_loss", True), ("pr_auc", False)])
def test_non_inferiority_boundary_in_both_directions(metric, lower):
    champ, worse = 0.25, (0.375 if lower else 0.125)  # worse by exactly 0.125 (exact floats)
    rules = GateParams(non_inferiority={metric: 0.125})
    name = f"non_inferiority[{metric}]"
    at = run(rules, candidate={metric: worse}, champion={metric: champ})
    assert check(at, name)["passed"] is True and check(at, name)["value"] == 0.125
    tight = GateParams(non_inferiority={metric: 0.1249999})
    assert (
        check(run(tight, candidate={metric: worse}, champion={metric: champ}), name)["passed"]
        is False
    )
    better = run(tight, candidate={metric: 2 * champ - worse}, champion={metric: champ})
    assert check(better, name)["passed"] is True


@pytest.mark.parametrize("kind", ["single", "batch"])
def test_latency_bound_itself_passes_just_above_fails(kind):
    bound = GateServingParams().max_single_p95_ms if kind == "single" else 500.0
    for p95, passed in ((bound, True), (bound + 1e-9, False)):
        latency = {"single": {"p95": 1.0}, "batch": {"p95": 1.0}, kind: {"p95": p95}}
        decision = run(serving={**SERVING, "latency_ms": latency})
        assert check(decision, f"serving_latency[{kind}]")["passed"] is passed


# --------------------------------------------------------------------------- behavioral


def test_dir_decrease_with_min_delta_needs_a_drop_larger_than_it(holdout):  # noqa: F811
    from mlgate.behavioral import run_suite

    model = true_model()
    z = model.logit(holdout)
    drop = sigmoid(z) - sigmoid(z - 0.65)  # one ticket fewer lowers the score by `drop`
    cut = float(np.quantile(drop, 0.4))
    spec = dir_spec("decrease", {"add": {"support_tickets": -1}}, min_delta=cut)
    result, _ = run_suite(model, holdout, spec, seed=0)
    failures = one(result, "d")["failures"]
    assert failures == int((drop <= cut).sum())
    assert 0 < failures < len(holdout)


def test_gate_json_keeps_both_slice_p_values_with_their_sidedness():
    record = run(pairs={"s": sl(-0.01, 0.004)})["comparison"]["slices"]["s"]
    assert record["p_value_sidedness"] == "two-sided, H0: true delta = 0"
    assert record["p_value"] == pytest.approx(2 * norm.sf(2.5))
    assert record["p_drop_sidedness"] == "one-sided, H0: true delta >= -0.03"
    assert record["p_drop"] == pytest.approx(norm.cdf(0.02 / 0.004))


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ({"superiority_alpha": 0.5}, "gate.superiority_alpha: expected a number in (0, 0.5)"),
        ({"superiority_alpha": 0.0}, "gate.superiority_alpha: expected a number in (0, 0.5)"),
        ({"holdout_reuse": {"spend_alpha": "yes"}}, "gate.holdout_reuse.spend_alpha"),
        ({"holdout_reuse": {"spend": True}}, "did you mean 'spend_alpha'"),
    ],
)
def test_new_gate_params_are_checked_by_name(gate, message):
    from mlgate.errors import ParamsError
    from mlgate.params import params_from_dict

    with pytest.raises(ParamsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        params_from_dict({"gate": gate})


def test_defaults_are_the_calibrated_rule():
    rules = GateParams()
    assert rules.require_superiority is True and rules.superiority_alpha == 0.025
    assert rules.min_delta == 0.005 and rules.holdout_reuse.spend_alpha is False


def test_unknown_reuse_count_fails_closed_only_when_alpha_is_spent():
    """With spending on, an unreadable history must not pass as 'first decision'."""
    spend = GateParams(non_inferiority={}, holdout_reuse=HoldoutReuseParams(spend_alpha=True))
    unknown = {"error": "git log failed", "counted": False}
    assert run(RULES, paired(0.02, 0.002), holdout_reuse=unknown)["promote"] is True
    decision = run(spend, paired(0.02, 0.002), holdout_reuse=unknown)
    assert decision["failed"] == ["holdout_reuse_known"]
    assert "git log failed" in check(decision, "holdout_reuse_known")["reason"]
    assert run(spend, paired(0.02, 0.002), holdout_reuse={"counted": True})["promote"] is True
