"""mlgate.verify's pure parts: which stages are evidence, how decisions are compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.errors import ArtifactError
from mlgate.repo.lock import stale_params, upstream_chain
from mlgate.verify import disagreement

LOCK = {
    "generate": {"outs": [{"path": "raw.parquet", "md5": "a"}]},
    "validate": {"deps": [{"path": "raw.parquet"}], "outs": [{"path": "valid.parquet"}]},
    "train": {"deps": [{"path": "valid.parquet"}], "outs": [{"path": "model.joblib"}]},
    "drift": {"deps": [{"path": "valid.parquet"}], "outs": [{"path": "drift.json"}]},
    "gate": {
        "deps": [{"path": "model.joblib"}, {"path": "metrics/champion.json"}],
        "outs": [{"path": "metrics/gate.json"}],
    },
    "report": {"deps": [{"path": "metrics/gate.json"}], "outs": [{"path": "report.md"}]},
}


def test_evidence_chain_is_the_gate_and_its_ancestors_only() -> None:
    assert sorted(upstream_chain(LOCK, "gate")) == ["gate", "generate", "train", "validate"]
    with pytest.raises(ArtifactError, match="no 'gate' stage"):
        upstream_chain({k: v for k, v in LOCK.items() if k != "gate"}, "gate")


def _decision(*passed: bool) -> dict[str, object]:
    ok = all(passed)
    checks = [{"name": f"c{i}", "passed": p, "reason": f"r{i}"} for i, p in enumerate(passed)]
    return {"decision": "promote" if ok else "reject", "checks": checks}


def test_disagreement_names_the_decision_and_each_check_that_differs() -> None:
    stored, recomputed = _decision(True, True), _decision(True, False)
    assert disagreement(stored, recomputed) == [
        "decision: stored 'promote', recomputed 'reject'",
        "check c1: stored passed, recomputed failed",
    ]
    assert disagreement(stored, stored) == []


def test_disagreement_ignores_reasons_but_not_missing_checks() -> None:
    stored, recomputed = _decision(True, True), _decision(True, True)
    recomputed["checks"][0]["reason"] = "p95 12.3 ms"  # type: ignore[index]
    assert disagreement(stored, recomputed) == []
    recomputed["checks"].append({"name": "new", "passed": True})  # type: ignore[attr-defined]
    assert disagreement(stored, recomputed) == ["check new: stored absent, recomputed passed"]


def test_stale_params_reads_both_files_as_dvc_does(tmp_path: Path) -> None:
    (tmp_path / "dvc.lock").write_text(
        "stages:\n  gate:\n    params:\n      params.yaml:\n        gate.tol: 1e-09\n"
        "        gate.label: 'Yes'\n"
    )
    (tmp_path / "params.yaml").write_text("gate:\n  tol: 1e-09\n  label: 'Yes'\n")
    assert stale_params(tmp_path / "dvc.lock", ["gate"], tmp_path) == []
    (tmp_path / "params.yaml").write_text("gate:\n  tol: 1e-08\n  label: 'Yes'\n")
    assert stale_params(tmp_path / "dvc.lock", ["gate"], tmp_path) == ["params.yaml:gate.tol"]
    (tmp_path / "params.yaml").write_text("gate:\n  label: 'Yes'\n")
    assert stale_params(tmp_path / "dvc.lock", ["gate"], tmp_path) == ["params.yaml:gate.tol"]
