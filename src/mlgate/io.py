"""Atomic file outputs and tolerant readers.

Every file a stage writes goes through :func:`atomic_write`: the bytes land in a temporary
file in the same directory, are fsynced, and replace the target with ``os.replace``. A stage
killed at any moment therefore leaves the previous output or the complete new one, never half.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import yaml

from mlgate.errors import ArtifactError, MlgateError

# Read once at import (os.umask can only be read by setting it, which is not thread-safe).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, over_directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically.

    The temporary file is ``.<name>.<pid>.<random>.tmp``. A writer killed with SIGKILL cannot
    remove its own; the next write of the same target removes those whose process is gone.
    A directory at ``target`` is an error (EISDIR) unless ``over_directory``: only a Parquet
    dataset (the Spark engine's layout of the same output) may be replaced by a file.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(target)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:  # an unwritable directory, a full disk: name the output
        raise _write_error(target, exc) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600; give the output the mode a plain open() would (0666 minus umask).
    os.chmod(tmp, 0o666 & ~_UMASK)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if over_directory:
            replace_path(tmp, target)
        else:
            os.replace(tmp, target)  # EISDIR on a directory: never delete one by accident
        _fsync_dir(target.parent)
    except OSError as exc:
        # Writers (joblib, pyarrow) often raise without a file name, or with the temporary
        # one: name the output the user knows instead.
        raise _write_error(target, exc) from exc
    finally:
        tmp.unlink(missing_ok=True)


# What to do about an OSError, by errno: the part of the message a user can act on.
_OS_ADVICE = {
    errno.ENOSPC: "the disk is full; free space on it and run again",
    errno.EDQUOT: "the disk quota is exhausted; free space and run again",
    errno.EACCES: "permission denied; check the owner and mode of the file and its directory",
    errno.EPERM: "operation not permitted; check the owner and mode of the file",
    errno.EROFS: "the file system is read-only; run where it can be written",
    errno.EISDIR: "it is a directory; expected a file",
    errno.ENOTDIR: "a parent of the path is not a directory",
    errno.ENOENT: "it does not exist",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n) and run again",
    errno.EIO: "input/output error; check the disk",
}


def os_error_text(exc: OSError) -> str:
    """``No space left on device (ENOSPC): the disk is full; free space ...``, no path."""
    name = errno.errorcode.get(exc.errno or 0, "")
    text = exc.strerror or str(exc)
    advice = _OS_ADVICE.get(exc.errno or 0)
    return f"{text}{f' ({name})' if name else ''}" + (f": {advice}" if advice else "")


def os_error_message(exc: OSError) -> str:
    """One line for an OSError: the path(s) it names, what happened, what to do."""
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    where = " -> ".join(paths)
    return f"{where}: {os_error_text(exc)}" if where else os_error_text(exc)


MEMORY_ERROR_MESSAGE = (
    "out of memory: an input is larger than this machine can hold (a huge file, or a device "
    "such as /dev/zero given as a path); check the paths in params.yaml and on the command line"
)


def _write_error(target: Path, exc: OSError) -> ArtifactError:
    return ArtifactError(f"cannot write {target}: {os_error_text(exc)} (nothing was replaced)")


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
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)


def _temp_dir_beside(target: Path) -> Path:
    """A new temporary directory named as :func:`atomic_path` names its files (so stale ones
    are swept), after removing those of writers that are gone."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(target)
        return Path(
            tempfile.mkdtemp(
                prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent
            )
        )
    except OSError as exc:
        raise _write_error(target, exc) from exc


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``target``; on success it replaces ``target``
    (a file or a directory) in one step, so a reader or a killed writer sees the old output
    or the whole new one. The name follows :func:`atomic_path`, so stale ones are removed."""
    target = Path(target)
    tmp = _temp_dir_beside(target)
    os.chmod(tmp, 0o777 & ~_UMASK)
    try:
        yield tmp
        for entry in os.scandir(tmp):
            with open(entry.path, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(tmp)
        replace_path(tmp, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        raise _write_error(target, exc) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_dataset(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Like :func:`atomic_directory`, for writers that create the directory themselves (Spark
    refuses to write into an existing one): yields a path that does not exist yet, inside a
    private temporary holder beside ``target``; on success it replaces ``target``."""
    target = Path(target)
    holder = _temp_dir_beside(target)
    try:
        yield holder / "dataset"
        replace_path(holder / "dataset", target)
        _fsync_dir(target.parent)
    except OSError as exc:
        raise _write_error(target, exc) from exc
    finally:
        shutil.rmtree(holder, ignore_errors=True)


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def replace_path(new: Path, target: Path) -> None:
    """Put ``new`` (file or directory) at ``target``, replacing what is there.

    ``os.replace`` cannot put a directory over an existing one, nor a file over a directory.
    Then the two are exchanged atomically (Linux renameat2 RENAME_EXCHANGE) and the old one,
    now at ``new``, deleted. Where the kernel or file system lacks the exchange, the old one is
    renamed aside first: killed between the two renames, the old output survives under the
    aside name (a ``.tmp`` the next write removes), not at ``target``.
    """
    if not target.exists() or (not target.is_dir() and not new.is_dir()):
        os.replace(new, target)
        return
    if not _exchange(new, target):
        aside = new.with_name(new.name[: -len(".tmp")] + "old.tmp")
        os.rename(target, aside)
        os.rename(new, target)
        new = aside
    if new.is_dir() and not new.is_symlink():
        shutil.rmtree(new)
    else:
        new.unlink()


