"""Directory outputs (a Parquet dataset of parts) replace the previous output in one step."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from mlgate import io
from mlgate.errors import MlgateError


def _dir_with(path: Path, text: str) -> None:
    path.mkdir()
    (path / "part-0.parquet").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("previous", ["none", "file", "directory"])
def test_new_directory_replaces_any_previous_output(tmp_path: Path, previous: str) -> None:
    target = tmp_path / "validated.parquet"
    if previous == "file":
        target.write_text("old", encoding="utf-8")
    elif previous == "directory":
        _dir_with(target, "old")
        (target / "stale-part.parquet").write_text("old", encoding="utf-8")
    with io.atomic_directory(target) as tmp:
        (tmp / "part-0.parquet").write_text("new", encoding="utf-8")
    assert sorted(p.name for p in target.iterdir()) == ["part-0.parquet"]
    assert (target / "part-0.parquet").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["validated.parquet"]


def test_failed_writer_leaves_previous_directory(tmp_path: Path) -> None:
    target = tmp_path / "validated.parquet"
    _dir_with(target, "old")
    with pytest.raises(RuntimeError), io.atomic_directory(target) as tmp:
        (tmp / "part-0.parquet").write_text("half", encoding="utf-8")
        raise RuntimeError("killed")
    assert (target / "part-0.parquet").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["validated.parquet"]


def test_a_parquet_file_replaces_a_directory_output(tmp_path: Path) -> None:
    # The local engine writes one file where the Spark engine left a directory of parts.
    target = tmp_path / "validated.parquet"
    _dir_with(target, "old")
    frame = pd.DataFrame({"a": [1, 2, 3]})
    io.write_parquet(target, frame)
    assert target.is_file()
    pd.testing.assert_frame_equal(pd.read_parquet(target), frame)


def test_other_writes_never_delete_a_directory(tmp_path: Path) -> None:
    # `--out drafts/` naming a directory by mistake must not delete what is in it.
    target = tmp_path / "drafts"
    _dir_with(target, "keep me")
    with pytest.raises(MlgateError, match="EISDIR"):
        io.write_text(target, "one file")
    assert target.is_dir() and sorted(p.name for p in tmp_path.iterdir()) == ["drafts"]


def test_without_exchange_the_old_directory_is_renamed_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(io, "_exchange", lambda a, b: False)
    target = tmp_path / "validated.parquet"
    _dir_with(target, "old")
    with io.atomic_directory(target) as tmp:
        (tmp / "part-0.parquet").write_text("new", encoding="utf-8")
    assert (target / "part-0.parquet").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["validated.parquet"]


def test_stale_temporary_directory_of_a_dead_writer_is_removed(tmp_path: Path) -> None:
    target = tmp_path / "validated.parquet"
    dead = 2**22 + 12345  # above the usual pid_max: no such process
    stale = tmp_path / f".validated.parquet.{dead}.abc.tmp"
    _dir_with(stale, "half")
    with io.atomic_directory(target) as tmp:
        (tmp / "part-0.parquet").write_text("new", encoding="utf-8")
    assert not stale.exists()
    assert os.listdir(tmp_path) == ["validated.parquet"]
