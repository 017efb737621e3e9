"""Parquet that Spark can read: nanosecond timestamps become microseconds in a scratch copy.

pandas writes ``datetime64[ns]`` as Parquet ``TIMESTAMP(NANOS)``, which Spark refuses
(PARQUET_TYPE_ILLEGAL). Tables written by the local engine (a validated table, a champion's
training data) can reach a Spark stage because switching engine leaves dvc.lock valid; they are
copied batch by batch (bounded memory) with those columns cast to microseconds, Spark's own
resolution. Sub-microsecond parts would be truncated (the cast refuses to lose them silently:
it raises instead).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mlgate.data.sample import parquet_files


def micros(schema: pa.Schema) -> pa.Schema | None:
    """``schema`` with ns timestamps as us, or None when it has none."""
    fields = [
        f.with_type(pa.timestamp("us", tz=f.type.tz))
        if pa.types.is_timestamp(f.type) and f.type.unit == "ns"
        else f
        for f in schema
    ]
    target = pa.schema(fields, metadata=schema.metadata)
    return None if target.equals(schema) else target


def spark_readable(path: str, scratch: Path) -> str:
    """``path`` itself, or a copy under ``scratch`` with ns timestamps cast to us."""
    files = parquet_files(path)
    targets = [micros(pq.read_schema(f)) for f in files]
    if all(t is None for t in targets):
        return path
    scratch.mkdir(parents=True, exist_ok=True)
    for i, (file, target) in enumerate(zip(files, targets, strict=True)):
        with pq.ParquetFile(file) as source:
            schema = target or source.schema_arrow
            with pq.ParquetWriter(scratch / f"part-{i:05d}.parquet", schema) as sink:
                for batch in source.iter_batches(batch_size=65_536):
                    sink.write_table(pa.Table.from_batches([batch]).cast(schema))
    return str(scratch)
