"""GTO registry rules on a tiny git repository (no DVC run): a committed gate.json + dvc.lock."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgate import registry
from mlgate.champion import gto_champion
from mlgate.errors import MlgateError, RegistryError, RegistryRefusal
from mlgate.repo import git as repo_git

ART, STAGE = "churn-model", "prod"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    # GTO tags through the git CLI, which needs an identity; never the user's config.
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def write_run(
    root: Path,
    *,
    promote: bool,
    champion: str | None = None,
    min_auc: float = 0.8,
    lock_gate: bytes | None = None,
) -> None:
    """A gate.json and the dvc.lock a real run would write for it (params + md5)."""
    decision = {
        "promote": promote,
        "decision": "promote" if promote else "reject",
        "summary": "all checks passed" if promote else "1 check(s) failed: AUC too low",
        "n_checks": 1,
        "n_failed": 0 if promote else 1,
        "failed": [] if promote else ["holdout_auc_floor"],
        "champion": None
        if champion is None
        else {"ref": f"{ART}#{STAGE}#1", "commit": champion, "source": "gto", "version": None},
        "checks": [{"name": "holdout_auc_floor", "passed": promote, "reason": "AUC"}],
    }
    gate = json.dumps(decision, indent=2).encode()
    (root / "metrics").mkdir(exist_ok=True)
    (root / "metrics/gate.json").write_bytes(gate)
    (root / "metrics/holdout.json").write_text(json.dumps({"roc_auc": 0.87, "pr_auc": 0.7}))
    (root / "params.yaml").write_text(f"gate:\n  min_auc: {min_auc}\n")
    lock = {
        "schema": "2.0",
        "stages": {
            "gate": {
                "cmd": "python stages/gate.py",
                "params": {"params.yaml": {"gate.min_auc": min_auc}},
                "outs": [
                    {
                        "path": "metrics/gate.json",
                        "hash": "md5",
                        "md5": _md5(gate if lock_gate is None else lock_gate),
                        "size": len(gate),
                    }
                ],
            }
        },
    }
    (root / "dvc.lock").write_text(yaml.safe_dump(lock))


def write_lock_entry(root: Path, gate: bytes) -> None:
    """Rewrite the md5/size of metrics/gate.json in dvc.lock, as a forger would."""
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    lock["stages"]["gate"]["outs"][0].update(md5=_md5(gate), size=len(gate))
    (root / "dvc.lock").write_text(yaml.safe_dump(lock))


def commit(root: Path, message: str = "run") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


@pytest.fixture
def run(repo: Path) -> Callable[..., str]:
    """``run(promote=..., champion=...)`` writes and commits one pipeline run; returns its sha."""

    def make(**kwargs: Any) -> str:
        write_run(repo, **kwargs)
        return commit(repo)

    return make


def promote(root: Path, **kwargs: Any) -> registry.Promotion:
    # These repositories hold a decision but no pipeline to recompute it from: the tag
    # mechanics are tested here, the recomputation in tests/e2e (test_team_flow) and below.
    kwargs.setdefault("evidence", None)
    return registry.promote(root, artifact=ART, stage=STAGE, **kwargs)


def champion_commit(root: Path) -> str | None:
    """What the pipeline's champion stage would resolve (GTO's own lookup)."""
    found = gto_champion(root, artifact=ART, stage=STAGE)
    return None if found is None else found.commit


def tags(root: Path) -> set[str]:
    return set(git(root, "tag").split())


def test_promote_registers_and_assigns(repo: Path, run: Callable[..., str]) -> None:
    sha = run(promote=True)
    result = promote(repo)
    assert (result.version, result.commit, result.registered) == ("v0.0.1", sha, True)
    assert tags(repo) == {f"{ART}@v0.0.1", f"{ART}#{STAGE}#1"}
    assert champion_commit(repo) == sha
    again = promote(repo)  # already the champion: nothing to do, no new tag
    assert again.already and tags(repo) == {f"{ART}@v0.0.1", f"{ART}#{STAGE}#1"}


def test_promote_refuses_a_rejected_commit(repo: Path, run: Callable[..., str]) -> None:
    run(promote=False)
    with pytest.raises(RegistryRefusal, match="the gate rejected .*AUC too low") as info:
        promote(repo)
    assert info.value.exit_code == 1
    assert "--force --reason" in str(info.value)
    assert tags(repo) == set()


def test_promote_refuses_without_a_committed_decision(repo: Path) -> None:
    (repo / "README").write_text("x")
    commit(repo)
    with pytest.raises(RegistryRefusal, match="metrics/gate.json is not committed") as info:
        promote(repo)
    assert info.value.exit_code == 2  # no decision at all, as `mlgate check` says


def test_promote_refuses_a_hand_edited_decision(repo: Path, run: Callable[..., str]) -> None:
    # gate.json says promote, but dvc.lock recorded another file: not the pipeline's output.
    run(promote=True, lock_gate=b"what the gate stage really wrote")
    with pytest.raises(
        RegistryRefusal, match="differs from the committed dvc.lock: metrics/gate.json"
    ) as info:
        promote(repo)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    "edit",
    [
        {"decision": "reject"},  # issue 14 item 4: only the boolean says promote
        {"n_failed": 1},
        {"failed": ["holdout_auc_floor"]},
        {"n_checks": 2},
        {"checks": [{"name": "holdout_auc_floor", "passed": False, "reason": "AUC"}]},
        {"checks": [{"passed": True}]},
        {"checks": []},
        {"promote": "true"},
    ],
    ids=lambda e: "-".join(e),
)
def test_promote_refuses_an_inconsistent_decision(repo: Path, edit: dict[str, Any]) -> None:
    write_run(repo, promote=True)
    path = repo / "metrics/gate.json"
    decision = {**json.loads(path.read_text()), **edit}
    forged = json.dumps(decision).encode()
    path.write_bytes(forged)
    write_lock_entry(repo, forged)
    commit(repo)
    with pytest.raises(RegistryRefusal, match="decision contradicted by its evidence") as info:
        promote(repo)
    assert info.value.exit_code == 2
    assert tags(repo) == set()


def test_promote_consults_the_evidence_check_last_and_exits_2(
    repo: Path, run: Callable[..., str]
) -> None:
    sha = run(promote=True)
    asked: list[tuple[str, bool]] = []

    def contradicted(root: Path, commit: str, in_work_tree: bool) -> list[str]:
        asked.append((commit, in_work_tree))
        return ["decision contradicted by its evidence: stored 'promote', recomputed 'reject'"]

    with pytest.raises(RegistryRefusal, match="recomputed 'reject'") as info:
        promote(repo, evidence=contradicted)
    assert info.value.exit_code == 2 and asked == [(sha, True)]
    result = promote(repo, evidence=contradicted, force=True, reason="INC-7")
    message = git(repo, "tag", "-l", "--format=%(contents)", result.tag or "")
    assert "INC-7" in message and "recomputed 'reject'" in message


def test_the_evidence_check_is_skipped_when_a_cheaper_rule_refuses(
    repo: Path, run: Callable[..., str]
) -> None:
    run(promote=False)

    def never(root: Path, commit: str, in_work_tree: bool) -> list[str]:
        raise AssertionError("recomputed although the stored decision rejects")

    with pytest.raises(RegistryRefusal, match="the gate rejected") as info:
        promote(repo, evidence=never)
    assert info.value.exit_code == 1


def test_promote_refuses_params_changed_after_the_run(repo: Path) -> None:
    write_run(repo, promote=True, min_auc=0.8)
    (repo / "params.yaml").write_text("gate:\n  min_auc: 0.5\n")  # loosened, never rerun
    commit(repo)
    with pytest.raises(RegistryRefusal, match=r"params.yaml:gate.min_auc") as info:
        promote(repo)
    assert info.value.exit_code == 2


def test_promote_refuses_stale_work_tree(repo: Path, run: Callable[..., str]) -> None:
    run(promote=True)
    (repo / "metrics/gate.json").unlink()
    with pytest.raises(
        RegistryRefusal,
        match=r"work tree outputs differ from dvc.lock: "
        r"metrics/gate.json \(missing\)",
    ):
        promote(repo)


def test_promote_refuses_dirty_tracked_params(repo: Path, run: Callable[..., str]) -> None:
    run(promote=True)
    (repo / "params.yaml").write_text("gate:\n  min_auc: 0.8\n# edited\n")
    with pytest.raises(RegistryRefusal, match="uncommitted changes .*params.yaml"):
        promote(repo)


def test_promote_other_rev_ignores_the_work_tree(repo: Path, run: Callable[..., str]) -> None:
    sha = run(promote=True)
    (repo / "notes.txt").write_text("a later commit")
    commit(repo)
    (repo / "params.yaml").write_text("dirty: true\n")
    assert promote(repo, rev=sha[:8]).commit == sha


def test_force_needs_a_reason_and_records_it(repo: Path, run: Callable[..., str]) -> None:
    run(promote=False)
    with pytest.raises(MlgateError, match="--force needs --reason") as info:
        promote(repo, force=True, reason="  ")
    assert info.value.exit_code == 2
    result = promote(repo, force=True, reason="hotfix approved by on-call (INC-42)")
    assert result.forced and any("gate rejected" in b for b in result.overridden)
    message = git(repo, "tag", "-l", "--format=%(contents)", result.tag or "")
    assert "hotfix approved by on-call (INC-42)" in message
    assert "gate rejected" in message


def test_decision_against_an_old_champion_is_refused(repo: Path, run: Callable[..., str]) -> None:
    first = run(promote=True)
    promote(repo)
    run(promote=True, champion=None)  # decided when there was no champion yet
    with pytest.raises(
        RegistryRefusal, match=f"no champion, but the champion is now v0.0.1 \\({first[:10]}\\)"
    ) as info:
        promote(repo)
    assert info.value.exit_code == 1  # a valid decision, against another baseline


def test_rollback_restores_previous_versions_in_order(repo: Path, run: Callable[..., str]) -> None:
    first = run(promote=True)
    promote(repo)
    second = run(promote=True, champion=first)
    assert promote(repo).replaced == ("v0.0.1",)
    third = run(promote=True, champion=second)
    promote(repo)
    assert champion_commit(repo) == third

    back = registry.rollback(repo, artifact=ART, stage=STAGE)
    assert (back.from_version, back.to_version, back.commit) == ("v0.0.3", "v0.0.2", second)
    assert champion_commit(repo) == second
    back = registry.rollback(repo, artifact=ART, stage=STAGE)  # a stack: N-2, not back to N
    assert (back.to_version, champion_commit(repo)) == ("v0.0.1", first)
    with pytest.raises(RegistryRefusal, match="nothing to roll back to: v0.0.1 is the first"):
        registry.rollback(repo, artifact=ART, stage=STAGE)


def test_rollback_without_champion_is_refused(repo: Path, run: Callable[..., str]) -> None:
    run(promote=True)
    with pytest.raises(RegistryRefusal, match="no version of 'churn-model' is in 'prod'"):
        registry.rollback(repo, artifact=ART, stage=STAGE)


def test_promote_after_rollback_then_rollback_again(repo: Path, run: Callable[..., str]) -> None:
    first = run(promote=True)
    promote(repo)
    run(promote=True, champion=first)
    promote(repo)
    registry.rollback(repo, artifact=ART, stage=STAGE)
    third = run(promote=True, champion=first)
    assert promote(repo).version == "v0.0.3"
    assert registry.rollback(repo, artifact=ART, stage=STAGE).to_version == "v0.0.1"
    assert champion_commit(repo) == first
    assert third != first


def test_status_lists_champion_metrics_and_history(repo: Path, run: Callable[..., str]) -> None:
    empty = registry.status(repo, artifact=ART, stage=STAGE)
    assert empty.champion is None and empty.history == []
    first = run(promote=True)
    promote(repo)
    second = run(promote=True, champion=first)
    promote(repo)
    st = registry.status(repo, artifact=ART, stage=STAGE)
    assert st.champion is not None
    assert (st.champion.version, st.champion.commit) == ("v0.0.2", second)
    assert st.champion.commit_date and st.champion.tag == f"{ART}#{STAGE}#2"
    assert st.holdout == {"roc_auc": 0.87, "pr_auc": 0.7}
    assert isinstance(st.decision, dict) and st.decision["decision"] == "promote"
    assert [(e.number, e.event, e.version) for e in st.history] == [
        (1, "assignment", "v0.0.1"),
        (2, "assignment", "v0.0.2"),
        (3, "unassignment", "v0.0.1"),
    ]
    assert st.history[1].message.startswith("mlgate promote:")


def test_unknown_rev_and_non_repository_are_clear_errors(
    repo: Path, tmp_path: Path, run: Callable[..., str]
) -> None:
    run(promote=True)
    with pytest.raises(RegistryError, match="'nope' is not a commit"):
        promote(repo, rev="nope")
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    with pytest.raises(RegistryError, match="not a git repository"):
        promote(outside)


def test_committed_files_reads_blobs_and_reports_missing(
    repo: Path, run: Callable[..., str]
) -> None:
    sha = run(promote=True)
    files = repo_git.committed_files(repo, sha, ["metrics/gate.json", "nope.txt", "metrics"])
    assert files["metrics/gate.json"] == (repo / "metrics/gate.json").read_bytes()
    assert files["nope.txt"] is None and files["metrics"] is None


def test_champion_lookup_skips_gto_without_tags_and_reuses_its_answer_while_tags_stand(
    repo: Path, run: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlgate import champion as champion_module

    (repo / ".dvc" / "tmp").mkdir(parents=True)
    (repo / ".dvc" / ".gitignore").write_text("/tmp\n")
    asked: list[str] = []
    real = champion_module._ask_gto

    def counting(root: Path, *, artifact: str, stage: str):  # type: ignore[no-untyped-def]
        asked.append(artifact)
        return real(root, artifact=artifact, stage=stage)

    monkeypatch.setattr(champion_module, "_ask_gto", counting)

    def lookup(expected: str | None, *, asks: bool) -> None:
        before = len(asked)
        assert champion_commit(repo) == expected
        assert len(asked) == before + asks

    first = run(promote=True)
    lookup(None, asks=False)  # no tags at all: GTO is not consulted
    promote(repo)
    lookup(first, asks=True)
    lookup(first, asks=False)  # same tags: the memo answers
    second = run(promote=True, champion=first)
    promote(repo)
    lookup(second, asks=True)  # new tags: asked again
    registry.rollback(repo, artifact=ART, stage=STAGE)
    lookup(first, asks=True)
    memo = repo / ".dvc" / "tmp" / "mlgate-champion.json"
    memo.write_text("{not json")  # a damaged memo is recomputed, never trusted
    lookup(first, asks=True)
    lookup(first, asks=False)
    assert "mlgate-champion.json" not in git(repo, "ls-files")


def test_promote_by_default_recomputes_and_fails_closed_without_a_pipeline(
    repo: Path, run: Callable[..., str]
) -> None:
    run(promote=True)  # consistent, fresh against dvc.lock, but no stages/gate.py to rerun
    with pytest.raises(RegistryRefusal, match="decision not verified: .*stages/gate.py") as info:
        registry.promote(repo, artifact=ART, stage=STAGE)
    assert info.value.exit_code == 2 and tags(repo) == set()
