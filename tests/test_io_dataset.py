"""mlgate.io.atomic_dataset (Spark writes the directory itself): the previous output survives."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate import io
from mlgate.io import atomic_dataset


def _dataset(path: Path, text: str) -> None:
    path.mkdir()
    (path / "part-0").write_text(text)


@pytest.mark.parametrize("exchange", [True, False])
@pytest.mark.parametrize("before", ["file", "dir", "none"])
def test_new_directory_replaces_any_previous_output(
    tmp_path, monkeypatch, exchange, before
) -> None:  # type: ignore[no-untyped-def]
    if not exchange:  # the two-rename fallback of file systems without RENAME_EXCHANGE
        monkeypatch.setattr(io, "_exchange", lambda a, b: False)
    target = tmp_path / "out.parquet"
    if before == "file":
        target.write_text("old")
    elif before == "dir":
        _dataset(target, "old")
    with atomic_dataset(target) as tmp:
        _dataset(tmp, "new")
    assert (target / "part-0").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_a_failed_write_leaves_the_previous_output(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "out.parquet"
    _dataset(target, "old")
    with pytest.raises(RuntimeError), atomic_dataset(target) as tmp:
        _dataset(tmp, "half")
        raise RuntimeError("killed")
    assert (target / "part-0").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "out.parquet"
    dead = tmp_path / ".out.parquet.999999999.abc.tmp"
    _dataset(dead, "stale")
    with atomic_dataset(target) as tmp:
        _dataset(tmp, "new")
    assert not dead.exists()
