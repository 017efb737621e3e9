"""Canary simulation: a healthy candidate reaches 100%, a breach rolls the GTO stage back."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgate.errors import GateError
from mlgate.serving.canary import (
    MIN_LATENCY_PAIRS,
    CanaryGuards,
    canary_markdown,
    registry_rollback,
    run_canary,
)
from mlgate.serving.client import InProcessBackend, dumps_body
from mlgate.serving.service import Reply, ScoringService

from .conftest import CONTRACT, REPO_ROOT, git

ARTIFACT, STAGE = "churn-model", "prod"
# Tests about errors and scores must not trip the latency guard on a busy CI machine.
NO_LATENCY_GUARD = CanaryGuards(max_p95_ratio=1e6)


@pytest.fixture(scope="module")
def bodies(records: list[dict[str, Any]]) -> list[bytes]:
    return [dumps_body(r) for r in records[:150]]


class Slow:
    """A backend whose replies take ``ms`` longer (reported, not slept)."""

    def __init__(self, inner: Any, ms: float) -> None:
        self.inner, self.ms, self.name = inner, ms, "slow"

    def call(self, body: bytes) -> Reply:
        reply = self.inner.call(body)
        return Reply(reply.status, reply.content, reply.ms + self.ms)


class Failing:
    def __init__(self, status: int) -> None:
        self.status, self.name = status, "failing"

    def call(self, body: bytes) -> Reply:
        return Reply(self.status, {"detail": "no"})


class Constant:
    """A backend that scores every request 0.3 at no cost (for routing arithmetic)."""

    name = "constant"

    def call(self, body: bytes) -> Reply:
        return Reply(200, {"probabilities": [0.3]}, 1.0)


class Recorder:
    """A rollback action that takes ``seconds`` and counts its calls."""

    def __init__(self, seconds: float = 0.0, error: bool = False) -> None:
        self.calls, self.seconds, self.error = 0, seconds, error

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        time.sleep(self.seconds)
        if self.error:
            raise RuntimeError("registry unreachable")
        return {"artifact": ARTIFACT, "stage": STAGE, "version": "v0.0.1"}


def test_healthy_candidate_reaches_full_traffic(
    service: ScoringService, bodies: list[bytes]
) -> None:
    rollback = Recorder()
    result = run_canary(
        bodies,
        InProcessBackend(service),
        InProcessBackend(service),
        steps=(0.05, 0.25, 1.0),
        requests_per_step=20,
        rollback=rollback,
        guards=NO_LATENCY_GUARD,
    )
    assert result["decision"] == "completed" and result["final_share"] == 1.0
    assert [t["share"] for t in result["timeline"]] == [0.05, 0.25, 1.0]
    assert all(not t["breaches"] for t in result["timeline"])
    assert result["timeline"][-1]["n_candidate"] == 20
    assert result["timeline"][-1]["score_shift"] == 0.0
    assert rollback.calls == 0 and result["rollback"] is None
    assert result["n_requests"] == 60 and result["caller_errors"] == 0
    assert "completed" in canary_markdown(result, champion="a", candidate="b")


def test_routing_share_is_seeded(bodies: list[bytes]) -> None:
    backends = (Constant(), Constant())
    runs = [
        run_canary(bodies, *backends, steps=(0.25, 1.0), requests_per_step=400, seed=s)
        for s in (1, 1, 2)
    ]
    counts = [r["timeline"][0]["n_candidate"] for r in runs]
    assert counts[0] == counts[1] and 70 <= counts[0] <= 130
    assert runs[0]["replayed_log_cyclically"] is True


def test_score_shift_breach_rolls_back(
    service: ScoringService, shifted: Any, bodies: list[bytes]
) -> None:
    rollback = Recorder(seconds=0.05)
    result = run_canary(
        bodies,
        InProcessBackend(service),
        InProcessBackend(shifted(service, 1.0, 0.2)),
        steps=(0.25, 1.0),
        requests_per_step=40,
        rollback=rollback,
        guards=NO_LATENCY_GUARD,
    )
    assert result["decision"] == "rolled_back" and result["final_share"] == 0.0
    assert len(result["timeline"]) == 1  # stopped at the first step
    (breach,) = result["timeline"][0]["breaches"]
    assert breach["guard"] == "score_shift"
    assert breach["value"] == pytest.approx(0.2, abs=1e-9)
    rb = result["rollback"]
    assert rollback.calls == 1 and rb["at_step"] == 1 and rb["at_share"] == 0.25
    assert rb["seconds"] >= 0.05 and "score_shift 0.2 > 0.05" in rb["reason"]
    assert rb["registry"]["version"] == "v0.0.1" and rb["error"] is None
    text = canary_markdown(result, champion="v0.0.1", candidate="v0.0.2")
    assert "rolled back" in text and "back on `v0.0.1`" in text


@pytest.mark.parametrize(
    ("candidate", "guard"),
    [
        (lambda s: Failing(500), "error_rate"),
        (lambda s: Failing(422), "error_rate"),  # refuses what the champion scores
        (lambda s: Slow(InProcessBackend(s), 80.0), "p95_ratio"),
    ],
)
def test_error_and_latency_breaches(
    service: ScoringService, bodies: list[bytes], candidate: Any, guard: str
) -> None:
    result = run_canary(
        bodies,
        InProcessBackend(service),
        candidate(service),
        steps=(0.5, 1.0),
        requests_per_step=40,
        rollback=Recorder(),
    )
    assert result["decision"] == "rolled_back"
    assert guard in {b["guard"] for b in result["timeline"][-1]["breaches"]}


class Fixed:
    """A backend that scores every request 0.3 and reports a fixed latency."""

    def __init__(self, ms: float) -> None:
        self.ms, self.name = ms, f"fixed-{ms}"

    def call(self, body: bytes) -> Reply:
        return Reply(200, {"probabilities": [0.3]}, self.ms)


def test_a_uniformly_slow_machine_does_not_trip_the_latency_guard(
    service: ScoringService, bodies: list[bytes]
) -> None:
    # Both models 200 ms slower (a loaded machine): far above any absolute bound, same ratio.
    result = run_canary(
        bodies,
        Slow(InProcessBackend(service), 200.0),
        Slow(InProcessBackend(service), 200.0),
        steps=(0.5, 1.0),
        requests_per_step=40,
        rollback=Recorder(),
    )
    assert result["decision"] == "completed", result["timeline"][-1]["breaches"]
    assert all(t["p95_ms"] > 200.0 for t in result["timeline"])
    assert result["guards"]["max_p95_ms"] is None


@pytest.mark.parametrize(
    ("candidate_ms", "decision"),
    [(20.0, "completed"), (20.01, "rolled_back")],  # the ratio bound 2.0 itself still passes
)
def test_p95_ratio_boundary(bodies: list[bytes], candidate_ms: float, decision: str) -> None:
    result = run_canary(
        bodies, Fixed(10.0), Fixed(candidate_ms), steps=(1.0,), requests_per_step=20
    )
    assert result["decision"] == decision
    step = result["timeline"][0]
    assert step["champion_p95_ms"] == pytest.approx(10.0)
    assert step["p95_ratio"] == pytest.approx(candidate_ms / 10.0)
    if decision == "rolled_back":
        assert [b["guard"] for b in step["breaches"]] == ["p95_ratio"]
        assert "p95_ratio 2.001 > 2" in result["rollback"]["reason"]


@pytest.mark.parametrize(
    ("limit", "decision"), [(None, "completed"), (12.0, "completed"), (11.9, "rolled_back")]
)
def test_the_absolute_p95_bound_is_optional(
    bodies: list[bytes], limit: float | None, decision: str
) -> None:
    # Candidate 12 ms vs champion 10 ms: ratio 1.2 holds; only an absolute bound below 12 trips.
    guards = CanaryGuards(max_p95_ms=limit)
    result = run_canary(
        bodies, Fixed(10.0), Fixed(12.0), steps=(1.0,), requests_per_step=20, guards=guards
    )
    assert result["decision"] == decision
    if decision == "rolled_back":
        assert [b["guard"] for b in result["timeline"][0]["breaches"]] == ["p95_ms"]


def test_bad_requests_the_champion_also_refuses_are_not_candidate_errors(
    service: ScoringService, bodies: list[bytes]
) -> None:
    mixed = [*bodies[:20], b"{not json", dumps_body({"tenure_months": -1})]
    result = run_canary(
        mixed,
        InProcessBackend(service),
        InProcessBackend(service),
        steps=(1.0,),
        requests_per_step=22,
        guards=NO_LATENCY_GUARD,
    )
    assert result["decision"] == "completed"
    assert result["timeline"][0]["candidate_errors"] == 0


def test_a_failed_rollback_is_recorded(
    service: ScoringService, shifted: Any, bodies: list[bytes]
) -> None:
    result = run_canary(
        bodies,
        InProcessBackend(service),
        InProcessBackend(shifted(service, 1.0, 0.3)),
        steps=(1.0,),
        requests_per_step=20,
        rollback=Recorder(error=True),
        guards=NO_LATENCY_GUARD,
    )
    assert result["decision"] == "rollback_failed"
    assert "registry unreachable" in result["rollback"]["error"]


def test_invalid_steps_are_refused(service: ScoringService, bodies: list[bytes]) -> None:
    backend = InProcessBackend(service)
    for steps in [(0.5,), (0.5, 0.25, 1.0), (0.0, 1.0), ()]:
        with pytest.raises(ValueError, match="steps"):
            run_canary(bodies, backend, backend, steps=steps)


# --------------------------------------------------------------------------- GTO


@pytest.fixture(scope="module")
def registry_repo(
    tmp_path_factory: pytest.TempPathFactory, model_dir: Path, reversed_model_dir: Path
) -> Path:
    """A git repo where v0.0.1 (champion) held prod, then v0.0.2 (reversed) was promoted."""
    import gto.api

    from mlgate import registry

    repo = tmp_path_factory.mktemp("registry")
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    (repo / "contracts").mkdir()
    shutil.copy(CONTRACT, repo / "contracts" / "churn.yaml")
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    for version, source in (("v0.0.1", model_dir), ("v0.0.2", reversed_model_dir)):
        shutil.copytree(source, repo / "models", dirs_exist_ok=True)
        git(repo, "add", ".")
        git(repo, "commit", "-qm", f"model {version}")
        gto.api.register(str(repo), ARTIFACT, "HEAD", version=version)
        # As `mlgate promote --force` would (the fixture has no gate evidence to show).
        registry.promote(repo, artifact=ARTIFACT, stage=STAGE, force=True, reason="fixture")
    return repo


def _prod(repo: Path) -> list[str]:
    import gto.api

    found = gto.api.find_versions_in_stage(str(repo), ARTIFACT, STAGE, versions_per_stage=-1)
    return [v.version for v in found]


def test_registry_rollback_returns_the_stage_to_the_champion(
    tmp_path: Path, registry_repo: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(registry_repo, repo)
    assert _prod(repo) == ["v0.0.2"]
    with pytest.raises(GateError, match="would roll back to v0.0.1, not to"):
        registry_rollback(repo, artifact=ARTIFACT, stage=STAGE, to_version="v9.9.9")
    assert _prod(repo) == ["v0.0.2"]  # a refused rollback leaves the registry alone
    result = registry_rollback(repo, artifact=ARTIFACT, stage=STAGE, to_version="v0.0.1")
    assert _prod(repo) == ["v0.0.1"]
    assert (result["from_version"], result["moved"]) == ("v0.0.2", True)
    again = registry_rollback(repo, artifact=ARTIFACT, stage=STAGE, to_version="v0.0.1")
    assert again["moved"] is False and _prod(repo) == ["v0.0.1"]


def test_canary_command_rolls_back_a_bad_candidate(tmp_path: Path, registry_repo: Path) -> None:
    from mlgate.champion import resolve_champion
    from mlgate.params import ChampionParams
    from mlgate.serving import cli_entry

    repo = tmp_path / "repo"
    shutil.copytree(registry_repo, repo)
    params = repo / "params.yaml"
    log = cli_entry.make_requests(
        tmp_path / "requests.jsonl", n_requests=30, seed=5, synthetic=True, params_path=params
    )
    result = cli_entry.canary(
        log,
        champion="churn-model@v0.0.1",
        candidate="churn-model@v0.0.2",
        out=tmp_path / "canary.json",
        markdown=tmp_path / "canary.md",
        steps=(0.5, 1.0),
        requests_per_step=20,
        root=repo,
        params_path=params,
    )
    assert result["decision"] == "rolled_back"
    assert result["rollback"]["registry"]["version"] == "v0.0.1"
    assert result["rollback"]["seconds"] > 0
    assert "score_shift" in result["rollback"]["reason"]
    assert resolve_champion(repo, ChampionParams()).version == "v0.0.1"
    written = json.loads((tmp_path / "canary.json").read_text())
    assert written["decision"] == "rolled_back"
    assert written["models"]["candidate"]["registry_version"] == "v0.0.2"
    assert "rolled back" in (tmp_path / "canary.md").read_text()

    shadow = cli_entry.shadow(
        log,
        champion="churn-model@v0.0.1",
        candidate="churn-model@v0.0.2",
        out=tmp_path / "shadow.json",
        markdown=tmp_path / "shadow.md",
        root=repo,
        params_path=params,
    )
    assert shadow["n_requests"] == 30 and shadow["disagreement_rate"] > 0
    written = json.loads((tmp_path / "shadow.json").read_text())
    # Which models ran, beside the per-model traffic sections of the same names.
    assert written["models"]["champion"]["registry_version"] == "v0.0.1"
    assert written["models"]["candidate"]["registry_version"] == "v0.0.2"
    assert written["champion"]["n_ok"] == 30 and written["candidate"]["latency_ms"]["n"] > 0
    assert (tmp_path / "shadow.md").read_text().startswith("## Shadow replay")


class OneSlowReply:
    """Replies in ``ms``, except the ``slow_call``-th call, which takes ``slow_ms``."""

    def __init__(self, ms: float, slow_call: int, slow_ms: float) -> None:
        self.ms, self.slow_call, self.slow_ms = ms, slow_call, slow_ms
        self.calls, self.name = 0, "one-slow"

    def call(self, body: bytes) -> Reply:
        self.calls += 1
        ms = self.slow_ms if self.calls == self.slow_call else self.ms
        return Reply(200, {"probabilities": [0.3]}, ms)


def test_one_slow_reply_in_a_small_step_does_not_roll_back(bodies: list[bytes]) -> None:
    """At 5% a step holds ~10 pairs, whose p95 is about their maximum: one slow reply made the
    ratio 2.84 and rolled a healthy candidate back. The ratio is judged on pooled pairs."""
    candidate = OneSlowReply(10.0, slow_call=1, slow_ms=100.0)
    result = run_canary(
        bodies, Fixed(10.0), candidate, steps=(0.05, 0.25, 1.0), requests_per_step=200
    )
    first = result["timeline"][0]
    assert first["latency_pairs"] < MIN_LATENCY_PAIRS and not first["latency_judged"]
    assert first["p95_ratio"] > 2.0  # what the old per-step rule rolled back on
    assert result["decision"] == "completed", [t["breaches"] for t in result["timeline"]]


def test_a_slow_candidate_is_judged_once_enough_pairs_exist(bodies: list[bytes]) -> None:
    result = run_canary(
        bodies, Fixed(10.0), Fixed(30.0), steps=(0.05, 0.25, 1.0), requests_per_step=200
    )
    assert result["decision"] == "rolled_back"
    stopped = result["timeline"][-1]
    assert stopped["latency_judged"] and stopped["latency_pairs"] >= MIN_LATENCY_PAIRS
    assert [b["guard"] for b in stopped["breaches"]] == ["p95_ratio"]
    assert all(not t["latency_judged"] for t in result["timeline"][:-1])


def test_the_last_step_judges_latency_on_few_pairs(bodies: list[bytes]) -> None:
    """Fewer than MIN_LATENCY_PAIRS pairs in all: the last step still judges (no free pass)."""
    result = run_canary(bodies, Fixed(10.0), Fixed(30.0), steps=(1.0,), requests_per_step=5)
    assert result["timeline"][0]["latency_pairs"] == 5
    assert result["decision"] == "rolled_back"
