"""The report says how often the holdout already judged a candidate (gate.json holdout_reuse)."""

from __future__ import annotations

from mlgate.report import build_report
from tests.test_report import ALL_PLOTS, _inputs, _section


def _comparison_with(reuse: dict | None) -> str:
    inputs = _inputs()
    if reuse is None:
        inputs["gate"].pop("holdout_reuse", None)
    else:
        inputs["gate"]["holdout_reuse"] = reuse
    return _section(build_report(inputs, plots=ALL_PLOTS), "Candidate vs champion")


def test_reuse_count_and_scan_are_shown():
    text = _comparison_with(
        {"earlier_decisions": 7, "commits_scanned": 42, "scan_limit": 500, "capped": False}
    )
    assert "Holdout reuse: 7 earlier decision(s) on this holdout" in text
    assert "42 commits scanned)" in text and "limit" not in text


def test_a_capped_walk_says_where_it_stopped():
    text = _comparison_with(
        {"earlier_decisions": 3, "commits_scanned": 500, "scan_limit": 500, "capped": True}
    )
    assert "500 commits scanned, stopped at the limit of 500" in text


def test_an_unreadable_history_is_shown_as_unknown():
    text = _comparison_with({"earlier_decisions": 0, "error": "the git history cannot be read"})
    assert "Holdout reuse: unknown (the git history cannot be read)" in text


def test_older_decisions_without_the_record_still_render():
    assert "Holdout reuse" not in _comparison_with(None)
