"""Fail-closed audit of the gate: each piece of evidence it reads, removed or corrupted, rejects.

The baseline (see conftest) promotes with every check passing, the champion being the
reproduced commit itself. Each case breaks one piece of evidence in a copy, runs
``python stages/gate.py`` (after ``stages/champion.py`` when the champion moved) and requires:
exit 0, ``promote: false``, the expected check failed with a reason naming the evidence, no
traceback, and no output but metrics/gate.json (and metrics/champion.json) rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.e2e.conftest import PipelineRepo
from tests.reliability.catalog import set_params
from tests.reliability.conftest import RunStage, changed_files, run_stage, snapshot_outputs

# Tests that run stages in a reproduced repository; the rest are in-process checks.
e2e = pytest.mark.e2e

Mutation = Callable[[PipelineRepo], None]


@dataclass(frozen=True)
class Evidence:
    name: str
    mutate: Mutation
    check: str  # the gate check that must fail
    must_name: tuple[str, ...]  # words its reason must contain: the file, the field
    moves_champion: bool = False  # run stages/champion.py before the gate

    def __str__(self) -> str:
        return self.name


def _write(rel: str, data: str | bytes) -> Mutation:
    def mutate(repo: PipelineRepo) -> None:
        (repo.path / rel).write_bytes(data.encode() if isinstance(data, str) else data)

    return mutate


def _delete(rel: str) -> Mutation:
    return lambda repo: (repo.path / rel).unlink()


def _truncate(rel: str) -> Mutation:
    def mutate(repo: PipelineRepo) -> None:
        raw = repo.read_bytes(rel)
        (repo.path / rel).write_bytes(raw[: len(raw) // 2])

    return mutate


def _frame(rel: str, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Mutation:
    def mutate(repo: PipelineRepo) -> None:
        edit(pd.read_parquet(repo.path / rel)).to_parquet(repo.path / rel, index=False)

    return mutate


def _nan_scores(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(score=frame["score"].where(frame.index > 0))


# ------------------------------------------------------------------ the champion's evidence


def _champion_commit(edit: Mutation) -> Mutation:
    """Commit ``edit`` as a new champion, restore the work tree, point the gate at it."""

    def mutate(repo: PipelineRepo) -> None:
        kept = repo.read_bytes("metrics/holdout.json")
        edit(repo)
        sha = repo.commit("champion with broken evidence")
        (repo.path / "metrics/holdout.json").write_bytes(kept)
        set_params(repo.path, {"gate.champion.ref": sha})

    return mutate


def _cached(repo: PipelineRepo, rel: str) -> Path:
    """The DVC cache file holding ``rel`` as locked (the champion is the locked commit)."""
    lock = yaml.safe_load(repo.read_bytes("dvc.lock"))
    md5 = next(
        out["md5"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
        if out["path"] == rel
    )
    path = repo.path / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    path.chmod(0o644)  # DVC keeps cache files read-only
    return path


def _rescoring(edit: Mutation) -> Mutation:
    """``edit``, with the gate re-scoring the champion: the path that needs its model files
    (on an unchanged holdout it would use the champion's committed predictions instead)."""

    def mutate(repo: PipelineRepo) -> None:
        edit(repo)
        set_params(repo.path, {"gate.champion.reuse_scores": False})

    return mutate


def _uncache(rel: str) -> Mutation:
    return lambda repo: _cached(repo, rel).unlink()


def _tamper_cache(rel: str) -> Mutation:
    def mutate(repo: PipelineRepo) -> None:
        path = _cached(repo, rel)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))

    return mutate


VALIDATION, HOLDOUT, SLICES = (
    "metrics/validation.json",
    "metrics/holdout.json",
    "metrics/slices.json",
)
BEHAVIORAL, CHAMPION = "metrics/behavioral.json", "metrics/champion.json"
SERVING = "metrics/serving.json"
PREDICTIONS, HOLDOUT_ROWS = "data/holdout_predictions.parquet", "data/holdout.parquet"

