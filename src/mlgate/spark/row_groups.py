"""Row-group tasks: Spark schedules the work, pyarrow reads each Parquet row group in place.

Stages whose work is row by row (validate's row checks, split) need each row's global position
and the file's own types. Reading through Spark's DataFrame gives neither for free: Spark packs
file splits into partitions largest first, so keeping row order took a range sort (a shuffle
of the whole table), and its types differ from the file's (timestamps in microseconds, every
column nullable), so every batch was cast back. Here each Parquet row group is one task: the
driver lists them from the footers (file order, then row-group order), and a task reads its
group with pyarrow, as the local engine reads the file, knowing the position of its first row.
One pass, no shuffle, and a task's output named by that position sorts in row order.

On a cluster the files must be on storage every executor can read (as for the rest of
``data/``); a file written as one row group is one task, so it gets no parallelism.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from mlgate.errors import DataError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

T = TypeVar("T")


@dataclass(frozen=True)
class RowGroup:
    path: str  # absolute, so an executor in another working directory finds it
    index: int  # the row group's number within its file
    start: int  # global position of its first row (files in the order given)
    rows: int

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        with pq.ParquetFile(self.path) as handle:
            return handle.read_row_group(self.index, columns=columns)

    def part_name(self) -> str:
        """A part file's name that sorts by the row group's position."""
        return f"part-{self.start:020d}.parquet"


def row_groups(files: Sequence[Path]) -> list[RowGroup]:
    """Every row group of ``files`` (in that order), read from the footers only."""
    groups: list[RowGroup] = []
    start = 0
    for file in files:
        try:
            meta = pq.read_metadata(file)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{file} is not a readable Parquet file: {exc}") from exc
        for index in range(meta.num_row_groups):
            rows = meta.row_group(index).num_rows
            if rows:
                groups.append(RowGroup(str(Path(file).resolve()), index, start, rows))
            start += rows
    return groups


def map_row_groups(
    spark: SparkSession, groups: Sequence[RowGroup], task: Callable[[RowGroup], T]
) -> list[T]:
    """``task(group)`` for every group, one Spark task each; the results in row order."""
    if not groups:
        return []
    rdd = spark.sparkContext.parallelize(list(groups), len(groups))
    return rdd.map(task).collect()


class PartWriter:
    """A part file written table by table under a temporary name, put in place by
    :meth:`commit`: a retried or speculative copy of the task never leaves a half-written part
    behind, and an abandoned one leaves nothing (readers skip the dot-named temporary)."""

    def __init__(self, directory: str, name: str) -> None:
        self.target = Path(directory) / name
        self.partial = self.target.with_name(f".{name}.{os.getpid()}.partial")
        self.writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table, **options: Any) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.partial, table.schema, **options)
        self.writer.write_table(table.cast(self.writer.schema))

    def commit(self) -> None:
        if self.writer is not None:
            self.writer.close()
            os.replace(self.partial, self.target)

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.partial.unlink(missing_ok=True)


def write_part(table: pa.Table, directory: str, name: str, **options: Any) -> None:
    """``table`` as one part file (see :class:`PartWriter`)."""
    part = PartWriter(directory, name)
    part.write(table, **options)
    part.commit()
