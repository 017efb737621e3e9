"""Atomic replacement of a Parquet dataset directory (Spark's output) or of a single file.

Spark writes a dataset as a directory of part files; a stage killed mid-write must leave the
previous output, as :func:`mlgate.io.atomic_path` does for files. The new directory is written
beside the target under a temporary name, then swapped in with one ``renameat2`` call
(``RENAME_EXCHANGE``: Linux >= 3.15 on ext4, xfs, btrfs, tmpfs), which also swaps a directory
with a file (a local-engine output replaced by a Spark one). Where the call is unsupported the
swap falls back to two renames, with a window of microseconds in which the target is absent.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mlgate.errors import ArtifactError
from mlgate.io import _pid_running as pid_running
from mlgate.io import os_error_text

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` atomically; False when this system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the file system cannot exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def replace_with(new: Path, target: Path) -> None:
    """Put ``new`` (file or directory) at ``target``; the old target is removed after."""
    if not os.path.lexists(target):
        os.replace(new, target)
        return
    if _exchange(new, target):
        _remove(new)  # now holds the previous output
        return
    old = target.with_name(f".{target.name}.{os.getpid()}.old.tmp")
    _remove(old)
    os.replace(target, old)
    os.replace(new, target)
    _remove(old)


def _remove_stale(target: Path) -> None:
    """Remove temporaries of ``target`` left by writers killed with SIGKILL (pid gone)."""
    prefix = f".{target.name}."
    for entry in target.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid = entry.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not pid_running(int(pid)):
            _remove(entry)


@contextlib.contextmanager
def atomic_dataset(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh path beside ``target`` (not yet existing) for a writer to create as a
    directory; on success it replaces ``target``, on any error it is removed."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(target)
        holder = Path(
            tempfile.mkdtemp(
                prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent
            )
        )
    except OSError as exc:
        raise ArtifactError(f"cannot write {target}: {os_error_text(exc)}") from exc
    tmp = holder / "dataset"
    try:
        yield tmp
        replace_with(tmp, target)
    except OSError as exc:
        raise ArtifactError(
            f"cannot write {target}: {os_error_text(exc)} (nothing was replaced)"
        ) from exc
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def write_parquet_over(target: str | os.PathLike[str], frame: object) -> None:
    """:func:`mlgate.io.write_parquet`, also replacing a dataset directory left by Spark."""
    from mlgate.io import write_parquet

    if not Path(target).is_dir():
        write_parquet(target, frame)
        return
    with atomic_dataset(target) as tmp:
        write_parquet(tmp, frame)
