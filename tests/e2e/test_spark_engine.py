"""`dvc repro` with compute.engine: spark writes the local engine's metrics and decision.

One small repo: a weak model committed as the champion, then the default model as candidate,
reproduced with the local engine. A copy switches to the Spark engine, forces evaluate (the
engine is not a stage param) and reproduces what its directory of predictions makes stale
(serving, the gate, ...): every metrics file equals the local one except the engine record,
the champion's scores' provenance and measured latencies.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from mlgate.engine import ENGINE_KEY
from tests.e2e.conftest import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.spark, pytest.mark.xdist_group("e2e")]

WEAK = {
    "features.numeric": ["tenure_months"],
    "features.categorical": [],
    "features.frequency": [],
    "features.cyclical_dates": [],
    "features.days_since_dates": [],
}
DEFAULT_FEATURES = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())["features"]


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


def test_spark_engine_repro_equals_local(pipeline_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    local = pipeline_factory("spark-engine", params=WEAK)
    local.repro()
    weak = local.commit("weak model: the champion")
    local.set_params(
        {**{f"features.{k}": v for k, v in DEFAULT_FEATURES.items()}, "gate.champion.ref": weak}
    )
    local.repro()
    on_spark = local.clone(tmp_path / "spark")
    on_spark.set_params({"compute.engine": "spark"})
    on_spark.repro("--force", "--single-item", "evaluate")
    # The predictions are now a dataset directory: the stages reading them (serving, the gate)
    # are stale and rerun; the gate reruns under the Spark engine.
    on_spark.repro()
    assert (on_spark.path / "data/holdout_predictions.parquet").is_dir()
    for name in ("holdout", "slices"):
        mine, theirs = on_spark.metrics(name), local.metrics(name)
        assert mine[ENGINE_KEY]["engine"] == "spark" and theirs[ENGINE_KEY] == {"engine": "local"}
        assert _without(mine, ENGINE_KEY) == _without(theirs, ENGINE_KEY)
    gate, local_gate = on_spark.metrics("gate"), local.metrics("gate")
    assert gate[ENGINE_KEY]["engine"] == "spark"
    assert gate["comparison"]["champion_scores"].startswith("re-scored with the candidate")
    reasons = {c["name"]: c["reason"] for c in gate["checks"] if not c["passed"]}
    assert gate["failed"] == local_gate["failed"], reasons
    for decision in (gate, local_gate):
        decision.pop(ENGINE_KEY)
        decision["comparison"].pop("champion_scores")
        # serving reran: its latencies are measured, not computed
        decision["checks"] = [c for c in decision["checks"] if "latency" not in c["name"]]
        decision.pop("summary", None)
    assert gate == local_gate
    assert gate["comparison"]["slices"]  # the paired test ran per slice, not only overall
