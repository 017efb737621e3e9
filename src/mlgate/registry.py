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

import datetime as dt
import hashlib
import json
import re
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlgate.errors import ArtifactError, MlgateError
from mlgate.freshness import parse_lock, stale_paths
from mlgate.verify import consistency_problems, dotted, dvc_yaml, verify_commit, verify_tree

GATE_FILE = "metrics/gate.json"
HOLDOUT_FILE = "metrics/holdout.json"
LOCK_FILE = "dvc.lock"
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
_STAGE_TAG = re.compile(r"#(?P<stage>[^#!]+)(?P<un>!?)#(?P<n>\d+)$")


class RegistryRefusal(MlgateError):
    """A promotion or rollback that the evidence does not allow (exit code 1, like a reject)."""

    exit_code = 1


class EvidenceRefusal(RegistryRefusal):
    """A promotion refused because the evidence does not back the decision (missing, stale,
    inconsistent, contradicted by its recomputation): exit code 2, like ``mlgate check``."""

    exit_code = 2


class RegistryError(MlgateError):
    """The registry cannot be read or written at all (not a git repository, GTO failure)."""


@dataclass(frozen=True)
class StageEvent:
    """One assignment or unassignment of the stage, as GTO records it in a tag."""

    number: int  # GTO's per-stage counter in the tag name: the order of events
    event: str  # "assignment" | "unassignment"
    version: str
    commit: str
    timestamp: dt.datetime
    message: str
    tag: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "event": self.event,
            "version": self.version,
            "commit": self.commit,
            "timestamp": self.timestamp.isoformat(),
            "message": self.message,
            "tag": self.tag,
        }


@dataclass(frozen=True)
class ChampionVersion:
    version: str
    commit: str
    tag: str  # the assignment tag that made it the champion
    promoted_at: dt.datetime
    commit_date: str | None


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


# --------------------------------------------------------------------------- git plumbing


def _git(root: str | Path, *args: str, data: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, input=data, capture_output=True, check=False
        )
    except FileNotFoundError as exc:
        raise RegistryError("git is not installed or not on PATH") from exc
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()
        raise RegistryError(f"git {' '.join(args[:2])} failed in {root}: {message}")
    return proc.stdout


def git_output(root: str | Path, *args: str, data: bytes | None = None) -> str:
    """stdout of ``git args`` in ``root``; RegistryError naming the command if it fails."""
    return _git(root, *args, data=data).decode()


def resolve_commit(root: str | Path, rev: str) -> str:
    """Full hexsha of ``rev``; RegistryError naming the rev if it is not a commit."""
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    except RegistryError:
        _git(root, "rev-parse", "--git-dir")  # a clearer error outside a repository
        raise RegistryError(f"'{rev}' is not a commit in {root}") from None


def committed_files(
    root: str | Path, commit: str, paths: Iterable[str]
) -> dict[str, bytes | None]:
    """Contents of ``paths`` as committed at ``commit`` (None: not in git at that commit)."""
    paths = list(dict.fromkeys(paths))
    blobs = read_blobs(root, [f"{commit}:{p}" for p in paths])
    return {path: blobs[f"{commit}:{path}"] for path in paths}


def read_blobs(root: str | Path, specs: Iterable[str]) -> dict[str, bytes | None]:
    """Contents of ``<rev>:<path>`` specs in one ``git cat-file --batch`` (None: no such
    file, or a directory)."""
    paths = list(dict.fromkeys(specs))
    if not paths:
        return {}
    request = "".join(f"{p}\n" for p in paths).encode()
    out = _git(root, "cat-file", "--batch", data=request)
    result: dict[str, bytes | None] = {}
    pos = 0
    for path in paths:
        end = out.index(b"\n", pos)
        line = out[pos:end]
        pos = end + 1
        if line.endswith((b" missing", b" ambiguous")):
            result[path] = None
            continue
        _, kind, size = line.rsplit(b" ", 2)  # "<sha> <type> <size>", then the body
        body = out[pos : pos + int(size)]
        pos += int(size) + 1
        result[path] = body if kind == b"blob" else None  # a tree is a directory dep
    return result


def _committed_json(root: str | Path, commit: str, path: str) -> dict[str, Any] | str:
    raw = committed_files(root, commit, [path])[path]
    if raw is None:
        return f"{path} is not committed at {commit[:10]}"
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"{path} at {commit[:10]} is not valid JSON: {exc}"
    return data if isinstance(data, dict) else f"{path} at {commit[:10]} is not a JSON object"


# --------------------------------------------------------------------------- GTO reads


