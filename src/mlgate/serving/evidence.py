"""Fail closed when a replay compared nothing: "no evidence" is never a pass.

A shadow run whose requests were all refused (a request log that does not fit the contract),
a canary step in which the candidate's requests were all refused, or a serving stage whose
parity requests all failed have measured nothing. Their summaries would otherwise read like a
clean result (0 disagreements, no guard breached); these helpers name the counts instead.
"""

from __future__ import annotations

from typing import Any

__all__ = ["shadow_gap"]

HINT = "requests that fit the contract come from `mlgate requests` (rows of data/holdout.parquet)"


def shadow_gap(summary: dict[str, Any]) -> str | None:
    """Why a shadow summary holds no evidence (zero records compared), or None."""
    if summary["n_records_compared"] > 0:
        return None
    c, k = summary["champion"], summary["candidate"]
    return (
        f"no evidence: 0 records compared in {summary['n_requests']} requests (champion: "
        f"{c['n_ok']} scored, {c['n_4xx']} refused with 4xx, {c['n_errors']} failed; "
        f"candidate: {k['n_ok']} scored, {k['n_4xx']} refused with 4xx, {k['n_errors']} "
        f"failed); {HINT}"
    )
