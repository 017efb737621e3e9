"""Write the synthetic churn table at any size as a Parquet dataset directory, chunk by chunk.

The rows are exactly those of the pipeline's `generate` stage for the same (seed, rows):
mlgate.data.generate makes block ``b`` (``BLOCK_ROWS`` = 1,000,000 rows) from the seed
``(seed, b)`` with ids ``ID_OFFSET + b * BLOCK_ROWS + 0..n-1``, so blocks are independent,
deterministic, and their id ranges are disjoint: customer_id is unique across part files.
Each part file holds ``--blocks-per-part`` consecutive blocks (one row group per block) and
memory stays bounded by one block plus the Parquet writer's buffer.

Layouts: ``dir`` (default) writes ``OUT/part-00000.parquet`` ...; ``file`` writes one Parquet
file ``OUT`` (byte-for-byte the table the `generate` stage writes), for an engine whose reader
takes single files only. ``OUT/_mlgate_big_data.json`` (``OUT.json`` for ``file``) records
rows, seed and layout: a later call with the same ones reuses the data instead of rewriting it.
The output appears atomically (written under a temporary name, then renamed).

Run: .venv/bin/python benchmarks/big_data.py --rows 100000000 --out /tmp/mlgate-big/rows-1e8
     [--seed 42] [--layout dir|file] [--blocks-per-part 1] [--no-record]
It prints, and records in results.md (section big_data), rows/s and bytes/row.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from record import machine_line, record  # noqa: E402

from mlgate.data.generate import BLOCK_ROWS, check_knobs, generate_block  # noqa: E402
from mlgate.params import GenerateParams, load_params  # noqa: E402

MANIFEST = "_mlgate_big_data.json"  # leading "_": Spark and pyarrow datasets skip the file


def generate_params(rows: int, seed: int) -> GenerateParams:
    """The project's default `generate` parameters with ``rows`` and ``seed`` swapped in."""
    defaults = load_params(HERE.parent / "params.yaml").generate
    params = dataclasses.replace(defaults, n_rows=rows, seed=seed)
    check_knobs(params)
    return params


def manifest_path(out: Path, layout: str) -> Path:
    return out / MANIFEST if layout == "dir" else out.with_name(out.name + ".json")


def existing(out: Path, layout: str, rows: int, seed: int) -> dict | None:
    """The manifest of data already at ``out`` for the same rows/seed/layout, else None."""
    path = manifest_path(out, layout)
    if not path.exists():
        return None
    info = json.loads(path.read_text())
    same = (info.get("rows"), info.get("seed"), info.get("layout")) == (rows, seed, layout)
    return info if same else None


def _blocks(params: GenerateParams):
    for block, start in enumerate(range(0, params.n_rows, BLOCK_ROWS)):
        yield block, generate_block(params, block, min(BLOCK_ROWS, params.n_rows - start))


def write(out: Path, params: GenerateParams, layout: str, blocks_per_part: int) -> int:
    """Write the table to ``out`` (a temporary sibling first); return bytes written."""
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
    if layout == "dir":
        tmp.mkdir(parents=True)
    writer, part = None, -1
    for block, frame in _blocks(params):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        del frame
        if writer is None or (layout == "dir" and block // blocks_per_part != part):
            if writer is not None:
                writer.close()
            part = block // blocks_per_part
            target = tmp / f"part-{part:05d}.parquet" if layout == "dir" else tmp
            writer = pq.ParquetWriter(target, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=BLOCK_ROWS)
        done = min((block + 1) * BLOCK_ROWS, params.n_rows)
        print(f"\r  {done:,} / {params.n_rows:,} rows", end="", flush=True)
    assert writer is not None
    writer.close()
    print()
    files = sorted(tmp.glob("*.parquet")) if tmp.is_dir() else [tmp]
    size = sum(p.stat().st_size for p in files)
    if out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    tmp.rename(out)
    return size


def make(
    rows: int, out: Path, *, seed: int = 42, layout: str = "dir", blocks_per_part: int = 1
) -> dict:
    """Write (or reuse) the table; return its manifest, with the writing speed."""
    info = existing(out, layout, rows, seed)
    if info is not None:
        print(f"big_data: reusing {out} ({rows:,} rows, seed {seed}, {layout})")
        return {**info, "reused": True}
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    size = write(out, generate_params(rows, seed), layout, blocks_per_part)
    seconds = time.perf_counter() - start
    info = {
        "rows": rows,
        "seed": seed,
        "layout": layout,
        "parts": -(-rows // (BLOCK_ROWS * blocks_per_part)) if layout == "dir" else 1,
        "bytes": size,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
    }
    manifest_path(out, layout).write_text(json.dumps(info, indent=1))
    return {**info, "reused": False}


def report(info: dict) -> str:
    return "\n".join(
        [
            "## big_data: the synthetic table as a chunked Parquet dataset",
            "",
            f"Machine: {machine_line(('numpy', 'pandas', 'pyarrow'))}; load average (1, 5, 15 "
            f"min) at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}: other jobs "
            "share the machine, an idle core writes faster.",
            "",
            "| rows | layout | parts | bytes on disk | bytes/row | seconds | rows/s (1 core) |",
            "|---:|---|---:|---:|---:|---:|---:|",
            f"| {info['rows']:,} | {info['layout']} | {info['parts']} | {info['bytes']:,} | "
            f"{info['bytes'] / info['rows']:.1f} | {info['seconds']:.1f} | "
            f"{info['rows_per_s']:,} |",
            "",
            "One process, one block (1,000,000 rows) in memory at a time, zstd Parquet; the "
            "rows are those the `generate` stage writes for the same seed and size.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=lambda s: int(float(s)), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--layout", choices=("dir", "file"), default="dir")
    parser.add_argument("--blocks-per-part", type=int, default=1)
    parser.add_argument("--no-record", action="store_true", help="do not touch results.md")
    args = parser.parse_args()
    if args.rows < 1 or args.blocks_per_part < 1:
        parser.error("--rows and --blocks-per-part must be >= 1")
    per_part = args.blocks_per_part
    info = make(args.rows, args.out, seed=args.seed, layout=args.layout, blocks_per_part=per_part)
    print(json.dumps(info))
    if not info["reused"] and not args.no_record:
        record("big_data", report(info))


if __name__ == "__main__":
    main()
