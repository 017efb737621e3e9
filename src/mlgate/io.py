"""Atomic file outputs and tolerant readers.

Every file a stage writes goes through :func:`atomic_write`: the bytes land in a temporary
file in the same directory, are fsynced, and replace the target with ``os.replace``. A stage
killed at any moment therefore leaves the previous output or the complete new one, never half.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from mlgate.errors import ArtifactError, DataError

# Read once at import (os.umask can only be read by setting it, which is not thread-safe).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically.

    The temporary file is ``.<name>.<pid>.<random>.tmp``. A writer killed with SIGKILL cannot
    remove its own; the next write of the same target removes those whose process is gone.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600; give the output the mode a plain open() would (0666 minus umask).
    os.chmod(tmp, 0o666 & ~_UMASK)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _remove_stale_temps(target: Path) -> None:
    """Delete temporary files of ``target`` left by writers that no longer run.

    Only names with a pid are considered, and only when that pid is not running: a live
    writer's file is never touched (a reused pid merely leaves a stale file for later).
    """
    prefix, suffix = f".{target.name}.", ".tmp"
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(suffix)):
                continue
            pid, _, rest = name[len(prefix) : -len(suffix)].partition(".")
            if pid.isdigit() and rest and "." not in rest and not _pid_running(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: the pid exists and belongs to someone else
        return True
    return True


def _fsync_dir(directory: Path) -> None:
    # The rename itself lives in the directory entry; fsync it so it survives a power cut.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(target: str | os.PathLike[str], writer: Callable[[Path], Any]) -> None:
    """Call ``writer(tmp_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)


def write_text(target: str | os.PathLike[str], text: str) -> None:
    atomic_write(target, lambda p: p.write_text(text, encoding="utf-8"))


def _finite(obj: Any) -> Any:
    # JSON has no NaN/inf; writing them would make a file other tools cannot parse.
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, float):
        # 10 significant digits: metric files stay byte-identical when a BLAS or CPU differs
        # in the last bits, far below any difference a rule could care about.
        return float(f"{obj:.10g}")
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def dumps_json(data: Any) -> str:
    """JSON with floats rounded to 10 significant digits; keys keep their meaningful order."""
    return json.dumps(_finite(data), indent=2, allow_nan=False, default=_json_default) + "\n"


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays show up in metric dicts; convert them without importing numpy here.
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "shape", None) == ():
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(target: str | os.PathLike[str], data: Any) -> None:
    write_text(target, dumps_json(data))


def read_json(path: str | os.PathLike[str], *, what: str = "JSON file") -> Any:
    """Read JSON or raise an ``ArtifactError`` naming the file and the problem."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{what} {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{what} {path} cannot be read: {exc}") from exc
    if not text.strip():
        raise ArtifactError(f"{what} {path} is empty; expected a JSON object")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{what} {path} is not valid JSON: {exc}") from exc


def write_parquet(
    target: str | os.PathLike[str],
    frame: Any,
    *,
    statistics: bool = True,
    plain_columns: Collection[str] = (),
) -> None:
    """Write a pandas DataFrame to Parquet atomically (no index, zstd).

    ``statistics=False`` leaves out per-page and row-group min/max, which only readers that
    filter on them use; on string columns they are a fifth of the encoding time. Columns in
    ``plain_columns`` are not dictionary encoded: for a column of distinct values (an id) the
    dictionary fills up and is abandoned, costing time and a larger file.
    """
    dictionary: bool | list[str] = True
    if plain_columns:
        dictionary = [str(c) for c in frame.columns if c not in plain_columns]
    atomic_write(
        target,
        lambda p: frame.to_parquet(
            p,
            index=False,
            compression="zstd",
            write_statistics=statistics,
            use_dictionary=dictionary,
        ),
    )


def require_file(path: str | os.PathLike[str], *, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} {path} does not exist")
    if path.is_dir():
        raise DataError(f"{what} {path} is a directory; expected a file")
    if path.stat().st_size == 0:
        raise DataError(f"{what} {path} is empty")
    return path
