"""Stage `validate`: check the data source against the contract; stop the pipeline on failure.

With ``compute.engine: spark`` the same checks run on Spark (:mod:`mlgate.spark.validate`,
imported only then) and the validated table is a directory of Parquet parts, in row order.

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
from typing import Any, NoReturn

import pyarrow as pa

from mlgate import log, paths
from mlgate.data.ingest import binarise_target, read_table
from mlgate.engine import ENGINE_KEY, engine_record
from mlgate.errors import ContractViolation
from mlgate.io import atomic_directory, atomic_write, write_json, write_parquet
from mlgate.params import Params, load_params
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
    if params.compute.engine == "spark":
        return _main_spark(params)
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
    metrics = _metrics(params, result.n_rows, int(frame.shape[1]), result.summary)
    atomic_write(OUT_FAILURES, lambda p: result.failure_cases.to_csv(p, index=False))
    if not result.passed:
        _fail(params, metrics)
    assert result.validated is not None
    clean = binarise_target(
        result.validated, target=params.data.target, positive_label=params.data.positive_label
    )
    # Its one reader, the split stage, reads it whole: row-group statistics would go unused.
    write_parquet(OUT_DATA, clean, statistics=False, plain_columns=[params.data.id_column])
    write_json(OUT_METRICS, metrics)
    _done(params, result.n_rows)
    return 0


def _main_spark(params: Params) -> int:
    """The same outputs computed on Spark; the validated table is a directory of parts."""
    from mlgate.data.contract import load_contract
    from mlgate.data.contract_batches import split_contract
    from mlgate.data.contract_failures import summarise
    from mlgate.data.ingest import no_positive_error
    from mlgate.spark.session import spark_session
    from mlgate.spark.validate import target_values, validate_source

    schema = load_contract(params.contract.path)
    split = split_contract(schema, origin=params.contract.path)
    spark = spark_session(params.compute, app="validate")
    source = params.data.source
    # The parts land in a directory beside the output, swapped in only when all passed: a
    # failed or killed run leaves the previous validated table in place.
    with atomic_directory(OUT_DATA) as parts:
        result = validate_source(
            spark,
            source,
            split,
            na_values=params.data.na_values,
            target=params.data.target,
            positive_label=params.data.positive_label,
            id_column=params.data.id_column,
            out_dir=parts,
        )
        summary = summarise(result.failure_cases, params.contract.max_examples)
        metrics = _metrics(params, result.n_rows, result.n_columns, summary)
        atomic_write(OUT_FAILURES, lambda p: result.failure_cases.to_csv(p, index=False))
        if not result.passed:
            _fail(params, metrics)
        if result.positives == 0:
            seen = target_values(spark, source, params.data.target)
            raise no_positive_error(params.data.target, params.data.positive_label, seen)
    write_json(OUT_METRICS, metrics)
    _done(params, result.n_rows)
    return 0


def _metrics(
    params: Params, n_rows: int, n_columns: int, summary: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "passed": not summary,
        "n_rows": n_rows,
        "n_columns": n_columns,
        "contract": params.contract.path,
        "source": params.data.source,
        "n_failed_checks": len(summary),
        "failures": summary,
        ENGINE_KEY: engine_record(params.compute),
    }


def _fail(params: Params, metrics: dict[str, Any]) -> NoReturn:
    summary = metrics["failures"]
    write_json(OUT_METRICS, metrics)
    print_validation_failures(summary, source=params.data.source)
    # Name the broken columns in the one line CI shows; the table above may be folded.
    broken = "; ".join(f"{s['column']}: {s['check']}" for s in summary[:5])
    more = f"; {len(summary) - 5} more" if len(summary) > 5 else ""
    raise ContractViolation(
        f"{params.data.source} violates {params.contract.path}: "
        f"{len(summary)} failed check(s) ({broken}{more}), details in {OUT_FAILURES}"
    )


def _done(params: Params, n_rows: int) -> None:
    log.info(
        f"validate: {n_rows:,} rows of {params.data.source} pass "
        f"{params.contract.path}; wrote {OUT_DATA}"
    )


if __name__ == "__main__":
    run(main)
