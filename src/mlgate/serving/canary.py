"""Canary simulation: a growing share of replayed traffic goes to the candidate, under guards.

Each step routes a fixed share of its requests to the candidate (5% -> 25% -> 100% by
default); which requests go is decided by a seeded draw per request, so a replay is
repeatable. Requests routed to the candidate are also scored by the champion, as a real canary
would mirror them, so the score shift is measured on the *same* requests. After each step the
guards are checked on the candidate's requests of that step:

* error rate: candidate 5xx and transport failures, and 4xx on requests the champion scored
  (a candidate refusing traffic the champion takes is failing, not validating);
* p95 latency relative to the champion: the candidate's p95 over the champion's p95 on the
  same mirrored requests (a loaded machine slows both, so the ratio holds), pooled over the
  steps so far and judged once at least MIN_LATENCY_PAIRS pairs exist (or at the last step):
  at 5% of 200 requests a step holds ~10 pairs, whose p95 is their maximum, so one slow reply
  rolled back a healthy candidate. An absolute p95 bound is optional (``max_p95_ms``);
* score shift: |mean candidate score - mean champion score| on the same records.

The first breach stops the rollout: traffic returns to the champion at once and ``rollback``
(by default :func:`registry_rollback`: the GTO stage goes back to the champion's version) is
called; the reasons and the time the rollback took are recorded. A step in which the
candidate received no request is reported as not evaluated rather than as passed silently.
A step in which the candidate received requests but not one record could be compared (every
request refused by both models, say) stops the rollout with the decision ``no_evidence``:
traffic returns to the champion, the registry is not touched, and the counts are recorded.
Only a rollout whose every step passed with evidence, the last (100%) included, completes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlgate.errors import GateError
from mlgate.serving.client import Backend, latency_summary
from mlgate.serving.service import Reply

# Below 20 samples the p95 (numpy's linear interpolation) leans on the largest sample alone.
MIN_LATENCY_PAIRS = 20

__all__ = ["CanaryGuards", "canary_markdown", "registry_rollback", "run_canary"]


@dataclass(frozen=True)
class CanaryGuards:
    max_error_rate: float = 0.01
    # 2.0: the same model as candidate and champion, 15 default canaries on a loaded 2-core
    # machine, gave a worst-step ratio of 0.90-1.56 with the p95 of ~10 requests at 5% (now
    # pooled over steps from MIN_LATENCY_PAIRS pairs, which is less noisy);
    # a candidate twice as slow as the champion on the same requests is a real regression.
    max_p95_ratio: float = 2.0
    max_score_shift: float = 0.05
    max_p95_ms: float | None = None  # absolute bound, off by default: it measures the machine


def _check_steps(steps: Sequence[float]) -> tuple[float, ...]:
    steps = tuple(float(s) for s in steps)
    ok = (
        steps
        and all(0.0 < s <= 1.0 for s in steps)
        and steps[-1] == 1.0
        and all(a < b for a, b in zip(steps, steps[1:], strict=False))
    )
    if not ok:
        raise ValueError(
            f"steps: expected increasing shares in (0, 1] ending with 1.0, got {list(steps)}"
        )
    return steps


def _candidate_error(candidate: Reply, champion: Reply) -> bool:
    if candidate.status == 0 or candidate.status >= 500:
        return True
    return 400 <= candidate.status < 500 and champion.ok


def _step_stats(pairs: list[tuple[Reply, Reply]], threshold: float) -> dict[str, Any]:
    """Stats over (candidate, champion) replies to the same requests."""
    n = len(pairs)
    errors = sum(_candidate_error(c, k) for c, k in pairs)
    refused = sum(400 <= c.status < 500 for c, _ in pairs)
    champion_refused = sum(400 <= k.status < 500 for _, k in pairs)
    cand_scores: list[float] = []
    champ_scores: list[float] = []
    for c, k in pairs:
        a, b = c.probabilities, k.probabilities
        if a is not None and b is not None and len(a) == len(b):
            cand_scores.extend(a)
            champ_scores.extend(b)
    cand, champ = np.asarray(cand_scores), np.asarray(champ_scores)
    m = int(cand.size)
    return {
        "n_candidate": n,
        "candidate_errors": errors,
        "candidate_4xx": refused,
        "champion_4xx": champion_refused,
        "error_rate": errors / n if n else None,
        "n_records_compared": m,
        "score_shift": float(abs(cand.mean() - champ.mean())) if m else None,
        "mean_abs_diff": float(np.mean(np.abs(cand - champ))) if m else None,
        "disagreement_rate": float(np.mean((cand >= threshold) != (champ >= threshold)))
        if m
        else None,
    }


def _latency_stats(pooled: list[tuple[Reply, Reply]], last_step: bool) -> dict[str, Any]:
    """p95 of the candidate and of the champion on the same requests, all steps so far."""
    both = [(c.ms, k.ms) for c, k in pooled if c.ok and k.ok]
    p95 = latency_summary(c for c, _ in both)["p95"]
    champ_p95 = latency_summary(k for _, k in both)["p95"]
    return {
        "latency_pairs": len(both),
        "latency_judged": bool(both) and (len(both) >= MIN_LATENCY_PAIRS or last_step),
        "p95_ms": p95,
        "champion_p95_ms": champ_p95,
        "p95_ratio": p95 / champ_p95 if p95 is not None and champ_p95 else None,
    }


def _breaches(stats: dict[str, Any], guards: CanaryGuards) -> list[dict[str, Any]]:
    judged = stats["latency_judged"]
    checks = (
        ("error_rate", stats["error_rate"], guards.max_error_rate),
        ("p95_ratio", stats["p95_ratio"] if judged else None, guards.max_p95_ratio),
        ("p95_ms", stats["p95_ms"] if judged else None, guards.max_p95_ms),
        ("score_shift", stats["score_shift"], guards.max_score_shift),
    )
    return [
        {"guard": name, "value": value, "limit": limit}
        for name, value, limit in checks
        if value is not None and limit is not None and value > limit
    ]


def _check_inputs(
    steps: Sequence[float], bodies: Sequence[bytes], requests_per_step: int
) -> tuple[float, ...]:
    if not bodies:
        raise ValueError("bodies: expected at least one request to replay")
    if requests_per_step < 1:
        raise ValueError(f"requests_per_step: expected an integer >= 1, got {requests_per_step}")
    return _check_steps(steps)


def _replay_step(
    bodies: Sequence[bytes],
    first: int,
    routed: np.ndarray,
    champion: Backend,
    candidate: Backend,
) -> tuple[list[tuple[Reply, Reply]], int]:
    """One step's requests: (candidate, champion) reply pairs, and the errors callers saw."""
    pairs: list[tuple[Reply, Reply]] = []
    caller_errors = 0
    for j, to_candidate in enumerate(routed):
        body = bodies[(first + j) % len(bodies)]
        if to_candidate:
            answer = candidate.call(body)
            pairs.append((answer, champion.call(body)))  # mirrored: same request
        else:
            answer = champion.call(body)
        caller_errors += answer.status == 0 or answer.status >= 500
    return pairs, caller_errors


