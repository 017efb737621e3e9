"""A deterministic sample of a Parquet file or dataset directory, read in record batches.

Train, behavioral and serving run locally on at most N rows of tables that may hold 1e8. The
sample is the N rows whose id has the smallest salted hash (:func:`mlgate.data.split.id_hash`
with a salt of its own, :func:`sample_salt`): which rows are chosen depends on the ids only,
not on row order, file layout or the engine that wrote the data. Exactly N rows, not "the
lowest N/total fraction": N is a budget (memory, fit time), a fraction would miss it by about
sqrt(N) either way and need the total first. (Rows with equal hashes, i.e. a repeated id, are
kept or dropped together, so a boundary tie can add rows; ids are unique after validate.)

A sampled result is ordered by hash, so it is the same frame for any input order; a table of
at most N rows is returned whole, in file order, exactly as ``pd.read_parquet`` reads it.

Memory: one pass of record batches; the candidates are pruned to N whenever they reach 2N,
and a batch's rows above the current N-th smallest hash are dropped on arrival, so the peak is
about 2N rows plus one batch, whatever the table's size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlgate.data.split import id_hash
from mlgate.errors import DataError

BATCH_ROWS = 65_536


def sample_salt(split_salt: str) -> str:
    """The sample's salt: distinct from the split's, so the sample is not the holdout's edge."""
    return f"{split_salt}/sample"


@dataclass(frozen=True)
class Sample:
    frame: pd.DataFrame
    n_available: int

    @property
    def sampled(self) -> bool:
        return len(self.frame) < self.n_available


def parquet_files(path: str | Path) -> list[Path]:
    """A Parquet file, or a dataset directory's part files in path order (as pyarrow lists
    them; names starting with '.' or '_' are Spark's bookkeeping)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist")
    if not path.is_dir():
        return [path]
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not any(part[0] in "._" for part in p.relative_to(path).parts)
    )
    if not files:
        raise DataError(f"{path} is a directory without Parquet files")
    return files


def iter_batches(
    path: str | Path, columns: Sequence[str] | None = None, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    for file in parquet_files(path):
        with pq.ParquetFile(file) as handle:
            yield from handle.iter_batches(batch_size=batch_rows, columns=columns)


class _Keeper:
    """The candidates: rows, their hashes and their positions in the input."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.parts: list[tuple[pa.Table, np.ndarray, np.ndarray]] = []
        self.size = 0
        self.bound: np.uint64 | None = None  # the N-th smallest hash seen so far

    def add(self, batch: pa.RecordBatch, hashes: np.ndarray, start: int) -> None:
        positions = np.arange(start, start + len(hashes), dtype=np.int64)
        if self.bound is not None:
            keep = hashes <= self.bound
            batch, hashes, positions = batch.filter(pa.array(keep)), hashes[keep], positions[keep]
        self.parts.append((pa.Table.from_batches([batch]), hashes, positions))
        self.size += len(hashes)
        if self.size >= 2 * self.n:
            self._prune()

    def _prune(self) -> None:
        table, hashes, positions = self.merged()
        self.bound = np.partition(hashes, self.n - 1)[self.n - 1]
        keep = hashes <= self.bound
        self.parts = [(table.filter(pa.array(keep)), hashes[keep], positions[keep])]
        self.size = int(keep.sum())

    def merged(self) -> tuple[pa.Table, np.ndarray, np.ndarray]:
        return (
            pa.concat_tables([p[0] for p in self.parts]).combine_chunks(),
            np.concatenate([p[1] for p in self.parts]),
            np.concatenate([p[2] for p in self.parts]),
        )


def _hashes(batch: pa.RecordBatch, id_column: str, salt: str, path: str | Path) -> np.ndarray:
    if id_column not in batch.schema.names:
        raise DataError(f"{path}: id column '{id_column}' is missing; the sample is drawn by id")
    ids = batch.column(batch.schema.get_field_index(id_column)).to_pandas().rename(id_column)
    if ids.isna().any():
        raise DataError(
            f"{path}: id column '{id_column}' has missing values; every row needs an id"
        )
    return id_hash(ids, salt=salt)


def read_sample(
    path: str | Path,
    *,
    id_column: str,
    n: int,
    salt: str,
    columns: Sequence[str] | None = None,
) -> Sample:
    """At most ``n`` rows of ``path`` (file or dataset directory): all of them in file order
    when there are no more, else the ``n`` smallest id hashes in hash order. ``columns``
    limits what is read (the id column is read for hashing either way)."""
    if n < 1:
        raise ValueError(f"sample size must be >= 1, got {n}")
    wanted = None if columns is None else list(dict.fromkeys([*columns, id_column]))
    keeper, total = _Keeper(n), 0
    for batch in iter_batches(path, wanted):
        keeper.add(batch, _hashes(batch, id_column, salt, path), total)
        total += batch.num_rows
    if not keeper.parts:  # no rows at all: the empty table with its columns
        return Sample(pd.read_parquet(path, columns=wanted), 0)
    table, hashes, positions = keeper.merged()
    if total > n:
        bound = np.partition(hashes, n - 1)[n - 1]
        chosen = np.flatnonzero(hashes <= bound)
        # Hash order (positions only break ties of a repeated id): the same frame whatever
        # the input's row order or partitioning.
        chosen = chosen[np.lexsort((positions[chosen], hashes[chosen]))]
        table = table.take(pa.array(chosen))
    frame = table.to_pandas().reset_index(drop=True)
    if columns is not None and id_column not in columns:
        frame = frame.drop(columns=[id_column])
    return Sample(frame, total)
