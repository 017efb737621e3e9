"""Stage `validate`: check the data source against the contract; stop the pipeline on failure.

On success it writes the validated table (target as 0/1) and metrics/validation.json. On
failure it prints a table of what broke, writes metrics/validation.json with ``passed: false``
and every failure case to metrics/validation_failures.csv, and exits 1 so nothing downstream runs.
"""

from __future__ import annotations

import os

# numpy asks the kernel for transparent huge pages on every array of 4 MiB or more; turned
# off, this stage measured 0.1-0.2 s less CPU at 10 million rows (interleaved runs). numpy
# reads the variable once, at import, and pyarrow imports numpy: hence before every other
# import (E402 is waived for this file in pyproject.toml).
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

import sys
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from mlgate import log, paths
from mlgate.data.ingest import binarise_target, read_table
from mlgate.errors import ContractViolation
from mlgate.io import atomic_write, write_json, write_parquet
from mlgate.params import load_params
from mlgate.report_tables import print_validation_failures
from mlgate.stage import run

# pandera imports hypothesis, its optional data-synthesis extra (here a test dependency),
# whenever it is installed: 0.5 s of CPU. This process never synthesises data; a None entry
# makes the import fail, which pandera takes as "not installed". Not in mlgate.data.contract:
# a test process importing that module must still be able to use hypothesis.
sys.modules.setdefault("hypothesis", None)

OUT_DATA = paths.VALIDATED
OUT_METRICS = paths.VALIDATION
OUT_FAILURES = paths.VALIDATION_FAILURES


def main() -> int:
    params = load_params()
    # Arrow's default allocator (mimalloc) cost 2-3 s of system time reading 10 million rows
    # on this machine kind; the system allocator about 0.6 s, at the same speed otherwise.
    pa.set_memory_pool(pa.system_memory_pool())
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Parquet decoding runs in C++ without the GIL, so it overlaps with importing pandera
        # (pure Python, ~0.5 s). The contract is still checked before any data error surfaces.
        reading = pool.submit(read_table, params.data.source, na_values=params.data.na_values)
        from mlgate.data.contract import load_contract, validate

        schema = load_contract(params.contract.path)
        frame = reading.result()
    with log.console.status(f"validating {len(frame):,} rows against {params.contract.path}"):
        result = validate(frame, schema, max_examples=params.contract.max_examples)
    metrics = {
        "passed": result.passed,
        "n_rows": result.n_rows,
        "n_columns": int(frame.shape[1]),
        "contract": params.contract.path,
        "source": params.data.source,
        "n_failed_checks": len(result.summary),
        "failures": result.summary,
    }
    atomic_write(OUT_FAILURES, lambda p: result.failure_cases.to_csv(p, index=False))
    if not result.passed:
        write_json(OUT_METRICS, metrics)
        print_validation_failures(result.summary, source=params.data.source)
        # Name the broken columns in the one line CI shows; the table above may be folded.
        broken = "; ".join(f"{s['column']}: {s['check']}" for s in result.summary[:5])
        more = f"; {len(result.summary) - 5} more" if len(result.summary) > 5 else ""
        raise ContractViolation(
            f"{params.data.source} violates {params.contract.path}: "
            f"{len(result.summary)} failed check(s) ({broken}{more}), details in {OUT_FAILURES}"
        )
    assert result.validated is not None
    clean = binarise_target(
        result.validated, target=params.data.target, positive_label=params.data.positive_label
    )
    # Its one reader, the split stage, reads it whole: row-group statistics would go unused.
    write_parquet(OUT_DATA, clean, statistics=False, plain_columns=[params.data.id_column])
    write_json(OUT_METRICS, metrics)
    log.info(
        f"validate: {len(frame):,} rows of {params.data.source} pass "
        f"{params.contract.path}; wrote {OUT_DATA}"
    )
    return 0


if __name__ == "__main__":
    run(main)
