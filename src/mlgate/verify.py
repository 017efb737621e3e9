"""A stored gate decision is re-derived, never trusted.

``metrics/gate.json`` is a file anyone with push access can edit, and its md5 in ``dvc.lock``
with it; ``dvc repro`` then skips the gate. So ``mlgate check`` and ``mlgate promote`` accept a
decision only when

1. it is internally consistent (``promote`` <=> ``decision == "promote"`` <=> no failed
   check; ``n_checks``, ``n_failed`` and ``failed`` agree with ``checks``);
2. every dependency and output of the gate and of the stages it depends on (transitively)
   matches ``dvc.lock``, params included: the evidence is the evidence the lock recorded;
3. the gate computation, run again on that evidence by the code ``dvc.lock`` recorded for it
   (``stages/gate.py`` with ``src/`` of the same tree), into a temporary file, gives the same
   decision and the same outcome for every check.

For a commit other than the work tree's, the evidence is materialised in a temporary
``git worktree`` at that commit: git-tracked files come with it, DVC outputs are linked from
the local DVC cache by the md5 the commit's ``dvc.lock`` names (and hashed again there), so
nothing in the user's work tree is touched.

What this does not prove: that the upstream outputs (model, predictions, metrics) are what
their stages would compute. Only rerunning them does that (``dvc repro --force``, as the CI
pull-request job does); see the README's trust model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.errors import MlgateError
from mlgate.repo.lock import LOCK_FILE, read_stages, stale_params, stale_paths, upstream_chain
from mlgate.repo.worktree import materialised

GATE_STAGE = "gate"
GATE_OUT = "metrics/gate.json"
STAGE_SCRIPT = "stages/gate.py"
RECOMPUTE_TIMEOUT = 1800  # seconds; a hung recomputation must not hang CI

# Runs the gate stage's own code with its output redirected, so the decision being verified
# is never overwritten. The stage's module constant OUT is where main() writes; a stage
# without it (another layout) is refused rather than allowed to write over the decision.
_RUN_GATE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("mlgate_gate_stage", sys.argv[1])
stage = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stage)
if getattr(stage, "OUT", None) != sys.argv[3] or not callable(getattr(stage, "main", None)):
    sys.exit("error: stages/gate.py has no OUT = %r and main(): cannot redirect it" % sys.argv[3])
stage.OUT = sys.argv[2]
from mlgate.stage import run
run(stage.main)
"""


@dataclass
class Verification:
    """What was checked and what came out. ``status``: verified | unverified | invalid.

    * verified: consistent, evidence matches dvc.lock, recomputation agrees.
    * unverified: the stored decision could be read, but not checked (evidence missing or
      stale, or the recomputation could not run); ``next_step`` says what to run.
    * invalid: no decision, an inconsistent one, or one the evidence contradicts.
    """

    status: str
    decision: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    next_step: str | None = None
    recomputed: dict[str, Any] | None = None

    @property
    def verified(self) -> bool:
        return self.status == "verified"


# --------------------------------------------------------------------------- consistency


def consistency_problems(decision: Any) -> list[str]:
    """Why ``decision`` is not a self-consistent gate decision (empty list: it is)."""
    if not isinstance(decision, dict):
        return ["not a JSON object"]
    checks = decision.get("checks")
    if not isinstance(checks, list) or not checks:
        return ["'checks' must be a non-empty list"]
    bad = [
        i
        for i, c in enumerate(checks)
        if not (
            isinstance(c, dict)
            and isinstance(c.get("name"), str)
            and isinstance(c.get("passed"), bool)
        )
    ]
    if bad:
        return [f"checks {bad} lack a string 'name' and a boolean 'passed'"]
    failed = [c["name"] for c in checks if not c["passed"]]
    problems = []
    promote = decision.get("promote")
    if not isinstance(promote, bool):
        problems.append(f"'promote' is {promote!r}, expected true or false")
    expected = "promote" if not failed else "reject"
    if promote is not (not failed):
        problems.append(
            f"'promote' is {promote!r} but {len(failed)} of {len(checks)} checks failed"
        )
    if decision.get("decision") != expected:
        problems.append(
            f"'decision' is {decision.get('decision')!r} but the checks say {expected!r}"
        )
    if decision.get("n_checks") != len(checks):
        problems.append(
            f"'n_checks' is {decision.get('n_checks')!r}, the checks number {len(checks)}"
        )
    if decision.get("n_failed") != len(failed):
        problems.append(f"'n_failed' is {decision.get('n_failed')!r}, {len(failed)} checks failed")
    if decision.get("failed") != failed:
        problems.append(f"'failed' is {decision.get('failed')!r}, the failed checks are {failed}")
    return problems


