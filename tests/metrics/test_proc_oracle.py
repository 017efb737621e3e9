"""mlgate's AUC, DeLong CI, paired DeLong test and Holm against R's pROC 1.18 and p.adjust.

The fixture ``fixtures/proc_oracle.json`` and its datasets are written by
``fixtures/make_proc_fixtures.R`` (rerun it where R and pROC are installed); this test needs no
R. The datasets cover heavy ties, the smallest defined input (2 positives, 3 negatives), AUC
near 1 (a CI clipped at 1), 1 % positives and two models with exactly equal AUCs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlgate.metrics import delong_paired, holm_adjusted, roc_auc_delong

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "proc_oracle.json").read_text())
DATASETS = sorted(FIXTURE["datasets"])
# pROC sums floating-point placements; mlgate sums integers and rounds once. Worst differences
# measured over every dataset: AUC 1.1e-16, CI bounds 2.2e-16, paired difference 6e-17, p value
# 2.7e-15, z 2.6e-14, variance 3.6e-15 relative, Holm 0. The tolerance leaves room for libm.
TOL = 1e-12


def _data(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = FIXTURE["datasets"][name]
    return np.array(d["y"]), np.array(d["a"], dtype=float), np.array(d["b"], dtype=float)


def test_fixture_covers_the_cases_it_claims():
    assert FIXTURE["proc_version"].startswith("1.18")
    assert set(DATASETS) >= {"ties", "tiny", "near_one", "rare_1pct", "continuous", "equal_auc"}
    y, a, _ = _data("rare_1pct")
    assert y.mean() == pytest.approx(0.01) and np.unique(a).size < a.size / 10
    assert FIXTURE["results"]["near_one"]["a"]["ci_high"] == 1  # clipped by pROC
    assert sorted(_data("tiny")[0]) == [0, 0, 0, 1, 1]


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("model", ["a", "b"])
def test_single_auc_ci_and_variance_match_proc(name, model):
    y, a, b = _data(name)
    expected = FIXTURE["results"][name][model]
    r = roc_auc_delong(y, a if model == "a" else b, confidence=FIXTURE["confidence"])
    assert r.auc == pytest.approx(expected["auc"], abs=TOL, rel=0)
    assert r.variance == pytest.approx(expected["variance"], abs=TOL, rel=1e-12)
    assert r.ci_low == pytest.approx(expected["ci_low"], abs=TOL, rel=0)
    assert r.ci_high == pytest.approx(expected["ci_high"], abs=TOL, rel=0)
    assert r.ci_clipped == (expected["ci_high"] == 1 or expected["ci_low"] == 0)


@pytest.mark.parametrize("name", DATASETS)
def test_paired_test_matches_proc_roc_test(name):
    y, a, b = _data(name)
    expected = FIXTURE["results"][name]["paired"]
    r = delong_paired(y, a, b, confidence=FIXTURE["confidence"])
    assert r.auc_a == pytest.approx(expected["auc_a"], abs=TOL, rel=0)
    assert r.auc_b == pytest.approx(expected["auc_b"], abs=TOL, rel=0)
    assert r.diff == pytest.approx(expected["auc_a"] - expected["auc_b"], abs=TOL, rel=0)
    assert r.z == pytest.approx(expected["z"], abs=1e-10, rel=1e-12)
    assert r.p_value == pytest.approx(expected["p_value"], abs=TOL, rel=1e-10)
    assert r.ci_low == pytest.approx(expected["ci_low"], abs=TOL, rel=0)
    assert r.ci_high == pytest.approx(expected["ci_high"], abs=TOL, rel=0)


def test_equal_aucs_give_zero_exactly_where_proc_gives_zero():
    y, a, b = _data("equal_auc")
    expected = FIXTURE["results"]["equal_auc"]["paired"]
    r = delong_paired(y, a, b)
    assert expected["z"] == 0 and expected["p_value"] == 1
    assert r.diff == 0.0 and r.z == 0.0 and r.p_value == 1.0 and r.std_error > 0


@pytest.mark.parametrize("family", sorted(FIXTURE["holm"]))
def test_holm_adjusted_p_values_match_p_adjust(family):
    case = FIXTURE["holm"][family]
    np.testing.assert_allclose(holm_adjusted(case["p"]), case["adjusted"], rtol=0, atol=TOL)
