"""The candidate behind a real API (metrics/serving.json): same scores, bad payloads refused, no
5xx, the right model loaded, fast enough."""

from __future__ import annotations

from typing import Any

from mlgate.gate.checks import Check, Missing
from mlgate.params import GateParams


def serving_checks(rules: GateParams, serving: Any) -> list[Check]:
    """The candidate behind a real API: same scores, bad payloads refused, no 5xx, fast enough."""
    cfg = rules.serving
    if not cfg.required:
        return []
    if isinstance(serving, Missing) or not isinstance(serving, dict):
        reason = serving.reason if isinstance(serving, Missing) else "serving evidence missing"
        return [Check("serving", False, reason)]
    checks = []
    diff = serving.get("parity_max_abs_diff")
    checks.append(
        Check(
            "serving_parity",
            serving.get("parity_passed") is True,
            f"API scores vs offline scores: max |diff| {diff}",
            diff,
            (serving.get("parity") or {}).get("tolerance"),
        )
    )
    errors = serving.get("n_5xx"), serving.get("n_transport_errors")
    clean = all(isinstance(v, int) and not isinstance(v, bool) and v == 0 for v in errors)
    checks.append(
        Check(
            "serving_no_5xx",
            clean,
            f"{errors[0]} 5xx and {errors[1]} transport errors",
            errors[0],
            0,
        )
    )
    cases = (serving.get("bad_payloads") or {}).get("cases") or []
    refused_badly = [
        c.get("name", "?") for c in cases if isinstance(c, dict) and c.get("passed") is False
    ]
    checks.append(
        Check(
            "serving_bad_payloads",
            serving.get("bad_payloads_passed") is True,
            "every bad payload got a clear 4xx"
            if not refused_badly
            else f"bad payloads not refused cleanly: {', '.join(refused_badly)}",
        )
    )
    checks.append(
        Check(
            "serving_model_identity",
            serving.get("served_sha256_matches") is True,
            "the server loaded the candidate model (sha256 matches)",
        )
    )
    return checks + _latency_checks(rules, serving.get("latency_ms") or {})


def _latency_checks(rules: GateParams, latency: dict[str, Any]) -> list[Check]:
    """p95 latency of single and batch requests within their bounds (a number, not a bool)."""
    cfg = rules.serving
    checks = []
    for kind, bound in (("single", cfg.max_single_p95_ms), ("batch", cfg.max_batch_p95_ms)):
        p95 = (latency.get(kind) or {}).get("p95")
        ok = isinstance(p95, int | float) and not isinstance(p95, bool) and p95 <= bound
        reason = f"{kind} p95 {p95} ms vs bound {bound} ms"
        checks.append(Check(f"serving_latency[{kind}]", ok, reason, p95, bound))
    return checks