AUDIT = [
    Evidence("validation_removed", _delete(VALIDATION), "validation_passed", (VALIDATION,)),
    Evidence(
        "validation_not_json",
        _write(VALIDATION, "passed: yes\n"),
        "validation_passed",
        (VALIDATION, "JSON"),
    ),
    Evidence(
        "validation_passed_is_text",
        _write(VALIDATION, '{"passed": "true"}'),
        "validation_passed",
        (VALIDATION, "passed"),
    ),
    Evidence("holdout_metrics_removed", _delete(HOLDOUT), "holdout_auc_floor", (HOLDOUT,)),
    Evidence(
        "holdout_auc_is_boolean",
        _write(HOLDOUT, '{"roc_auc": true}'),
        "holdout_auc_floor",
        (HOLDOUT, "roc_auc"),
    ),
    Evidence("slice_metrics_removed", _delete(SLICES), "slice_auc_floor", (SLICES,)),
    Evidence(
        "slice_entry_not_an_object",
        _write(SLICES, '{"slices": {"smb": "0.91"}}'),
        "slice_auc_floor[smb]",
        (SLICES, "smb", "roc_auc"),
    ),
    Evidence("behavioral_removed", _delete(BEHAVIORAL), "behavioral_passed", (BEHAVIORAL,)),
    Evidence(
        "behavioral_truncated", _truncate(BEHAVIORAL), "behavioral_passed", (BEHAVIORAL, "JSON")
    ),
    Evidence("serving_removed", _delete(SERVING), "serving", (SERVING,)),
    Evidence("serving_not_json", _write(SERVING, "parity: ok\n"), "serving", (SERVING, "JSON")),
    Evidence("champion_record_removed", _delete(CHAMPION), "champion", (CHAMPION,)),
    Evidence(
        "champion_record_incomplete",
        _write(CHAMPION, '{"found": true}'),
        "champion",
        (CHAMPION, "commit"),
    ),
    Evidence("predictions_removed", _delete(PREDICTIONS), "champion", (PREDICTIONS,)),
    Evidence("predictions_truncated", _truncate(PREDICTIONS), "champion", (PREDICTIONS,)),
    Evidence(
        "predictions_with_nan_score",
        _frame(PREDICTIONS, _nan_scores),
        "champion",
        (PREDICTIONS, "NaN"),
    ),
    Evidence("holdout_rows_truncated", _truncate(HOLDOUT_ROWS), "champion", (HOLDOUT_ROWS,)),
    Evidence(
        "holdout_rows_without_target",
        _frame(HOLDOUT_ROWS, lambda f: f.drop(columns="churned")),
        "champion",
        (HOLDOUT_ROWS, "churned"),
    ),
    Evidence(
        "upstream_output_edited",
        _frame("data/train.parquet", lambda f: f.iloc[:-1]),
        "evidence_fresh",
        ("data/train.parquet",),
    ),
    Evidence(
        "upstream_output_removed",
        _delete("models/model.joblib"),
        "evidence_fresh",
        ("models/model.joblib", "missing"),
    ),
    Evidence("lock_removed", _delete("dvc.lock"), "evidence_fresh", ("dvc.lock",)),
    Evidence(
        "lock_not_a_lock_file", _write("dvc.lock", "- stages\n"), "evidence_fresh", ("dvc.lock",)
    ),
    Evidence(
        "champion_metrics_not_committed",
        _champion_commit(lambda repo: repo.git("rm", "--quiet", HOLDOUT)),
        "champion_metrics",
        (HOLDOUT, "not committed"),
        moves_champion=True,
    ),
    Evidence(
        "champion_metrics_corrupt",
        _champion_commit(_write(HOLDOUT, "[0.91]")),
        "champion_metrics",
        (HOLDOUT,),
        moves_champion=True,
    ),
    Evidence(
        "champion_model_not_in_cache",
        _rescoring(_uncache("models/model.joblib")),
        "paired_comparison",
        ("models/model.joblib", "cache"),
    ),
    Evidence(
        "champion_model_tampered",
        _rescoring(_tamper_cache("models/model.joblib")),
        "paired_comparison",
        ("models/model.joblib", "sha256"),
    ),
    Evidence(
        "champion_metadata_tampered",
        _rescoring(_tamper_cache("models/model.json")),
        "paired_comparison",
        ("models/model.json",),
    ),
]


def _gate(repo: PipelineRepo) -> dict:
    return json.loads(repo.read_bytes("metrics/gate.json"))


@e2e
def test_baseline_promotes(workspace: PipelineRepo) -> None:
    """Control: untouched evidence promotes, so each rejection below is the broken file's."""
    outcome = run_stage(workspace, "gate")
    assert outcome.code == 0, outcome.describe()
    gate = _gate(workspace)
    assert gate["promote"] is True and gate["failed"] == [], gate["summary"]
    assert gate["champion"] is not None and gate["comparison"] is not None


def test_audit_names_every_input_of_the_gate() -> None:
    """Every evidence file the gate stage depends on in dvc.yaml is broken by some case."""
    from tests.e2e.conftest import REPO_ROOT

    deps = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]["gate"]["deps"]
    evidence = {d for d in deps if d.startswith(("metrics/", "data/"))}
    covered = {word for case in AUDIT for word in case.must_name}
    assert evidence <= covered, sorted(evidence - covered)


@e2e
@pytest.mark.parametrize("case", AUDIT, ids=str)
def test_broken_evidence_rejects(case: Evidence, workspace: PipelineRepo, run: RunStage) -> None:
    case.mutate(workspace)
    before = snapshot_outputs(workspace.path)
    if case.moves_champion:
        champion = run(workspace, "champion")
        assert champion.code == 0 and "Traceback" not in champion.output, champion.describe()
    outcome = run(workspace, "gate")
    assert "Traceback" not in outcome.output, outcome.describe()
    assert outcome.code == 0, outcome.describe()
    gate = _gate(workspace)
    assert gate["promote"] is False and gate["decision"] == "reject", gate["summary"]
    assert case.check in gate["failed"], gate["summary"]
    reason = next(c["reason"] for c in gate["checks"] if c["name"] == case.check)
    missing = [word for word in case.must_name if word not in reason]
    assert not missing, f"reason of {case.check} lacks {missing}: {reason!r}"
    assert "/tmp" not in reason  # temporary paths are no use to a reader
    allowed = {"metrics/gate.json", "metrics/champion.json"}
    changed = set(changed_files(before, snapshot_outputs(workspace.path))) - allowed
    assert not changed, f"the gate rewrote {sorted(changed)}"


@pytest.mark.parametrize(
    "text",
    [
        "- stages\n",
        "stages: [validate]\n",
        "stages:\n  validate: locked\n",
        "stages:\n  validate:\n    outs: [{md5: abc}]\n",
    ],
    ids=["list", "stages_list", "entry_text", "out_without_path"],
)
def test_malformed_lock_is_an_error_naming_it(text: str, tmp_path: Path) -> None:
    """In process, no subprocess: the freshness reader turns any malformed lock into one error."""
    from mlgate.errors import ArtifactError
    from mlgate.repo.lock import stale_paths

    lock = tmp_path / "dvc.lock"
    lock.write_text(text, encoding="utf-8")
    with pytest.raises(ArtifactError, match="dvc.lock"):
        stale_paths(lock, ["validate"], root=tmp_path)
