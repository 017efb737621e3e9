"""The Markdown report: what was decided and why, readable raw and as rendered by CML.

Order follows what a reviewer needs first: the decision and the checks that failed, then the
candidate against the champion metric by metric, slices, behavioral tests, drift, data
validation, and finally the plots (relative links, which CML uploads with the comment).

Pure: :func:`build_report` takes the parsed metric files (or an :class:`Unavailable` saying
why one could not be read) and returns text. A missing input becomes a visible line in its
section, never an exception. No timestamps, so the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgate import paths
from mlgate.errors import ArtifactError
from mlgate.report_evidence import comparison_section, slices_section
from mlgate.report_format import Unavailable
from mlgate.report_sections import (
    all_checks_section,
    behavioral_section,
    decision_section,
    drift_section,
    plots_section,
    subjects_section,
    validation_section,
)

# Files the report stage reads, by the key build_report expects.
INPUTS = {
    "gate": paths.GATE,
    "holdout": paths.HOLDOUT_METRICS,
    "slices": paths.SLICES,
    "behavioral": paths.BEHAVIORAL,
    "drift": paths.DRIFT,
    "validation": paths.VALIDATION,
    "champion": paths.CHAMPION,
    "train": paths.TRAIN_METRICS,
    "split": paths.SPLIT,
}
PLOTS = {
    "ROC curve": paths.ROC_PNG,
    "Calibration": paths.CALIBRATION_PNG,
    "Slices": paths.SLICES_PNG,
}


# --------------------------------------------------------------------------- decision file


def validate_decision(data: Any, *, source: str) -> dict[str, Any]:
    """Return ``data`` if it is a gate decision; ArtifactError (exit code 2) otherwise."""
    if not isinstance(data, dict):
        raise ArtifactError(f"{source} is not a gate decision: expected a JSON object")
    if not isinstance(data.get("promote"), bool):
        raise ArtifactError(
            f"{source} is not a gate decision: expected a boolean 'promote' key "
            "(written by the `gate` stage; run `dvc repro`)"
        )
    if not isinstance(data.get("checks", []), list):
        raise ArtifactError(f"{source}: 'checks' must be a list")
    return data


# --------------------------------------------------------------------------- entry point


def build_report(
    inputs: Mapping[str, dict[str, Any] | Unavailable], *, plots: Mapping[str, str | None]
) -> str:
    """Markdown for ``inputs`` (keys of :data:`INPUTS`) and ``plots`` (title -> link or None).

    A key absent from ``inputs`` counts as unavailable.
    """
    full = {k: inputs.get(k, Unavailable(f"{INPUTS[k]} was not provided")) for k in INPUTS}
    gate = full["gate"]
    lines = ["# mlgate report", ""]
    lines += decision_section(gate)
    lines += subjects_section(full)
    lines += comparison_section(gate, full["holdout"])
    lines += slices_section(full["slices"], gate)
    lines += behavioral_section(full["behavioral"])
    lines += drift_section(full["drift"])
    lines += validation_section(full["validation"])
    lines += plots_section(plots)
    lines += all_checks_section(gate)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"
