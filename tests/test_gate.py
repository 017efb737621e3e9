"""The decision rules on hand-built evidence: each rule can fail, and fails closed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlgate.champion import Champion
from mlgate.gate.champion_rules import lower_is_better
from mlgate.gate.checks import Missing
from mlgate.gate.compare import ChampionEvidence, compare
from mlgate.gate.decision import decide
from mlgate.params import GateParams, GateServingParams
from mlgate.slices import parse_slices

CHAMP = Champion(ref="churn-model#prod#1", commit="a" * 40, source="gto", version="v0.0.1")
RULES = GateParams(non_inferiority={"brier_loss": 0.01, "pr_auc": 0.02})
VALID = {"passed": True}
BEHAVIOURAL = {"passed": True, "tests": []}
HOLDOUT = {"roc_auc": 0.86, "roc_auc_ci_low": 0.85, "roc_auc_ci_high": 0.87}
SERVING = {
    "parity_passed": True,
    "parity_max_abs_diff": 0.0,
    "parity": {"tolerance": 1e-9},
    "n_5xx": 0,
    "n_transport_errors": 0,
    "bad_payloads_passed": True,
    "bad_payloads": {"cases": [{"name": "missing_field", "passed": True}]},
    "served_sha256_matches": True,
    "latency_ms": {"single": {"p95": 12.0}, "batch": {"p95": 40.0}},
}
SLICES = {
    "slices": {
        "a": {"skipped": False, "roc_auc": 0.85, "roc_auc_ci_low": 0.8, "roc_auc_ci_high": 0.9},
        "tiny": {"skipped": True, "skip_reason": "5 rows < min_samples 30"},
    }
}


def _data(n: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"segment": rng.choice(["x", "y"], size=n, p=[0.8, 0.2])})
    signal = rng.normal(size=n)
    y = (signal + rng.normal(size=n) > 0.5).astype(int)
    return frame, y, signal


def _scores(signal: np.ndarray, noise: float, seed: int) -> np.ndarray:
    raw = signal + np.random.default_rng(seed).normal(scale=noise, size=signal.size)
    return 1 / (1 + np.exp(-raw))


def _evidence(
    candidate: np.ndarray, champion: np.ndarray, frame: pd.DataFrame, y: np.ndarray
) -> ChampionEvidence:
    slices = parse_slices(
        {
            "seg_x": {"column": "segment", "op": "==", "value": "x"},
            "seg_y": {"column": "segment", "op": "==", "value": "y"},
        },
        where="evaluate.slices",
    )
    comparison = compare(
        frame,
        y,
        candidate,
        champion,
        slices,
        min_samples=30,
        confidence=0.95,
        threshold=0.5,
        calibration_bins=10,
    )
    return ChampionEvidence(CHAMP, {"roc_auc": 0.8}, comparison)


def _decide(rules: GateParams = RULES, **overrides):
    evidence = {
        "validation": VALID,
        "holdout": HOLDOUT,
        "slices": SLICES,
        "behavioral": BEHAVIOURAL,
        "stale": [],
        "serving": SERVING,
        "champion": None,
    }
    evidence.update(overrides)
    return decide(rules, **evidence)


def _failed(decision: dict) -> list[str]:
    return decision["failed"]


def test_first_model_promoted_when_floors_pass_and_policy_allows():
    decision = _decide()
    assert decision["promote"] is True and decision["decision"] == "promote"
    champion_check = next(c for c in decision["checks"] if c["name"] == "champion")
    assert "nothing to compare with" in champion_check["reason"]


def test_first_model_rejected_when_policy_says_reject():
    decision = _decide(GateParams(first_model="reject"))
    assert _failed(decision) == ["champion"]


def test_skipped_slices_get_no_floor_check_but_evaluated_ones_do():
    names = [c["name"] for c in _decide()["checks"]]
    assert "slice_auc_floor[a]" in names and "slice_auc_floor[tiny]" not in names


@pytest.mark.parametrize(
    ("override", "failed"),
    [
        ({"holdout": {**HOLDOUT, "roc_auc_ci_low": 0.79}}, "holdout_auc_floor"),
        (
            {"slices": {"slices": {"a": {"roc_auc": 0.70, "roc_auc_ci_high": 0.73}}}},
            "slice_auc_floor[a]",
        ),
        ({"validation": {"passed": False}}, "validation_passed"),
        (
            {"behavioral": {"passed": False, "tests": [{"name": "dir_x", "passed": False}]}},
            "behavioral_passed",
        ),
        ({"stale": ["data/holdout.parquet"]}, "evidence_fresh"),
    ],
)
def test_each_absolute_rule_can_reject(override, failed):
    decision = _decide(**override)
    assert decision["promote"] is False
    assert _failed(decision) == [failed]


@pytest.mark.parametrize(
    "key", ["validation", "holdout", "slices", "behavioral", "stale", "champion"]
)
def test_missing_evidence_rejects_naming_it(key):
    decision = _decide(**{key: Missing(f"{key} file is missing")})
    assert decision["promote"] is False
    reasons = [c["reason"] for c in decision["checks"] if not c["passed"]]
    assert any(f"{key} file is missing" in r for r in reasons)


def test_text_where_a_number_belongs_rejects():
    decision = _decide(holdout={"roc_auc": "0.9"})
    assert "holdout_auc_floor" in _failed(decision)


def test_clearly_better_candidate_is_promoted_with_paired_evidence():
    frame, y, signal = _data()
    evidence = _evidence(_scores(signal, 0.3, 1), _scores(signal, 1.5, 2), frame, y)
    decision = _decide(champion=evidence)
    assert decision["promote"] is True, decision["summary"]
    comparison = decision["comparison"]
    assert comparison["auc_delta"] > 0.05 and comparison["auc_delta_ci_low"] > 0
    assert comparison["n"] == len(y)


def test_improvement_below_min_delta_is_rejected_naming_the_rule():
    frame, y, signal = _data()
    evidence = _evidence(_scores(signal, 0.3, 1), _scores(signal, 1.5, 2), frame, y)
    decision = _decide(GateParams(min_delta=0.5), champion=evidence)
    assert _failed(decision) == ["auc_improvement"]


def test_worse_candidate_is_rejected():
    frame, y, signal = _data()
    evidence = _evidence(_scores(signal, 1.5, 2), _scores(signal, 0.3, 1), frame, y)
    decision = _decide(champion=evidence)
    assert "auc_improvement" in _failed(decision)
    assert decision["comparison"]["auc_delta"] < 0


def test_superiority_rule_needs_the_lower_bound_above_zero():
    frame, y, signal = _data(n=400)
    # Nearly identical models: the point estimate may be positive, the CI straddles 0.
    evidence = _evidence(_scores(signal, 0.50, 1), _scores(signal, 0.52, 2), frame, y)
    decision = _decide(GateParams(min_delta=-1.0, require_superiority=True), champion=evidence)
    assert "auc_superiority" in _failed(decision)


def test_slice_collapse_rejected_even_though_overall_auc_rises():
    # 20,000 rows: segment y (~4,000) is large enough to catch a 2 x margin drop 80 % of the time
    frame, y, signal = _data(n=20_000)
    good, champ = _scores(signal, 0.2, 1), _scores(signal, 1.2, 2)
    seg_y = (frame["segment"] == "y").to_numpy()
    candidate = good.copy()
    candidate[seg_y] = np.random.default_rng(3).random(int(seg_y.sum()))  # noise on segment y
    evidence = _evidence(candidate, champ, frame, y)
    decision = _decide(GateParams(min_delta=0.0), champion=evidence)
    assert decision["comparison"]["auc_delta"] > 0  # overall the candidate still looks better
    assert "slice_regression[seg_y]" in _failed(decision)
    assert "slice_regression[seg_x]" not in _failed(decision)
    check = next(c for c in decision["checks"] if c["name"] == "slice_regression[seg_y]")
    assert "Holm-adjusted" in check["reason"]
    assert check["details"]["may_block"] is True and check["details"]["p_holm"] <= 0.05


def test_non_inferiority_uses_the_metric_direction():
    frame, y, signal = _data()
    champ = _scores(signal, 0.3, 1)
    # Same ranking (identical AUC) but badly calibrated: Brier worsens, AUC does not.
    squashed = 0.5 + (champ - 0.5) * 0.2
    decision = _decide(
        GateParams(min_delta=-1.0, non_inferiority={"brier_loss": 0.001}),
        champion=_evidence(squashed, champ, frame, y),
    )
    assert "non_inferiority[brier_loss]" in _failed(decision)


def test_unknown_metric_direction_is_a_failed_check_not_a_guess():
    frame, y, signal = _data()
    evidence = _evidence(_scores(signal, 0.3, 1), _scores(signal, 1.5, 2), frame, y)
    decision = _decide(GateParams(non_inferiority={"mystery": 0.1}), champion=evidence)
    assert "non_inferiority[mystery]" in _failed(decision)
    with pytest.raises(ValueError, match="cannot tell its direction"):
        lower_is_better("mystery")


def test_champion_model_unavailable_rejects_with_the_reason():
    evidence = ChampionEvidence(
        CHAMP, {"roc_auc": 0.8}, Missing("champion model: sha256 mismatch")
    )
    decision = _decide(champion=evidence)
    assert _failed(decision) == ["paired_comparison"]
    assert "sha256 mismatch" in decision["summary"]


def test_champion_metrics_missing_rejects():
    frame, y, signal = _data()
    good = _evidence(_scores(signal, 0.3, 1), _scores(signal, 1.5, 2), frame, y)
    evidence = ChampionEvidence(
        CHAMP, Missing("metrics/holdout.json: not committed"), good.comparison
    )
    assert _failed(_decide(champion=evidence)) == ["champion_metrics"]


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        ({"parity_passed": False, "parity_max_abs_diff": 0.01}, "serving_parity"),
        ({"n_5xx": 2}, "serving_no_5xx"),
        ({"n_transport_errors": 1}, "serving_no_5xx"),
        (
            {
                "bad_payloads_passed": False,
                "bad_payloads": {"cases": [{"name": "unknown_category", "passed": False}]},
            },
            "serving_bad_payloads",
        ),
        ({"served_sha256_matches": False}, "serving_model_identity"),
        (
            {"latency_ms": {"single": {"p95": 250.0}, "batch": {"p95": 40.0}}},
            "serving_latency[single]",
        ),
        ({"latency_ms": {"single": {"p95": 10.0}, "batch": {}}}, "serving_latency[batch]"),
    ],
)
def test_each_serving_rule_can_reject(change, failed):
    decision = _decide(serving={**SERVING, **change})
    assert decision["failed"] == [failed]


def test_serving_evidence_missing_rejects_unless_not_required():
    assert _decide(serving=Missing("metrics/serving.json does not exist"))["failed"] == ["serving"]
    rules = GateParams(serving=GateServingParams(required=False))
    assert _decide(rules, serving=Missing("gone"))["promote"] is True
