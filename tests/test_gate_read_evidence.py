"""read_evidence: every file comes from the paths passed in, and missing evidence is a Missing
(a failed check naming it), never an exception."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mlgate.gate.checks import Missing
from mlgate.gate.decision import decide
from mlgate.gate.evidence import read_evidence
from mlgate.gate.paths import GatePaths
from mlgate.params import Params


def _paths(root: Path) -> GatePaths:
    # Names no default would produce: a hard-coded path in the library would miss them.
    return GatePaths(
        root=str(root),
        lock=str(root / "x.lock"),
        holdout=str(root / "rows.parquet"),
        predictions=str(root / "scores.parquet"),
        champion=str(root / "champ.json"),
        validation=str(root / "v.json"),
        holdout_metrics=str(root / "h.json"),
        slices=str(root / "s.json"),
        behavioral=str(root / "b.json"),
        serving=str(root / "srv.json"),
        model="m.joblib",
        model_meta="m.json",
    )


def test_nothing_on_disk_is_all_missing_and_a_rejection(tmp_path: Path) -> None:
    params = Params()
    paths = _paths(tmp_path)
    evidence = read_evidence(paths, params)
    for name in ("validation", "holdout", "slices", "behavioral", "serving", "stale"):
        assert isinstance(getattr(evidence, name), Missing), name
    assert isinstance(evidence.champion, Missing)
    assert evidence.champion.reason.startswith("paired comparison impossible: ")
    assert paths.holdout in evidence.champion.reason
    assert paths.lock in evidence.stale.reason  # type: ignore[union-attr]
    assert evidence.leakage is None and evidence.earlier_decisions == 0
    assert "error" in evidence.holdout_reuse
    decision = decide(params.gate, **evidence.kwargs())
    assert decision["promote"] is False and decision["decision"] == "reject"


def test_candidate_scores_must_cover_the_holdout_rows_in_order(tmp_path: Path) -> None:
    params = Params()
    paths = _paths(tmp_path)
    id_column, target = params.data.id_column, params.data.target
    ids = np.arange(6)
    pd.DataFrame({id_column: ids, target: [0, 1, 0, 1, 0, 1]}).to_parquet(paths.holdout)
    pd.DataFrame({id_column: ids[::-1], "score": np.linspace(0, 1, 6)}).to_parquet(
        paths.predictions
    )
    evidence = read_evidence(paths, params)
    assert isinstance(evidence.champion, Missing)
    assert "does not cover the rows" in evidence.champion.reason
    scores = np.linspace(0, 1, 6)
    scores[2] = np.nan
    pd.DataFrame({id_column: ids, "score": scores}).to_parquet(paths.predictions)
    evidence = read_evidence(paths, params)
    assert isinstance(evidence.champion, Missing)
    assert "1 of 6 holdout scores are NaN" in evidence.champion.reason


def test_no_champion_recorded_means_first_model_rules(tmp_path: Path) -> None:
    params = Params()
    paths = _paths(tmp_path)
    id_column, target = params.data.id_column, params.data.target
    ids = np.arange(4)
    pd.DataFrame({id_column: ids, target: [0, 1, 0, 1]}).to_parquet(paths.holdout)
    pd.DataFrame({id_column: ids, "score": [0.1, 0.9, 0.2, 0.8]}).to_parquet(paths.predictions)
    Path(paths.champion).write_text(json.dumps({"found": False}), encoding="utf-8")
    Path(paths.validation).write_text(json.dumps({"passed": True}), encoding="utf-8")
    evidence = read_evidence(paths, params)
    assert evidence.champion is None and evidence.leakage is None
    assert evidence.validation == {"passed": True}
    Path(paths.champion).write_text(json.dumps({"found": True, "ref": "x"}), encoding="utf-8")
    lacking = read_evidence(paths, params).champion
    assert isinstance(lacking, Missing) and "lacks ['commit', 'source']" in lacking.reason