def _step_record(
    step: int,
    share: float,
    n_requests: int,
    stats: dict[str, Any],
    breaches: list[Any],
    seconds: float,
) -> dict[str, Any]:
    return {
        "step": step,
        "share": share,
        "n_requests": n_requests,
        **stats,
        "evaluated": stats["n_candidate"] > 0,
        "breaches": breaches,
        "seconds": seconds,
    }


def _step_outcome(
    stats: dict[str, Any],
    breaches: list[Any],
    rollback: Callable[[], dict[str, Any] | None] | None,
    step: int,
    share: float,
    clock: Callable[[], float],
) -> dict[str, Any] | None:
    """The run's result if this step ends it (a breach, or no evidence), else None."""
    if breaches:
        done = _roll_back(rollback, step, share, breaches, clock)
        decision = "rollback_failed" if done["error"] else "rolled_back"
        return {"decision": decision, "rollback": done}
    gap = _no_evidence(stats, step, share)
    if gap is not None:
        return {"decision": "no_evidence", "rollback": None, "no_evidence": gap}
    return None


def run_canary(
    bodies: Sequence[bytes],
    champion: Backend,
    candidate: Backend,
    *,
    steps: Sequence[float] = (0.05, 0.25, 1.0),
    requests_per_step: int = 200,
    guards: CanaryGuards = CanaryGuards(),
    threshold: float = 0.5,
    seed: int = 0,
    rollback: Callable[[], dict[str, Any] | None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Replay ``bodies`` (cycled if short) through the canary; return timeline and decision.

    ``decision`` is ``completed`` (the candidate took 100% with every guard holding),
    ``rolled_back``, or ``rollback_failed`` (a guard broke and ``rollback`` raised; the error
    is recorded, the caller decides what to do).
    """
    steps = _check_inputs(steps, bodies, requests_per_step)
    total = len(steps) * requests_per_step
    draws = np.random.default_rng(seed).random(total)
    timeline: list[dict[str, Any]] = []
    caller_errors = 0
    started = clock()
    result: dict[str, Any] = {"decision": "completed", "rollback": None}
    pooled: list[tuple[Reply, Reply]] = []
    for k, share in enumerate(steps):
        step_start = clock()
        first = k * requests_per_step
        routed = draws[first : first + requests_per_step] < share
        pairs, errors = _replay_step(bodies, first, routed, champion, candidate)
        caller_errors += errors
        pooled += pairs
        stats = _step_stats(pairs, threshold) | _latency_stats(pooled, k == len(steps) - 1)
        breaches = _breaches(stats, guards)
        seconds = round(clock() - step_start, 4)
        timeline.append(_step_record(k + 1, share, requests_per_step, stats, breaches, seconds))
        stop = _step_outcome(stats, breaches, rollback, k + 1, share, clock)
        if stop is not None:
            result = stop
            break
    last = timeline[-1]
    return {
        **result,
        "final_share": 0.0 if result["decision"] != "completed" else last["share"],
        "steps": list(steps),
        "requests_per_step": requests_per_step,
        "guards": dataclasses.asdict(guards),
        "threshold": threshold,
        "seed": seed,
        "n_requests": sum(t["n_requests"] for t in timeline),
        "caller_errors": caller_errors,
        "replayed_log_cyclically": total > len(bodies),
        "seconds": round(clock() - started, 4),
        "timeline": timeline,
    }


def _no_evidence(stats: dict[str, Any], step: int, share: float) -> str | None:
    """Why a step that sent the candidate traffic measured nothing, or None."""
    if stats["n_candidate"] == 0 or stats["n_records_compared"] > 0:
        return None
    return (
        f"no evidence at step {step} ({share:.0%}): the candidate got "
        f"{stats['n_candidate']} requests and 0 records could be compared (candidate refused "
        f"{stats['candidate_4xx']} with 4xx, champion refused {stats['champion_4xx']}); "
        "the rollout stopped and traffic stays with the champion"
    )


def _roll_back(
    rollback: Callable[[], dict[str, Any] | None] | None,
    step: int,
    share: float,
    breaches: list[dict[str, Any]],
    clock: Callable[[], float],
) -> dict[str, Any]:
    reason = "; ".join(f"{b['guard']} {b['value']:.4g} > {b['limit']:.4g}" for b in breaches)
    start = clock()
    detail: dict[str, Any] | None = None
    error = None
    if rollback is not None:
        try:
            detail = rollback()
        except Exception as exc:  # recorded, not raised: the timeline must still be written
            error = f"{type(exc).__name__}: {exc}"
    return {
        "at_step": step,
        "at_share": share,
        "reason": reason,
        # Routing back to the champion is immediate in the simulation; this is the registry.
        "seconds": round(clock() - start, 4),
        "registry": detail if rollback is not None else "no rollback action configured",
        "error": error,
    }


# --------------------------------------------------------------------------- registry


def registry_rollback(
    root: str | Path, *, artifact: str, stage: str, to_version: str
) -> dict[str, Any]:
    """Give ``stage`` back to the canary's champion ``to_version`` through mlgate's registry.

    The one function to swap for another registry. It uses :func:`mlgate.registry.rollback`
    (the same move as ``mlgate rollback``: the stage returns to the previous holder and stays
    exclusive) after checking that the previous holder *is* ``to_version``, so a canary never
    moves the stage anywhere else. If ``to_version`` already holds the stage (the canary ran
    before any promotion) nothing is written.
    """
    from mlgate import registry
    from mlgate.repo import gto

    current = gto.current_champion(root, artifact=artifact, stage=stage)
    base = {"artifact": artifact, "stage": stage, "version": to_version}
    if current is not None and current.version == to_version:
        return {**base, "from_version": to_version, "moved": False, "tag": None}
    stack = registry.promotion_stack(gto.stage_history(root, artifact=artifact, stage=stage))
    while stack and current is not None and stack[-1] == current.version:
        stack.pop()
    previous = stack[-1] if stack else None
    if previous != to_version:
        raise GateError(
            f"'{stage}' of {artifact} would roll back to {previous or 'nothing'}, not to the "
            f"canary's champion {to_version}; the registry was left as it is"
        )
    done = registry.rollback(root, artifact=artifact, stage=stage)
    return {**base, "from_version": done.from_version, "moved": True, "tag": done.tag}


# --------------------------------------------------------------------------- report


def _num(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _absolute(limit: float | None) -> str:
    return "" if limit is None else f" and <= {limit} ms"


def _ratio(step: dict[str, Any]) -> str:
    text = _num(step["p95_ratio"], ".3f")
    if step["latency_judged"]:
        return text
    return f"{text} (not judged: {step['latency_pairs']} pairs)"


def canary_markdown(result: dict[str, Any], *, champion: str, candidate: str) -> str:
    """A Markdown section: guards, the step timeline, the decision and any rollback."""
    g = result["guards"]
    lines = [
        "## Canary simulation",
        "",
        f"Candidate `{candidate}` against champion `{champion}`, steps "
        f"{' -> '.join(f'{s:.0%}' for s in result['steps'])}, {result['requests_per_step']} "
        f"requests per step. Guards: error rate <= {g['max_error_rate']:.2%}, p95 <= "
        f"{g['max_p95_ratio']} x the champion's p95 on the same requests (pooled over the steps "
        f"so far; judged from {MIN_LATENCY_PAIRS} pairs, or at the last step)"
        f"{_absolute(g['max_p95_ms'])}, score shift <= {g['max_score_shift']}.",
        "",
        "| step | share | candidate requests | error rate | pooled p95 ms | champion p95 ms "
        "| p95 ratio "
        "| score shift | decisions differ | breaches |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in result["timeline"]:
        breaches = ", ".join(b["guard"] for b in t["breaches"]) or (
            "not evaluated (no candidate request)"
            if not t["evaluated"]
            else "no evidence (nothing compared)"
            if t["n_records_compared"] == 0
            else "none"
        )
        lines.append(
            f"| {t['step']} | {t['share']:.0%} | {t['n_candidate']} | "
            f"{_num(t['error_rate'], '.2%')} | {_num(t['p95_ms'], '.2f')} | "
            f"{_num(t['champion_p95_ms'], '.2f')} | {_ratio(t)} | "
            f"{_num(t['score_shift'], '.4f')} | {_num(t['disagreement_rate'], '.2%')} | "
            f"{breaches} |"
        )
    lines.append("")
    decision = result["decision"]
    if decision == "completed":
        lines.append(
            "**Decision: completed** - the candidate serves 100% of traffic; no guard "
            "was breached."
        )
    elif decision == "no_evidence":
        lines.append(
            f"**Decision: no evidence** - {result['no_evidence']}. The registry was not touched."
        )
    else:
        rb = result["rollback"]
        lines.append(
            f"**Decision: {decision.replace('_', ' ')}** at step {rb['at_step']} "
            f"({rb['at_share']:.0%}): {rb['reason']}. Rollback took "
            f"{rb['seconds']:.3f} s."
        )
        if rb["error"]:
            lines.append(f"Rollback error: {rb['error']}")
        elif isinstance(rb["registry"], dict):
            reg = rb["registry"]
            lines.append(
                f"Registry: `{reg['artifact']}` stage `{reg['stage']}` is back on "
                f"`{reg['version']}`."
            )
    return "\n".join(lines) + "\n"
