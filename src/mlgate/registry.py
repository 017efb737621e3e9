"""The model registry: a GTO stage (``prod``) on the model artifact, moved only with evidence.

GTO keeps the registry in plain git tags (``churn-model@v0.0.2`` registers a version,
``churn-model#prod#3`` assigns the stage, ``churn-model#prod!#4`` unassigns it), so every move
is reviewable and reversible with git alone. The rules mlgate adds on top:

* **promote** assigns the stage to a commit only if that commit's *committed* gate decision
  says promote and is internally consistent, the committed files match the committed
  dvc.lock, the decision was taken against the champion that is current now, (for HEAD) the
  work tree is what dvc.lock recorded, and the decision recomputed from the commit's evidence
  (:mod:`mlgate.verify`) is the same. ``force`` overrides all of that but needs a reason,
  kept in the tag message with every blocker it overrode.
* The stage is **exclusive**: promoting unassigns the previous holder, so exactly one version
  is in ``prod`` and GTO's own lookup (``find_versions_in_stage``, used by the pipeline's
  champion stage) names it without ambiguity. The old assignment tags stay: they are the
  history from which **rollback** finds version N-1 (a stack: promotions push, rollbacks pop,
  so rolling back twice goes to N-2, not back to N).

GTO orders events by tag time at one-second resolution and breaks ties by listing
unassignments last, so an assignment made in the same second as the unassignment before it
would read as inactive; writes wait for the clock to pass the previous event on the same
version (only ever matters for scripts that promote and roll back within a second).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlgate.errors import ArtifactError, EvidenceRefusal, MlgateError, RegistryRefusal
from mlgate.repo import git, gto
from mlgate.repo.gto import ChampionVersion, StageEvent
from mlgate.repo.lock import LOCK_FILE, parse_lock, stale_committed, stale_paths
from mlgate.verify import consistency_problems, verify_commit, verify_tree

GATE_FILE = "metrics/gate.json"
HOLDOUT_FILE = "metrics/holdout.json"
PROMOTE_MARK = "mlgate promote"
ROLLBACK_MARK = "mlgate rollback"
# Blockers from the recomputation start with these (unverified, contradicted).
EVIDENCE_MARKS = ("decision not verified", "decision contradicted by its evidence")
# A refusal exits 1 (like a reject) when the commit's own consistent decision says reject
# (nothing could turn that into a promotion), or when the only blocker is that it was taken
# against another champion. Otherwise the evidence does not back the decision (missing,
# stale, inconsistent, contradicted): exit 2, like check.
REJECTED = "the gate rejected"
RULE_MARKS = (REJECTED, "the decision was taken against")
HEADLINE = (
    "roc_auc",
    "roc_auc_ci_low",
    "roc_auc_ci_high",
    "pr_auc",
    "brier_loss",
    "log_loss",
    "calibration_error",
)


@dataclass(frozen=True)
class Promotion:
    artifact: str
    stage: str
    version: str
    commit: str
    tag: str | None  # None when the commit already held the stage
    registered: bool = False  # a new version was registered for the commit
    forced: bool = False
    overridden: tuple[str, ...] = ()  # the blockers --force overrode
    replaced: tuple[str, ...] = ()  # versions unassigned from the stage

    @property
    def already(self) -> bool:
        return self.tag is None


@dataclass(frozen=True)
class Rollback:
    artifact: str
    stage: str
    from_version: str
    to_version: str
    commit: str
    tag: str


@dataclass(frozen=True)
class Status:
    artifact: str
    stage: str
    champion: ChampionVersion | None
    holdout: dict[str, Any] | str  # headline metrics, or why they could not be read
    decision: dict[str, Any] | str
    history: list[StageEvent] = field(default_factory=list)


# --------------------------------------------------------------------------- reads


def _committed_json(root: str | Path, commit: str, path: str) -> dict[str, Any] | str:
    raw = git.committed_files(root, commit, [path])[path]
    if raw is None:
        return f"{path} is not committed at {commit[:10]}"
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"{path} at {commit[:10]} is not valid JSON: {exc}"
    return data if isinstance(data, dict) else f"{path} at {commit[:10]} is not a JSON object"


def _active_in_stage(history: list[StageEvent]) -> list[str]:
    """Versions whose last event in the stage is an assignment."""
    last: dict[str, str] = {}
    for e in history:
        last[e.version] = e.event
    return [v for v, event in last.items() if event == "assignment"]


def promotion_stack(history: list[StageEvent]) -> list[str]:
    """Versions that held the stage, oldest first, with rolled-back ones popped.

    Assignments whose message starts with ``mlgate rollback`` pop the top; any other
    assignment (mlgate's or a hand-made ``gto assign``) pushes its version.
    """
    stack: list[str] = []
    for e in history:
        if e.event != "assignment":
            continue
        if e.message.startswith(ROLLBACK_MARK) and len(stack) >= 2 and stack[-2] == e.version:
            stack.pop()
        elif e.message.startswith(ROLLBACK_MARK) and stack:
            stack[-1] = e.version
        elif not stack or stack[-1] != e.version:
            stack.append(e.version)
    return stack


def _wait_past_last_event(history: list[StageEvent], version: str) -> None:
    # See the module docstring: GTO cannot order two events on one version in the same second.
    times = [e.timestamp for e in history if e.version == version]
    if not times:
        return
    not_before = max(times).timestamp() + 1.0
    while (now := time.time()) < not_before:
        time.sleep(not_before - now + 0.01)


# --------------------------------------------------------------------------- evidence


def _work_tree_blockers(root: Path) -> list[str]:
    lock_path = root / LOCK_FILE
    try:
        lock = parse_lock(lock_path.read_text(encoding="utf-8")) or {}
        stages = list((lock.get("stages") or {}).keys())
        stale = stale_paths(lock_path, stages, root)
    except (OSError, yaml.YAMLError, ArtifactError) as exc:
        return [f"{LOCK_FILE} in the work tree cannot be read: {exc}"]
    blockers = []
    if stale:
        blockers.append(
            "work tree outputs differ from dvc.lock: "
            + ", ".join(stale)
            + " (run `dvc repro`, or `dvc checkout` to restore them)"
        )
    tracked = ["params.yaml", "dvc.yaml", LOCK_FILE, "champion", "metrics"]
    for entry in (lock.get("stages") or {}).values():
        tracked += [str(o["path"]) for o in entry.get("outs") or []]
        tracked += list((entry.get("params") or {}).keys())
    dirty = git.dirty(root, tracked)
    if dirty:
        names = ", ".join(dirty)
        blockers.append(f"uncommitted changes to tracked pipeline files: {names} (commit them)")
    return blockers


def recomputed_blockers(root: Path, commit: str, in_work_tree: bool) -> list[str]:
    """Why the decision at ``commit``, recomputed from its evidence, does not allow promotion.

    Runs only when every cheaper rule passed. For HEAD the work tree has just been shown to be
    the committed run, so it is verified in place; another commit in a temporary worktree.
    """
    result = verify_tree(root) if in_work_tree else verify_commit(root, commit)
    if result.verified:
        return []
    hint = f" (next: `{result.next_step}`)" if result.next_step else ""
    mark = EVIDENCE_MARKS[result.status == "invalid"]
    return [f"{mark}: {p}{hint}" for p in result.problems]


EvidenceCheck = Callable[[Path, str, bool], list[str]]


def promotion_blockers(
    root: str | Path,
    commit: str,
    *,
    champion: ChampionVersion | None,
    check_work_tree: bool,
    evidence: EvidenceCheck | None = recomputed_blockers,
) -> list[str]:
    """Why ``commit`` may not be promoted now; an empty list means it may."""
    blockers = []
    decision = _committed_json(root, commit, GATE_FILE)
    if isinstance(decision, str):
        blockers.append(decision + " (run `dvc repro` and commit the result)")
    elif inconsistent := consistency_problems(decision):
        mark = f"{EVIDENCE_MARKS[1]}: {GATE_FILE} is inconsistent"
        blockers += [f"{mark}: {p}" for p in inconsistent]
    elif decision.get("promote") is not True:
        blockers.append(f"{REJECTED} {commit[:10]}: {decision.get('summary', '?')}")
    blockers += [
        f"committed file differs from the committed dvc.lock: {p}"
        for p in stale_committed(root, commit)
    ]
    if isinstance(decision, dict):
        blockers += _champion_moved(decision, champion, commit)
    if check_work_tree:
        blockers += _work_tree_blockers(Path(root))
    if not blockers and evidence is not None:
        blockers += evidence(Path(root), commit, check_work_tree)
    return blockers


def _champion_moved(
    decision: dict[str, Any], champion: ChampionVersion | None, commit: str
) -> list[str]:
    """A decision counts only against the champion it was taken against."""
    judged = decision.get("champion")
    if isinstance(judged, dict) and judged.get("source") not in (None, "gto"):
        return []  # compared with an explicit ref or branch: the user chose that baseline
    judged_commit = judged.get("commit") if isinstance(judged, dict) else None
    now = champion.commit if champion else None
    if judged_commit == now or now == commit:
        return []
    was = f"champion {str(judged_commit)[:10]}" if judged_commit else "no champion"
    is_now = f"{champion.version} ({champion.commit[:10]})" if champion else "none"
    return [
        f"the decision was taken against {was}, but the champion is now {is_now} "
        "(run `dvc repro` to compare with the current champion, and commit)"
    ]


# --------------------------------------------------------------------------- commands


def _unassign_others(
    root: str | Path,
    artifact: str,
    stage: str,
    history: list[StageEvent],
    *,
    keep: str,
    message: Callable[[str], str],
) -> tuple[str, ...]:
    """Take ``stage`` from every version but ``keep``: one version holds it at a time."""
    others = tuple(v for v in _active_in_stage(history) if v != keep)
    for old in others:
        gto.unassign(root, artifact, stage, old, message(old))
    return others


def _refuse(rev: str, commit: str, blockers: list[str]) -> None:
    """Raise the refusal: exit 1 when a rule decided, exit 2 when the evidence is unbacked."""
    by_rule = any(b.startswith(REJECTED) for b in blockers) or all(
        b.startswith(RULE_MARKS) for b in blockers
    )
    raise (RegistryRefusal if by_rule else EvidenceRefusal)(
        f"refusing to promote {rev} ({commit[:10]}):\n"
        + "\n".join(f"  - {b}" for b in blockers)
        + "\nFix the cause, or override with --force --reason TEXT."
    )


def _version_at(root: str | Path, artifact: str, commit: str) -> tuple[str, bool]:
    """(the version registered at ``commit``, whether it was registered just now)."""
    versions = gto.registered_versions(root, artifact)
    at_commit = [v["version"] for v in versions if v.get("commit_hexsha") == commit]
    if at_commit:
        return at_commit[0], False
    message = f"{PROMOTE_MARK}: register the model of {commit[:10]}"
    return gto.register(root, artifact, commit, bump=bool(versions), message=message), True


def _promote_message(commit: str, force: bool, reason: str | None, blockers: list[str]) -> str:
    if not force:
        return f"{PROMOTE_MARK}: {commit[:10]} passed the gate"
    message = f"{PROMOTE_MARK} --force: {reason.strip() if reason else ''}"
    if blockers:
        message += "\n\nOverridden:\n" + "\n".join(f"- {b}" for b in blockers)
    return message


def promote(
    root: str | Path,
    *,
    artifact: str,
    stage: str,
    rev: str = "HEAD",
    force: bool = False,
    reason: str | None = None,
    evidence: EvidenceCheck | None = recomputed_blockers,
) -> Promotion:
    """Assign ``stage`` to the model at ``rev`` if the evidence allows it (see module doc).

    ``evidence`` re-derives the decision (default: :func:`recomputed_blockers`); tests of the
    tag mechanics on repositories without a pipeline pass None.
    """
    if force and not (reason and reason.strip()):
        raise MlgateError("--force needs --reason TEXT: the reason is kept in the GTO tag")
    commit = git.resolve_commit(root, rev)
    head = git.resolve_commit(root, "HEAD")
    champion = gto.current_champion(root, artifact=artifact, stage=stage)
    if champion is not None and champion.commit == commit:
        return Promotion(artifact, stage, champion.version, commit, tag=None)
    blockers = promotion_blockers(
        root, commit, champion=champion, check_work_tree=commit == head, evidence=evidence
    )
    if blockers and not force:
        _refuse(rev, commit, blockers)
    version, registered = _version_at(root, artifact, commit)
    history = gto.stage_history(root, artifact=artifact, stage=stage)
    _wait_past_last_event(history, version)
    message = _promote_message(commit, force, reason, blockers)
    tag = gto.assign(root, artifact, stage, version, message)
    replaced = _unassign_others(
        root,
        artifact,
        stage,
        history,
        keep=version,
        message=lambda old: f"{PROMOTE_MARK}: replaced by {version}",
    )
    return Promotion(
        artifact,
        stage,
        version,
        commit,
        tag=tag,
        registered=registered,
        forced=force,
        overridden=tuple(blockers),
        replaced=replaced,
    )


def rollback(root: str | Path, *, artifact: str, stage: str) -> Rollback:
    """Give ``stage`` back to the version that held it before the current one."""
    champion = gto.current_champion(root, artifact=artifact, stage=stage)
    if champion is None:
        raise RegistryRefusal(f"nothing to roll back: no version of '{artifact}' is in '{stage}'")
    history = gto.stage_history(root, artifact=artifact, stage=stage)
    stack = promotion_stack(history)
    while stack and stack[-1] == champion.version:
        stack.pop()
    if not stack:
        raise RegistryRefusal(
            f"nothing to roll back to: {champion.version} is the first "
            f"version of '{artifact}' ever in '{stage}'"
        )
    target = stack[-1]
    _wait_past_last_event(history, target)
    message = f"{ROLLBACK_MARK}: from {champion.version} to {target}"
    tag = gto.assign(root, artifact, stage, target, message)
    _unassign_others(
        root,
        artifact,
        stage,
        history,
        keep=target,
        message=lambda old: f"{ROLLBACK_MARK}: {old} rolled back to {target}",
    )
    commit = next(e.commit for e in reversed(history) if e.version == target)
    return Rollback(artifact, stage, champion.version, target, commit, tag)


def status(root: str | Path, *, artifact: str, stage: str) -> Status:
    """The champion, its committed headline metrics and decision, and the stage's history."""
    champion = gto.current_champion(root, artifact=artifact, stage=stage)
    history = gto.stage_history(root, artifact=artifact, stage=stage)
    if champion is None:
        return Status(artifact, stage, None, "no champion", "no champion", history)
    holdout = _committed_json(root, champion.commit, HOLDOUT_FILE)
    if isinstance(holdout, dict):
        holdout = {k: holdout[k] for k in HEADLINE if k in holdout}
    decision = _committed_json(root, champion.commit, GATE_FILE)
    if isinstance(decision, dict):
        decision = {k: decision.get(k) for k in ("decision", "summary", "n_checks", "n_failed")}
    return Status(artifact, stage, champion, holdout, decision, history)