def _gto_call(what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    from gto.exceptions import GTOException

    try:
        return func(*args, **kwargs)
    except GTOException as exc:
        raise RegistryError(f"GTO could not {what}: {exc}") from exc
    except Exception as exc:  # git failures surface as GitPython / scmrepo errors
        raise RegistryError(f"GTO could not {what}: {type(exc).__name__}: {exc}") from exc


def stage_history(root: str | Path, *, artifact: str, stage: str) -> list[StageEvent]:
    """Assignments and unassignments of ``stage``, oldest first (ordered by GTO's counter)."""
    import gto.api

    events = _gto_call("read the registry history", gto.api.history, str(root), artifact)
    out = []
    for e in events:
        if e.get("stage") != stage or e.get("event") not in ("assignment", "unassignment"):
            continue
        match = _STAGE_TAG.search(str(e.get("ref", "")))
        out.append(
            StageEvent(
                number=int(match["n"]) if match else 0,
                event=str(e["event"]),
                version=str(e.get("version")),
                commit=str(e.get("commit")),
                timestamp=e["timestamp"],
                message=str(e.get("message") or "").strip(),
                tag=str(e.get("ref", "")),
            )
        )
    return sorted(out, key=lambda e: (e.number, e.timestamp))


def current_champion(root: str | Path, *, artifact: str, stage: str) -> ChampionVersion | None:
    """The version GTO reports in ``stage`` (what the pipeline's champion stage resolves)."""
    import gto.api
    from gto.exceptions import ArtifactNotFound

    try:
        found = gto.api.find_versions_in_stage(str(root), artifact, stage)
    except ArtifactNotFound:
        return None
    except Exception as exc:
        raise RegistryError(f"GTO could not read stage '{stage}' of '{artifact}': {exc}") from exc
    if not found:
        return None
    head = found[0] if isinstance(found, list) else found
    last = head.assignments[-1] if head.assignments else None
    try:
        date = _git(root, "show", "-s", "--format=%cI", head.commit_hexsha).decode().strip()
    except RegistryError:
        date = None
    return ChampionVersion(
        version=head.version,
        commit=head.commit_hexsha,
        tag=last.tag if last else f"{artifact}#{stage}",
        promoted_at=last.created_at if last else dt.datetime.fromtimestamp(0, dt.UTC),
        commit_date=date,
    )


def _registered_versions(root: str | Path, artifact: str) -> list[dict[str, Any]]:
    import gto.api
    from gto.exceptions import ArtifactNotFound

    try:
        versions = gto.api.show(str(root), artifact)
    except ArtifactNotFound:
        return []
    except Exception as exc:
        raise RegistryError(f"GTO could not list versions of '{artifact}': {exc}") from exc
    return [v for v in versions if v.get("registrations")]


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


def _lock_stale_committed(root: str | Path, commit: str) -> list[str]:
    """Files and params committed at ``commit`` that differ from that commit's dvc.lock."""
    files = committed_files(root, commit, [LOCK_FILE])
    if files[LOCK_FILE] is None:
        return [f"{LOCK_FILE} is not committed at {commit[:10]} (run `dvc repro` and commit)"]
    try:
        lock = dvc_yaml(files[LOCK_FILE] or b"") or {}
    except Exception as exc:  # ruamel raises several types for broken YAML
        return [f"{LOCK_FILE} at {commit[:10]} is not valid YAML: {exc}"]
    stages = lock.get("stages") or {}
    expected: dict[str, str] = {}
    params: dict[str, dict[str, Any]] = {}
    for entry in stages.values():
        for item in [*(entry.get("deps") or []), *(entry.get("outs") or [])]:
            md5 = str(item.get("md5", ""))
            if md5 and not md5.endswith(".dir"):
                expected[str(item["path"])] = md5
        for name, values in (entry.get("params") or {}).items():
            params.setdefault(str(name), {}).update(values or {})
    contents = committed_files(root, commit, [*expected, *params])
    stale = [
        path
        for path, md5 in expected.items()
        if contents.get(path) is not None
        and hashlib.md5(contents[path] or b"", usedforsecurity=False).hexdigest() != md5
    ]
    for name, values in params.items():
        try:
            tree = dvc_yaml(contents.get(name) or b"") or {}
        except Exception:  # ruamel raises several types for broken YAML
            stale.append(f"{name} (not valid YAML)")
            continue
        stale += [f"{name}:{key}" for key, value in values.items() if dotted(tree, key) != value]
    return sorted(set(stale))


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
    dirty = (
        _git(root, "status", "--porcelain", "--untracked-files=no", "--", *dict.fromkeys(tracked))
        .decode()
        .splitlines()
    )
    if dirty:
        names = ", ".join(line[3:] for line in dirty)
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
        for p in _lock_stale_committed(root, commit)
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
    import gto.api

    others = tuple(v for v in _active_in_stage(history) if v != keep)
    for old in others:
        _gto_call(
            f"unassign '{stage}' from {artifact} {old}",
            gto.api.unassign,
            str(root),
            artifact,
            stage=stage,
            version=old,
            message=message(old),
        )
    return others


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
    import gto.api

    if force and not (reason and reason.strip()):
        raise MlgateError("--force needs --reason TEXT: the reason is kept in the GTO tag")
    commit = resolve_commit(root, rev)
    head = resolve_commit(root, "HEAD")
    champion = current_champion(root, artifact=artifact, stage=stage)
    if champion is not None and champion.commit == commit:
        return Promotion(artifact, stage, champion.version, commit, tag=None)
    blockers = promotion_blockers(
        root, commit, champion=champion, check_work_tree=commit == head, evidence=evidence
    )
    if blockers and not force:
        by_rule = any(b.startswith(REJECTED) for b in blockers) or all(
            b.startswith(RULE_MARKS) for b in blockers
        )
        raise (RegistryRefusal if by_rule else EvidenceRefusal)(
            f"refusing to promote {rev} ({commit[:10]}):\n"
            + "\n".join(f"  - {b}" for b in blockers)
            + "\nFix the cause, or override with --force --reason TEXT."
        )
    versions = _registered_versions(root, artifact)
    at_commit = [v["version"] for v in versions if v.get("commit_hexsha") == commit]
    registered = not at_commit
    if at_commit:
        version = at_commit[0]
    else:
        event = _gto_call(
            f"register a version of '{artifact}' at {commit[:10]}",
            gto.api.register,
            str(root),
            artifact,
            commit,
            bump_patch=bool(versions),
            message=f"{PROMOTE_MARK}: register the model of {commit[:10]}",
        )
        version = str(event.version)
    history = stage_history(root, artifact=artifact, stage=stage)
    if force:
        message = f"{PROMOTE_MARK} --force: {reason.strip() if reason else ''}"
        if blockers:
            message += "\n\nOverridden:\n" + "\n".join(f"- {b}" for b in blockers)
    else:
        message = f"{PROMOTE_MARK}: {commit[:10]} passed the gate"
    _wait_past_last_event(history, version)
    event = _gto_call(
        f"assign '{stage}' to {artifact} {version}",
        gto.api.assign,
        str(root),
        artifact,
        stage,
        version=version,
        message=message,
    )
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
        tag=str(event.tag),
        registered=registered,
        forced=force,
        overridden=tuple(blockers),
        replaced=replaced,
    )