def _exchange(a: Path, b: Path) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


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


def atomic_write(
    target: str | os.PathLike[str],
    writer: Callable[[Path], Any],
    *,
    over_directory: bool = False,
) -> None:
    """Call ``writer(tmp_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target, over_directory=over_directory) as tmp:
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


# mlgate's JSON files (metrics, model metadata, decisions) are KB; 64 MiB is far above any.
MAX_JSON_BYTES = 64 << 20


def read_json(path: str | os.PathLike[str], *, what: str = "JSON file") -> Any:
    """Read JSON or raise an ``ArtifactError`` naming the file and the problem."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{what} {path} does not exist")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_JSON_BYTES + 1)  # bounded: /dev/zero is refused, not read
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{what} {path} cannot be read: {exc}") from exc
    if len(data) > MAX_JSON_BYTES:
        raise ArtifactError(
            f"{what} {path} is larger than {MAX_JSON_BYTES:,} bytes; expected a metrics or "
            "metadata JSON file"
        )
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
    options = parquet_options(frame.columns, statistics=statistics, plain_columns=plain_columns)
    # A directory there is the Spark engine's layout of the same table: replace it.
    atomic_write(
        target, lambda p: frame.to_parquet(p, index=False, **options), over_directory=True
    )


def parquet_options(
    columns: Collection[Any], *, statistics: bool = True, plain_columns: Collection[str] = ()
) -> dict[str, Any]:
    """pyarrow writer options of :func:`write_parquet` (also for writers of a dataset's parts,
    so a part file is encoded as the single file would be)."""
    dictionary: bool | list[str] = True
    if plain_columns:
        dictionary = [str(c) for c in columns if c not in plain_columns]
    return {"compression": "zstd", "write_statistics": statistics, "use_dictionary": dictionary}


# --------------------------------------------------------------------------- bounded YAML

# Every YAML file mlgate reads (params.yaml, contracts, behavioral specs) is user input. The
# real ones are a few KB with a few hundred nodes; these bounds are ~100x that. Aliases are
# expanded by whatever walks the data later (a type check, an error message's repr), so a
# 1 KB "billion laughs" document is refused here, before anything walks it.
MAX_YAML_BYTES = 1 << 20
MAX_YAML_NODES = 100_000  # after expanding aliases; ~1 s to load at the bound
MAX_YAML_ALIAS_NODES = 10_000  # nodes added by aliases (*name, <<: *name)
MAX_YAML_DEPTH = 100  # libyaml's composer recurses in C: a deep document crashes the process


def read_yaml(
    path: str | os.PathLike[str],
    *,
    what: str,
    error: type[MlgateError],
    missing: str = " does not exist",
) -> Any:
    """Parse a YAML file within the bounds above, or raise ``error`` with one line naming it.

    ``missing`` follows the path in the message when the file does not exist (e.g. to say
    which param names it). At most ``MAX_YAML_BYTES + 1`` bytes are read (``/dev/zero`` is
    refused, not read for ever), then the events are counted before any node is built.
    """
    path = Path(path)
    text = _read_bounded_text(path, what=what, error=error, missing=missing)
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        problem = _yaml_bounds_problem(text, loader_cls)
        if problem:
            raise error(f"{what} {path} refused: {problem}")
        loader = loader_cls(text)
        try:
            node = loader.get_single_node()
            return None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise error(f"{what} {path} is not valid YAML: {_one_line(exc)}") from None


def _read_bounded_text(path: Path, *, what: str, error: type[MlgateError], missing: str) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise error(f"{what} {path}{missing}") from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a directory; expected a YAML file") from None
    except OSError as exc:
        raise error(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_YAML_BYTES:
        raise error(
            f"{what} {path} refused: larger than {MAX_YAML_BYTES:,} bytes; "
            "expected a hand-written YAML file"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} cannot be read: not UTF-8 (byte {exc.start})") from None


def _yaml_bounds_problem(text: str, loader_cls: Any) -> str | None:
    """Walk the parser's events (no nodes built) and say which bound the document breaks.

    Sizes are in expanded nodes: an alias counts the whole anchored node again, which is what
    anything walking the loaded data would visit.
    """
    anchors: dict[str, int | None] = {}  # None: anchored node not finished (a cycle)
    open_: list[tuple[str | None, int]] = []  # (anchor, nodes seen at its start)
    seen = aliased = 0
    for event in yaml.parse(text, Loader=loader_cls):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_) >= MAX_YAML_DEPTH:
                return f"nested deeper than {MAX_YAML_DEPTH} levels"
            if event.anchor is not None:
                anchors[event.anchor] = None
            open_.append((event.anchor, seen))
            seen += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, start = open_.pop()
            if anchor is not None:
                anchors[anchor] = seen - start
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                anchors[event.anchor] = 1
            seen += 1
        elif isinstance(event, yaml.AliasEvent):
            size = anchors.get(event.anchor, 0)  # an unknown alias: the composer reports it
            if size is None:
                return f"alias *{event.anchor} refers to the node that contains it"
            seen += size
            aliased += size
            if aliased > MAX_YAML_ALIAS_NODES:
                return (
                    f"aliases (*{event.anchor}, ...) expand to more than "
                    f"{MAX_YAML_ALIAS_NODES:,} nodes"
                )
        if seen > MAX_YAML_NODES:
            return f"more than {MAX_YAML_NODES:,} nodes"
    return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
