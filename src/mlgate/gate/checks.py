"""What the gate's rules produce: a named check with its reason and structured details, and
the marker for evidence that could not be obtained (which becomes a failed check)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Missing:
    """Evidence that could not be obtained, and why (becomes a failed check)."""

    reason: str


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    reason: str
    value: Any = None
    threshold: Any = None
    # Structured figures behind the reason (rule, SE, p values with their sidedness...), so
    # readers such as the report never parse the reason text.
    details: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "passed": self.passed,
            "value": self.value,
            "threshold": self.threshold,
            "reason": self.reason,
        }
        if self.details is not None:
            out["details"] = self.details
        return out