def rollback(root: str | Path, *, artifact: str, stage: str) -> Rollback:
    """Give ``stage`` back to the version that held it before the current one."""
    import gto.api

    champion = current_champion(root, artifact=artifact, stage=stage)
    if champion is None:
        raise RegistryRefusal(f"nothing to roll back: no version of '{artifact}' is in '{stage}'")
    history = stage_history(root, artifact=artifact, stage=stage)
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
    event = _gto_call(
        f"assign '{stage}' to {artifact} {target}",
        gto.api.assign,
        str(root),
        artifact,
        stage,
        version=target,
        message=f"{ROLLBACK_MARK}: from {champion.version} to {target}",
    )
    _unassign_others(
        root,
        artifact,
        stage,
        history,
        keep=target,
        message=lambda old: f"{ROLLBACK_MARK}: {old} rolled back to {target}",
    )
    commit = next(e.commit for e in reversed(history) if e.version == target)
    return Rollback(artifact, stage, champion.version, target, commit, str(event.tag))


def status(root: str | Path, *, artifact: str, stage: str) -> Status:
    """The champion, its committed headline metrics and decision, and the stage's history."""
    champion = current_champion(root, artifact=artifact, stage=stage)
    history = stage_history(root, artifact=artifact, stage=stage)
    if champion is None:
        return Status(artifact, stage, None, "no champion", "no champion", history)
    holdout = _committed_json(root, champion.commit, HOLDOUT_FILE)
    if isinstance(holdout, dict):
        holdout = {k: holdout[k] for k in HEADLINE if k in holdout}
    decision = _committed_json(root, champion.commit, GATE_FILE)
    if isinstance(decision, dict):
        decision = {k: decision.get(k) for k in ("decision", "summary", "n_checks", "n_failed")}
    return Status(artifact, stage, champion, holdout, decision, history)
