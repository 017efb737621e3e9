"""Stage `generate`: write the deterministic synthetic churn table to Parquet, block by block."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from mlgate import log, paths
from mlgate.data.generate import BLOCK_ROWS, iter_blocks
from mlgate.io import atomic_path
from mlgate.params import load_params
from mlgate.stage import run

OUT = paths.SYNTHETIC


def main() -> None:
    params = load_params().generate
    with atomic_path(OUT) as tmp, log.progress() as bar:
        task = bar.add_task("generating rows", total=params.n_rows)
        writer = None
        for block in iter_blocks(params):
            table = pa.Table.from_pandas(block, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=BLOCK_ROWS)
            bar.advance(task, len(block))
        assert writer is not None
        writer.close()
    log.info(f"generate: wrote {params.n_rows:,} synthetic rows (seed {params.seed}) to {OUT}")


if __name__ == "__main__":
    run(main)
