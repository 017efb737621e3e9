"""The one dvc.lock parser: md5 queries, the fast stage section, staleness, the evidence chain."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from mlgate.errors import ArtifactError
from mlgate.repo.lock import (
    entry_md5,
    locked_md5,
    parse_lock,
    read_lock_file,
    section,
    stale_paths,
    upstream_chain,
)


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


LOCK = {
    "schema": "2.0",
    "stages": {
        "split": {
            "cmd": "python stages/split.py",
            "deps": [{"path": "data/raw.csv", "md5": "r1"}],
            "outs": [{"path": "data/holdout.parquet", "md5": "h1"}],
        },
        "gate": {
            "cmd": "python stages/gate.py",
            "deps": [
                {"path": "data/holdout.parquet", "md5": "h1"},
                {"path": "models/model.joblib", "md5": "m1"},
            ],
            "outs": [{"path": "metrics/gate.json", "md5": "g1"}],
        },
        "report": {"deps": [{"path": "metrics/gate.json", "md5": "g1"}], "outs": []},
    },
}


def test_locked_md5_reads_one_entry_and_refuses_absent_or_ambiguous() -> None:
    assert locked_md5(LOCK, "gate", "deps", "models/model.joblib") == "m1"
    assert locked_md5(LOCK, "gate", "outs", "models/model.joblib") is None  # a dep, not an out
    assert locked_md5(LOCK, "train", "outs", "models/model.joblib") is None
    assert locked_md5(None, "gate", "deps", "models/model.joblib") is None
    twice = [{"path": "a", "md5": "1"}, {"path": "a", "md5": "2"}]
    assert entry_md5(twice, "a") is None  # two entries for one path: no answer, not the first
    assert entry_md5([{"path": "a", "md5": "1"}, "junk"], "a") == "1"
    assert entry_md5([{"path": "a", "md5": 5}], "a") is None


def test_section_parses_one_stage_like_the_whole_lock() -> None:
    text = yaml.safe_dump(LOCK, sort_keys=False).encode()
    for stage in ("split", "gate", "report"):
        assert section(text, stage) == parse_lock(text)["stages"][stage]
    assert section(text, "train") is None
    flow = yaml.safe_dump(LOCK, default_flow_style=True).encode()  # not DVC's layout
    assert section(flow, "gate") == LOCK["stages"]["gate"]


def test_upstream_chain_is_the_stage_and_its_producers_only() -> None:
    assert sorted(upstream_chain(LOCK["stages"], "gate")) == ["gate", "split"]
    assert sorted(upstream_chain(LOCK["stages"], "report")) == ["gate", "report", "split"]
    with pytest.raises(ArtifactError, match="no 'train' stage"):
        upstream_chain(LOCK["stages"], "train")


def test_stale_paths_compares_content_not_dates(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    holdout = tmp_path / "data" / "holdout.parquet"
    holdout.write_bytes(b"rows")
    lock = {
        "stages": {
            "split": {
                "outs": [
                    {"path": "data/holdout.parquet", "md5": _md5(b"rows")},
                    {"path": "data/gone.parquet", "md5": "x"},
                    {"path": "data/dir", "md5": "abc.dir"},  # left to DVC
                ]
            }
        }
    }
    path = tmp_path / "dvc.lock"
    path.write_text(yaml.safe_dump(lock), encoding="utf-8")
    expected = ["data/gone.parquet (missing)", f"gate (stage not in {path})"]
    assert stale_paths(path, ["split", "gate"], tmp_path) == expected
    holdout.write_bytes(b"rowz")  # same size, other content
    assert "data/holdout.parquet" in stale_paths(path, ["split"], tmp_path)


@pytest.mark.parametrize("text", ["stages: [a, b]\n", "- 1\n", "stages: {split: [1]}\n"])
def test_stale_paths_refuses_what_is_not_a_lock(tmp_path: Path, text: str) -> None:
    path = tmp_path / "dvc.lock"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ArtifactError, match="dvc.lock"):
        stale_paths(path, ["split"], tmp_path)


def test_read_lock_file_is_none_when_unreadable(tmp_path: Path) -> None:
    assert read_lock_file(tmp_path / "absent.lock") is None
    (tmp_path / "bad.lock").write_text("stages: [", encoding="utf-8")
    assert read_lock_file(tmp_path / "bad.lock") is None
