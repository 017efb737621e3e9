"""mlgate.io: atomic writes (a failing writer, the fsync/rename order, a full disk), OS error
messages in stages and the CLI, the bounded YAML reader, and write_parquet's options."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

import mlgate.io
from mlgate import cli, stage
from mlgate.cli import decision
from mlgate.errors import ArtifactError, ContractError, ParamsError
from mlgate.io import (
    atomic_write,
    os_error_message,
    read_yaml,
    write_json,
    write_parquet,
    write_text,
)


def test_no_statistics_and_plain_columns_round_trip_and_are_deterministic(
    tmp_path: Path,
) -> None:
    frame = pd.DataFrame(
        {
            "id": range(1000),
            "city": [f"city_{i % 7:03d}" for i in range(1000)],
            "when": pd.date_range("2026-01-01", periods=1000, freq="h"),
        }
    )
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    for target in (first, second):
        write_parquet(target, frame, statistics=False, plain_columns=["id"])
    pd.testing.assert_frame_equal(pd.read_parquet(first), frame)
    assert first.read_bytes() == second.read_bytes()
    group = pq.ParquetFile(first).metadata.row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(3)}
    assert not any(c.is_stats_set for c in columns.values())
    assert not columns["id"].has_dictionary_page
    assert columns["city"].has_dictionary_page


# --------------------------------------------------------------------------- atomic writes


def test_a_writer_that_raises_leaves_the_old_output_and_no_temporary_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "out.json"
    write_json(target, {"generation": 1})
    old = target.read_bytes()

    def half_then_fail(path: Path) -> None:
        path.write_text('{"generation": ', encoding="utf-8")
        raise RuntimeError("writer died half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_a_failed_first_write_leaves_nothing(tmp_path: Path) -> None:
    def fail(path: Path) -> None:
        path.write_bytes(b"partial")
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        atomic_write(tmp_path / "new.bin", fail)
    assert list(tmp_path.iterdir()) == []


def test_the_data_is_fsynced_before_the_rename_and_the_directory_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(mlgate.io.os, "fsync", fsync)
    monkeypatch.setattr(mlgate.io.os, "replace", replace)
    target = tmp_path / "out.txt"
    write_text(target, "whole")
    names = [(op, Path(p).name if op == "fsync" else p) for op, p in calls]
    # 1. the temporary file's bytes reach the disk, 2. it replaces the target,
    # 3. the directory entry of the rename reaches the disk.
    assert [op for op, _ in calls] == ["fsync", "replace", "fsync"]
    assert names[0][1].startswith(".out.txt.") and names[0][1].endswith(".tmp")
    assert names[1] == ("replace", str(target))
    assert Path(calls[2][1]) == tmp_path
    assert target.read_text(encoding="utf-8") == "whole"


def test_enospc_while_writing_names_the_output_and_keeps_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "model.joblib"
    target.write_bytes(b"old model")

    def disk_full(path: Path) -> None:
        path.write_bytes(b"new mod")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as joblib raises it: no name

    with pytest.raises(ArtifactError) as info:
        atomic_write(target, disk_full)
    message = str(info.value)
    assert f"cannot write {target}" in message
    assert "ENOSPC" in message and "free space" in message
    assert target.read_bytes() == b"old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.joblib"]


# --------------------------------------------------------------------------- OS error messages


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (errno.ENOSPC, "free space"),
        (errno.EACCES, "permission denied"),
        (errno.EISDIR, "directory"),
        (errno.EROFS, "read-only"),
    ],
)
def test_os_error_message_names_the_path_the_errno_and_what_to_do(code: int, advice: str) -> None:
    exc = OSError(code, os.strerror(code), "models/model.joblib")
    message = os_error_message(exc)
    assert message.startswith("models/model.joblib: ")
    assert errno.errorcode[code] in message and advice in message
    assert "\n" not in message


def _stage_exit(main: Callable[[], None], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        stage.run(main)
    return int(info.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "metrics/train.json"),
        OSError(errno.EACCES, os.strerror(errno.EACCES), "data/train.parquet"),
        MemoryError(),
    ],
    ids=["enospc", "eacces", "memory"],
)
def test_a_stage_maps_os_and_memory_errors_to_one_error_line(
    exc: BaseException, capsys: pytest.CaptureFixture[str]
) -> None:
    def main() -> None:
        raise exc

    code, err = _stage_exit(main, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    if isinstance(exc, OSError):
        assert str(exc.filename) in lines[0] and errno.errorcode[exc.errno] in lines[0]
    else:
        assert "out of memory" in lines[0]


def test_the_cli_maps_an_os_error_of_any_command_to_one_error_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(args: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "report.md")

    monkeypatch.setattr(decision, "cmd_report", full)
    assert cli.main(["report"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "error: report.md: No space left on device (ENOSPC): the disk is full; "
        "free space on it and run again"
    )


# --------------------------------------------------------------------------- bounded YAML

REPO = Path(__file__).resolve().parents[1]


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """A ~1 KB document whose last anchor expands to width**levels strings."""
    lines = ["lol0: &lol0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _refusal(path: Path) -> tuple[str, float]:
    start = time.perf_counter()
    with pytest.raises(ParamsError) as info:
        read_yaml(path, what="params file", error=ParamsError)
    return str(info.value), time.perf_counter() - start


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (billion_laughs(), "aliases (*lol"),
        ("a: &a [1, *a]\n", "refers to the node that contains it"),
        ("x: " + "[" * 150 + "]" * 150 + "\n", "deeper than 100"),
        ("".join(f"k{i}: [a, b]\n" for i in range(40_000)), "more than 100,000 nodes"),
        ("# padding\n" * 120_000, "larger than 1,048,576 bytes"),
    ],
    ids=["billion_laughs", "cycle", "deep", "many_nodes", "large"],
)
def test_documents_beyond_the_bounds_are_refused_fast_with_one_line(
    tmp_path: Path, document: str, problem: str
) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(document, encoding="utf-8")
    message, seconds = _refusal(path)
    assert message.startswith(f"params file {path} refused: ") and problem in message
    assert "\n" not in message and len(message) < 300
    assert seconds < 1.0


def test_the_alias_bound_is_a_bound_not_a_ban(tmp_path: Path) -> None:
    # Just under MAX_YAML_ALIAS_NODES loads; one anchored node more is refused.
    inner = "[" + ", ".join(["x"] * 99) + "]"  # 100 nodes with the sequence
    ok = tmp_path / "ok.yaml"
    ok.write_text(f"a: &a {inner}\nb: [" + ", ".join(["*a"] * 100) + "]\n", encoding="utf-8")
    data = read_yaml(ok, what="spec", error=ParamsError)
    assert len(data["b"]) == 100 and data["b"][0] == data["a"]
    over = tmp_path / "over.yaml"
    over.write_text(f"a: &a {inner}\nb: [" + ", ".join(["*a"] * 101) + "]\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="expand to more than 10,000 nodes"):
        read_yaml(over, what="spec", error=ParamsError)


def test_merge_keys_and_plain_anchors_still_load(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n", encoding="utf-8")
    assert read_yaml(path, what="params file", error=ParamsError) == {
        "base": {"x": 1, "y": 2},
        "other": {"x": 1, "y": 3},
    }


@pytest.mark.parametrize(
    "name", ["params.yaml", "contracts/churn.yaml", "contracts/behavioral.yaml"]
)
def test_the_project_files_load_exactly_as_yaml_safe_load_reads_them(name: str) -> None:
    path = REPO / name
    assert read_yaml(path, what=name, error=ParamsError) == yaml.safe_load(
        path.read_text(encoding="utf-8")
    )


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: Path("/dev/zero"), "larger than"),
        (lambda d: d, "is a directory"),
        (lambda d: d / "missing.yaml", "does not exist"),
        (lambda d: _write_bytes(d / "latin1.yaml", "a: caf\xe9\n".encode("latin-1")), "UTF-8"),
        (lambda d: _write_bytes(d / "bad.yaml", b"a: [1\n"), "not valid YAML"),
    ],
    ids=["dev_zero", "directory", "missing", "not_utf8", "invalid"],
)
def test_unreadable_files_are_one_line_errors(
    tmp_path: Path, make: Callable[[Path], Path], problem: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(ContractError) as info:
        read_yaml(path, what="contract", error=ContractError)
    message = str(info.value)
    assert message.startswith(f"contract {path}") and problem in message
    assert "\n" not in message


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_read_json_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ArtifactError, match="larger than 67,108,864 bytes"):
        mlgate.io.read_json("/dev/zero", what="gate decision")
    monkeypatch.setattr(mlgate.io, "MAX_JSON_BYTES", 8)
    (tmp_path / "a.json").write_text('{"a": 12}', encoding="utf-8")  # 9 bytes: one too many
    with pytest.raises(ArtifactError, match="larger than 8 bytes"):
        mlgate.io.read_json(tmp_path / "a.json")
    (tmp_path / "b.json").write_text('{"a": 1}', encoding="utf-8")
    assert mlgate.io.read_json(tmp_path / "b.json") == {"a": 1}
