"""The behavioral stage reads at most behavioral.max_holdout_rows holdout rows (bounded memory
at any size, issue 18): the whole holdout below it, an id-hash sample above it."""

from __future__ import annotations

import json

from tests.e2e.conftest import PipelineRepo


def _behavioral(repo: PipelineRepo) -> dict:
    return json.loads((repo.path / "metrics" / "behavioral.json").read_text(encoding="utf-8"))


def test_whole_holdout_below_the_bound_and_a_sample_above(workspace: PipelineRepo) -> None:
    whole = _behavioral(workspace)["holdout_rows"]
    assert whole["used"] == whole["available"] > 300
    workspace.set_params({"behavioral.max_holdout_rows": 300})
    workspace.repro("behavioral")
    sampled = _behavioral(workspace)
    assert sampled["holdout_rows"] == {"available": whole["available"], "used": 300}
    assert all(t.get("rows_selected", 0) <= 300 for t in sampled["tests"])