def disagreement(stored: Mapping[str, Any], recomputed: Mapping[str, Any]) -> list[str]:
    """How the stored decision differs from the recomputed one, in decision and check outcomes.

    Only outcomes are compared: reasons quote figures such as serving latencies that are inputs
    here (so equal), but a field added by a newer gate must not turn into a false alarm.
    """
    diffs = []
    if stored.get("decision") != recomputed.get("decision"):
        diffs.append(
            f"decision: stored {stored.get('decision')!r}, "
            f"recomputed {recomputed.get('decision')!r}"
        )
    old = {c["name"]: c["passed"] for c in stored.get("checks", [])}
    new = {c.get("name"): c.get("passed") for c in recomputed.get("checks", [])}
    for name in sorted(old.keys() | new.keys(), key=str):
        if old.get(name) != new.get(name):
            diffs.append(
                f"check {name}: stored {_outcome(old.get(name))}, "
                f"recomputed {_outcome(new.get(name))}"
            )
    return diffs


def _outcome(passed: bool | None) -> str:
    return "absent" if passed is None else ("passed" if passed else "failed")


# --------------------------------------------------------------------------- verification


def verify_tree(root: str | Path) -> Verification:
    """Verify the decision in the tree at ``root`` (the work tree, or a materialised commit)."""
    root = Path(root)
    decision = _read_decision(root)
    if isinstance(decision, Verification):
        return decision
    unbacked = _unbacked(root, decision)
    if unbacked is not None:
        return unbacked
    recomputed = recompute(root)
    if isinstance(recomputed, str):
        return Verification("unverified", decision, [recomputed], "dvc repro")
    diffs = disagreement(decision, recomputed)
    if diffs:
        why = f"{GATE_OUT} disagrees with the decision recomputed from the evidence: "
        return Verification(
            "invalid", decision, [why + "; ".join(diffs)], "dvc repro --force gate", recomputed
        )
    return Verification("verified", decision, [], None, recomputed)


def _read_decision(root: Path) -> dict[str, Any] | Verification:
    """The stored decision if it exists and is self-consistent; else why not."""
    try:
        decision = json.loads((root / GATE_OUT).read_bytes())
    except FileNotFoundError:
        problem = f"{GATE_OUT} does not exist: the gate has not run"
        return Verification("invalid", problems=[problem], next_step="dvc repro")
    except (OSError, ValueError) as exc:
        problem = f"{GATE_OUT} cannot be read: {exc}"
        return Verification("invalid", problems=[problem], next_step="dvc repro")
    problems = consistency_problems(decision)
    if problems:
        inconsistent = [f"{GATE_OUT} is inconsistent: {p}" for p in problems]
        return Verification("invalid", None, inconsistent, "dvc repro")
    return dict(decision)


def _unbacked(root: Path, decision: dict[str, Any]) -> Verification | None:
    """Why the evidence chain in ``root`` is not what dvc.lock recorded, or None if it is."""
    lock = root / LOCK_FILE
    if not lock.is_file():
        return Verification("unverified", decision, [f"no {LOCK_FILE}"], "dvc repro")
    try:
        chain = upstream_chain(read_stages(lock), GATE_STAGE)
        stale = stale_paths(lock, chain, root)
    except MlgateError as exc:
        return Verification("unverified", decision, [str(exc)], "dvc repro")
    missing = [p.removesuffix(" (missing)") for p in stale if p.endswith(" (missing)")]
    if missing:
        problem = (
            f"evidence not in the work tree: {', '.join(missing)} "
            "(fetch it with `dvc pull`, or recompute it with `dvc repro`)"
        )
        return Verification("unverified", decision, [problem], "dvc pull")
    stale += stale_params(lock, chain, root)
    if stale:
        problem = f"the evidence differs from {LOCK_FILE}: {', '.join(stale)}"
        return Verification("unverified", decision, [problem], "dvc repro")
    return None


def recompute(root: Path) -> dict[str, Any] | str:
    """Run the tree's gate stage into a temporary file; the decision, or why it could not."""
    script = root / STAGE_SCRIPT
    if not script.is_file():
        return f"{STAGE_SCRIPT} does not exist: cannot recompute the decision"
    with tempfile.TemporaryDirectory(prefix="mlgate-verify-") as tmp:
        out = Path(tmp, "gate.json")
        # The tree's own code first: the code dvc.lock hashed as the gate's dependencies.
        path = [str(root / "src"), *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
        try:
            proc = subprocess.run(
                [sys.executable, "-c", _RUN_GATE, str(script), str(out), GATE_OUT],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=RECOMPUTE_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"the gate could not be recomputed: {exc}"
        if proc.returncode != 0 or not out.is_file():
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            return "the gate could not be recomputed: " + (
                lines[-1] if lines else f"exit {proc.returncode}"
            )
        try:
            data = json.loads(out.read_bytes())
        except ValueError as exc:
            return f"the recomputed decision is not JSON: {exc}"
    return data if isinstance(data, dict) else "the recomputed decision is not a JSON object"


def verify_commit(root: str | Path, commit: str) -> Verification:
    """Verify the decision committed at ``commit``, in a temporary worktree at that commit."""
    with materialised(Path(root), commit, GATE_STAGE) as tree:
        if isinstance(tree, str):
            return Verification("unverified", None, [tree], "dvc fetch (then try again)")
        return verify_tree(tree)
