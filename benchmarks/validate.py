"""Benchmark: contract validation (the `validate` stage) at 1e5, 1e6 and 1e7 rows.

Compared on the same Parquet files, each tool in its own process:

* **numpy floor**: hand-written vectorised checks of the same rules (numpy for numbers,
  pyarrow.compute ``value_counts`` for the Arrow-backed string columns), on the same in-memory
  frame the stage validates. The least work these rules can cost.
* **mlgate**: ``mlgate.data.contract.validate`` (pass prover + pandera on what it cannot clear).
* **pandera alone**: ``validate(..., fast=False)``, i.e. ``schema.validate(lazy=True)``: the
  execution before this benchmark's issue.
* **Great Expectations 1.x**: the same rules as GX expectations (ExpectColumnValuesToBeUnique,
  ...ToNotBeNull, ...ToBeBetween, ...ToBeInSet, ...ToMatchRegex, ...ToBeInTypeList,
  ExpectColumnMeanToBeBetween, ExpectTableRowCountToBeBetween, ExpectTableColumnsToMatchSet).
  GX needs pandas < 3, so it runs from its own venv (default /tmp/gx-venv, created by
  ``python -m venv /tmp/gx-venv && /tmp/gx-venv/bin/pip install "great_expectations>=1,<2"
  "pandas<3" pyarrow``); it is never a dependency of mlgate. Without that venv its columns
  say "not installed".

The step is timed with the data already in memory: one warm-up run, then the median of
``--repeat`` runs, wall clock and process CPU time. Peak memory of the step is the growth of
the process's high-water mark (reset through /proc/self/clear_refs) over the loaded data.
Then the whole ``validate`` stage process (imports, reading, validation, writing outputs) is
timed before (the stage and library at BASELINE_COMMIT) and after (the working tree). Finally
all tools validate one corrupted table and their failure counts per (column, check) are
compared.

This file doubles as the worker for each tool, so its top level imports only the standard
library. Run: .venv/bin/python benchmarks/validate.py [--sizes 1e5 1e6 1e7] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORKDIR = Path("/tmp/mlgate-validate-bench")
GX_PYTHON = Path("/tmp/gx-venv/bin/python")
BASELINE_COMMIT = "e194e44"  # stage + contract + ingest as they were before this work
CORRUPT_ROWS = 1_000_000

# The rules of contracts/churn.yaml, written out by hand for the floor and for GX.
COLUMNS = {
    "customer_id": "int64",
    "signup_date": "datetime",
    "tenure_months": "int64",
    "monthly_spend": "float64",
    "contract_type": "str",
    "is_enterprise": "bool",
    "region": "str",
    "city": "str",
    "support_tickets": "int64",
    "churned": "int64",
}
RANGES = {
    "tenure_months": (0, 120),
    "monthly_spend": (0.0, 5000.0),
    "support_tickets": (0, 50),
}
SETS: dict[str, list[Any]] = {
    "contract_type": ["monthly", "annual", "multi-year"],
    "region": ["north", "south", "east", "west"],
    "churned": [0, 1],
}
CITY_PATTERN = r"^city_\d{3}$"
MEANS = {"tenure_months": (6.0, 60.0), "monthly_spend": (30.0, 150.0)}
SHARE = ("churned", 1, 0.05, 0.6)
MIN_ROWS = 1000
TABLE = "<table>"
STEP_HEADER = (
    "| rows | floor wall / CPU (s) | mlgate wall / CPU (s) | pandera alone wall / CPU (s) "
    "| GX wall / CPU (s) | mlgate vs floor | pandera alone vs mlgate | GX vs mlgate "
    "| step peak MiB floor / mlgate / pandera / GX |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


# --------------------------------------------------------------------------- measuring


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    # Linux: writing 5 resets the high-water mark (VmHWM) to the current RSS.
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")


def _measure(step, repeat: int) -> dict[str, Any]:
    """Warm-up run (its memory growth is the step's peak), then ``repeat`` timed runs."""
    rss = _status_kib("VmRSS")
    _reset_peak()
    result = step()
    peak = _status_kib("VmHWM")
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "step_peak_mib": (peak - rss) / 1024,
        "data_rss_mib": rss / 1024,
        "result": result,
    }


# --------------------------------------------------------------------------- workers


def _floor(frame) -> dict[tuple[str, str], int]:
    """Hand-written vectorised checks of the contract's rules: failing rows per check."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    out: dict[tuple[str, str], int] = {}

    def fail(column: str, check: str, count: int) -> None:
        if count:
            out[(column, check)] = int(count)

    present = set(frame.columns)
    for name in COLUMNS.keys() - present:
        fail(name, "column_present", 1)
    for name in present - COLUMNS.keys():
        fail(name, "not_in_contract", 1)
    for name, kind in COLUMNS.items():
        if name not in present:
            continue
        series = frame[name]
        dtype = series.dtype
        ok = {
            "str": isinstance(dtype, pd.StringDtype),
            "datetime": dtype.kind == "M",
            "bool": dtype == np.bool_,
        }.get(kind, dtype == kind)
        fail(name, "dtype", 0 if ok else 1)
        fail(name, "not_null", int(series.isna().sum()) if series.hasnans else 0)
    n = len(frame)
    ids = frame["customer_id"].to_numpy()
    if n > 1 and not (ids[1:] > ids[:-1]).all():
        ordered = np.sort(ids)
        dup_values = ordered[1:][ordered[1:] == ordered[:-1]]
        fail("customer_id", "unique", int(np.isin(ids, dup_values).sum()))
    for name, (low, high) in RANGES.items():
        values = frame[name].to_numpy()
        fail(name, "in_range", int(((values < low) | (values > high)).sum()))
    churned = frame["churned"].to_numpy()
    fail("churned", "isin", int(((churned != 0) & (churned != 1)).sum()))
    # Strings: one hash pass per column gives every distinct value with its count; the rules
    # then run on the few distinct values instead of on every row.
    pattern = re.compile(CITY_PATTERN)
    for name, rule in (
        ("contract_type", lambda v: v in SETS["contract_type"]),
        ("region", lambda v: v in SETS["region"]),
        ("city", lambda v: pattern.match(v) is not None),
    ):
        counts = pc.value_counts(pa.array(frame[name])).to_pylist()
        bad = sum(c["counts"] for c in counts if c["values"] is not None and not rule(c["values"]))
        fail(name, "str_matches" if name == "city" else "isin", bad)
    fail(TABLE, "min_rows", int(n < MIN_ROWS))
    for name, (low, high) in MEANS.items():
        mean = np.nanmean(frame[name].to_numpy(dtype=float)) if n else np.nan
        fail(name, "mean_between", int(not (np.isfinite(mean) and low <= mean <= high)))
    column, value, low, high = SHARE
    share = float((frame[column].to_numpy() == value).mean()) if n else np.nan
    fail(column, "share_between", int(not (low <= share <= high)))
    return out


_MLGATE_CHECKS = [
    ("not_nullable", "not_null"),
    ("unique_values", "unique"),
    ("in_range", "in_range"),
    ("isin", "isin"),
    ("str_matches", "str_matches"),
    ("dtype", "dtype"),
    ("column_in_dataframe", "column_present"),
    ("column_in_schema", "not_in_contract"),
    ("min_rows", "min_rows"),
    ("column_mean_between", "mean_between"),
    ("value_share_between", "share_between"),
]


def _mlgate_counts(summary: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for item in summary:
        check = next(canon for prefix, canon in _MLGATE_CHECKS if item["check"].startswith(prefix))
        column = item["column"]
        if column == TABLE and check != "min_rows":
            column = re.search(r"column=(\w+)", item["check"]).group(1)
        dataset_level = item["examples"] and item["examples"][0]["row"] is None
        out[(column, check)] = 1 if dataset_level else item["failing_rows"]
    return out


def _gx_suite(gx, gxe, context, *, types: bool = True):
    suite = context.suites.add(gx.ExpectationSuite(name="churn"))
    add = suite.add_expectation
    add(gxe.ExpectTableColumnsToMatchSet(column_set=list(COLUMNS), exact_match=True))
    add(gxe.ExpectTableRowCountToBeBetween(min_value=MIN_ROWS))
    type_lists = {
        "int64": ["int64"],
        "float64": ["float64"],
        "bool": ["bool"],
        "str": ["object", "str", "string"],
        "datetime": ["datetime64[ms]", "datetime64[ns]", "datetime64[us]"],
    }
    for name, kind in COLUMNS.items():
        add(gxe.ExpectColumnValuesToNotBeNull(column=name))
        if types:
            add(gxe.ExpectColumnValuesToBeInTypeList(column=name, type_list=type_lists[kind]))
    add(gxe.ExpectColumnValuesToBeUnique(column="customer_id"))
    for name, (low, high) in RANGES.items():
        add(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=low, max_value=high))
    for name, values in SETS.items():
        add(gxe.ExpectColumnValuesToBeInSet(column=name, value_set=values))
    add(gxe.ExpectColumnValuesToMatchRegex(column="city", regex=CITY_PATTERN))
    for name, (low, high) in MEANS.items():
        add(gxe.ExpectColumnMeanToBeBetween(column=name, min_value=low, max_value=high))
    # GX has no "share of rows equal to a value"; for a column that is 0/1 (checked by the
    # set expectation) the share of 1 is the mean.
    column, _, low, high = SHARE
    add(gxe.ExpectColumnMeanToBeBetween(column=column, min_value=low, max_value=high))
    return suite


_GX_CHECKS = {
    "expect_column_values_to_not_be_null": "not_null",
    "expect_column_values_to_be_in_type_list": "dtype",
    "expect_column_values_to_be_unique": "unique",
    "expect_column_values_to_be_between": "in_range",
    "expect_column_values_to_be_in_set": "isin",
    "expect_column_values_to_match_regex": "str_matches",
    "expect_column_mean_to_be_between": "mean_between",
    "expect_table_row_count_to_be_between": "min_rows",
    "expect_table_columns_to_match_set": "columns_match",
}


def _gx_counts(results) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for res in results.results:
        if res.success:
            continue
        config = res.expectation_config
        check = _GX_CHECKS[config.type]
        column = config.kwargs.get("column") or TABLE
        if (column, check) == (SHARE[0], "mean_between"):
            check = "share_between"
        count = res.result.get("unexpected_count")
        out[(column, check)] = int(count) if count else 1
    return out


def worker(tool: str, path: str, repeat: int) -> dict[str, Any]:
    start = time.perf_counter()
    if tool in ("gx", "gx_notypes"):
        import great_expectations as gx
        import great_expectations.expectations as gxe
        import pandas as pd

        import_s = time.perf_counter() - start
        frame = pd.read_parquet(path)
        context = gx.get_context(mode="ephemeral")
        batch = (
            context.data_sources.add_pandas("bench")
            .add_dataframe_asset("churn")
            .add_batch_definition_whole_dataframe("all")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        suite = _gx_suite(gx, gxe, context, types=tool == "gx")
        measured = _measure(lambda: batch.validate(suite, result_format="BASIC"), repeat)
        counts = _gx_counts(measured.pop("result"))
        version = gx.__version__ + ", pandas " + pd.__version__
    else:
        from mlgate.data.contract import load_contract, validate
        from mlgate.data.ingest import read_table

        import_s = time.perf_counter() - start
        frame = read_table(path)
        schema = load_contract(REPO / "contracts" / "churn.yaml")
        if tool == "floor":
            measured = _measure(lambda: _floor(frame), repeat)
            counts = measured.pop("result")
        else:
            fast = tool == "mlgate"
            measured = _measure(lambda: validate(frame, schema, fast=fast), repeat)
            counts = _mlgate_counts(measured.pop("result").summary)
        version = ""
    return {
        **measured,
        "import_s": import_s,
        "counts": [[c, k, v] for (c, k), v in sorted(counts.items())],
        "version": version,
    }


def run_worker(tool: str, path: Path, repeat: int) -> dict[str, Any] | None:
    python = GX_PYTHON if tool.startswith("gx") else Path(sys.executable)
    if not python.exists():
        return None
    cmd = [str(python), __file__, "--worker", tool, str(path), "--repeat", str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- data


def make_data(n_rows: int, *, corrupt: bool = False) -> Path:
    """The stage's own synthetic table as Parquet (cached); ``corrupt`` breaks every rule kind."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlgate.data.generate import BLOCK_ROWS, iter_blocks
    from mlgate.params import CorruptionParams, DriftKnobs, GenerateParams, NumericDrift

    WORKDIR.mkdir(parents=True, exist_ok=True)
    path = WORKDIR / f"{'corrupt' if corrupt else 'clean'}_{n_rows}.parquet"
    if path.exists():
        return path
    params = GenerateParams(n_rows=n_rows)
    if corrupt:
        params = GenerateParams(
            n_rows=n_rows,
            corruption=CorruptionParams(
                null_rate=0.001,
                null_columns=("monthly_spend", "region", "city"),
                out_of_range_rate=0.001,
                unknown_category_rate=0.001,
                duplicate_id_rate=0.001,
            ),
            # Spend shifted so its mean leaves [30, 150]; every single value stays in range.
            drift=DriftKnobs(numeric={"monthly_spend": NumericDrift(shift=120.0)}),
        )
    rng = np.random.default_rng(7)
    writer = None
    tmp = path.with_suffix(".tmp")
    for block in iter_blocks(params):
        if corrupt:  # the generator has no knob for malformed strings or out-of-set targets
            block.loc[rng.random(len(block)) < 0.0005, "city"] = "town_7"
            block.loc[rng.random(len(block)) < 0.0005, "churned"] = 2
        table = pa.Table.from_pandas(block, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=BLOCK_ROWS)
    assert writer is not None
    writer.close()
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------- the stage process


def _baseline_tree() -> Path | None:
    """A fresh copy of src/ with the library files of BASELINE_COMMIT, and that commit's stage
    (rebuilt each run: the rest of the package must match today's params.yaml)."""
    root = WORKDIR / f"baseline-{BASELINE_COMMIT}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(REPO / "src", root / "src")
    (root / "stages").mkdir(parents=True)
    for rel in ("src/mlgate/data/contract.py", "src/mlgate/data/ingest.py", "stages/validate.py"):
        proc = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:{rel}"], capture_output=True, text=True, cwd=REPO
        )
        if proc.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            return None
        (root / rel).write_text(proc.stdout, encoding="utf-8")
    return root


def run_stage(data: Path, *, baseline: Path | None) -> dict[str, float]:
    """Run stages/validate.py as DVC would, in a scratch copy of the repo's stage inputs."""
    with tempfile.TemporaryDirectory(dir=WORKDIR) as tmp:
        work = Path(tmp)
        params = (REPO / "params.yaml").read_text(encoding="utf-8")
        params = re.sub(r"(?m)^(\s*source:).*$", rf"\1 {data}", params, count=1)
        (work / "params.yaml").write_text(params, encoding="utf-8")
        shutil.copytree(REPO / "contracts", work / "contracts")
        shutil.copytree((baseline or REPO) / "stages", work / "stages")
        env = dict(os.environ)
        if baseline is not None:
            env["PYTHONPATH"] = str(baseline / "src")
        cmd = ["/usr/bin/time", "-f", "%e %U %S %M", sys.executable, "stages/validate.py"]
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
        wall, user, system, peak_kib = proc.stderr.strip().splitlines()[-1].split()
        if proc.returncode != 0 or not (work / "data" / "validated.parquet").exists():
            raise RuntimeError(f"stage failed on {data}:\n{proc.stderr[-3000:]}")
        return {
            "wall": float(wall),
            "cpu": float(user) + float(system),
            "peak_mib": int(peak_kib) / 1024,
        }


def stage_median(data: Path, baseline: Path | None, repeat: int) -> dict[str, float]:
    runs = [run_stage(data, baseline=baseline) for _ in range(repeat)]
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


# --------------------------------------------------------------------------- report


def _fmt(res: dict[str, Any] | None) -> str:
    if res is None:
        return "not installed"
    return f"{res['wall']:.3f} / {res['cpu']:.3f}"


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    if a is None or b is None:
        return "n/a"
    return f"{a['wall'] / b['wall']:.1f}x / {a['cpu'] / b['cpu']:.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1e5", "1e6", "1e7"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stage-repeat", type=int, default=3)
    parser.add_argument("--worker", nargs=2, metavar=("TOOL", "PATH"))
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.repeat)))
        return

    sys.path.insert(0, str(REPO / "benchmarks"))
    from record import machine_line, record

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    sizes = [int(float(s)) for s in args.sizes]
    tools = ("floor", "mlgate", "pandera", "gx")
    step_rows, stage_rows, gx_version, gx_import = [], [], None, []
    gx_notypes: dict[str, Any] | None = None
    last_fast: dict[str, Any] | None = None
    baseline = _baseline_tree()
    for n in sizes:
        path = make_data(n)
        res = {tool: run_worker(tool, path, args.repeat) for tool in tools}
        if n == max(sizes):
            # Where GX's time goes: its type-list expectation checks every value of an
            # object column in Python; the same suite without the 10 type expectations.
            gx_notypes = run_worker("gx_notypes", path, args.repeat)
        for tool, r in res.items():
            print(n, tool, None if r is None else {k: r[k] for k in ("wall", "cpu")}, flush=True)
        if res["gx"] is not None:
            gx_version = res["gx"]["version"]
            gx_import.append(res["gx"]["import_s"])
        floor, fast, slow, gxr = (res[t] for t in tools)
        last_fast = fast
        mem = " / ".join(
            "n/a" if res[t] is None else f"{res[t]['step_peak_mib']:.0f}" for t in tools
        )
        step_rows.append(
            f"| {n:,} | {_fmt(floor)} | {_fmt(fast)} | {_fmt(slow)} | {_fmt(gxr)} "
            f"| {_ratio(fast, floor)} | {_ratio(slow, fast)} | {_ratio(gxr, fast)} | {mem} |"
        )
        before = stage_median(path, baseline, args.stage_repeat) if baseline else None
        after = stage_median(path, None, args.stage_repeat)
        print(n, "stage before", before, "after", after, flush=True)
        b = "n/a | n/a"
        if before is not None:
            b = f"{before['wall']:.2f} / {before['cpu']:.2f} | {before['peak_mib']:,.0f}"
        stage_rows.append(
            f"| {n:,} | {b} | {after['wall']:.2f} / {after['cpu']:.2f} "
            f"| {after['peak_mib']:,.0f} |"
        )

    bad = make_data(CORRUPT_ROWS, corrupt=True)
    counted = {tool: run_worker(tool, bad, 1) for tool in tools}
    tables = {tool: {(c, k): v for c, k, v in r["counts"]} for tool, r in counted.items() if r}
    keys = sorted(set().union(*tables.values()))
    fail_rows = []
    for key in keys:
        seen = [tables[t].get(key, 0) if t in tables else None for t in tools]
        present = [v for v in seen if v is not None]
        agree = "yes" if len(set(present)) == 1 else "**no**"
        cells = " | ".join("n/a" if v is None else f"{v:,}" for v in seen)
        fail_rows.append(f"| {key[0]} | {key[1]} | {cells} | {agree} |")
    corrupt_time = " / ".join(
        "n/a" if counted[t] is None else f"{counted[t]['wall']:.3f}" for t in tools
    )

    if gx_version and gx_notypes is not None:
        gx_line_extra = (
            f"\nGX without the 10 type-list expectations at {max(sizes):,} rows: "
            f"{_fmt(gx_notypes)} s wall / CPU ({_ratio(gx_notypes, last_fast)} of mlgate's)."
        )
    else:
        gx_line_extra = ""
    gx_line = (
        f"Great Expectations {gx_version} in {GX_PYTHON.parent.parent}; import "
        f"{statistics.median(gx_import):.1f} s (median over the size runs), not in the step time."
        if gx_version
        else f"Great Expectations: not installed ({GX_PYTHON} missing); no GX figures."
    )
    body = f"""## validate

{machine_line(("numpy", "pandas", "pandera", "pyarrow"))}
{gx_line}{gx_line_extra}
Shared machine, load average at start {load} (other jobs running): CPU = process CPU time,
less sensitive to the other jobs than the wall clock; read the ratios more than the seconds.

Validation step on the synthetic churn table (contracts/churn.yaml: 10 columns, 8 column
checks, 10 nullability and 10 dtype rules, strict, 4 table checks), data in memory, one
warm-up then median of {args.repeat}. "mlgate" = `validate()`: a pass prover (min/max for
range checks, distinct values for set/regex checks, pandera's own dtype/coercion/check
functions on those) clears what passes, pandera validates the rest. "pandera alone" =
`validate(fast=False)` = `schema.validate(lazy=True)`, the execution before. Floor = the same
rules hand-written with numpy and pyarrow.compute on the same frame. Step peak = growth of the
process high-water mark during the step, MiB.

{STEP_HEADER}
{chr(10).join(step_rows)}

Whole `validate` stage process (`python stages/validate.py` in a scratch copy: imports, read
Parquet, validate, write data/validated.parquet and metrics), median of {args.stage_repeat}.
Before = stage, contract.py and ingest.py at {BASELINE_COMMIT}; after = this tree.

| rows | before wall / CPU (s) | before peak RSS MiB | after wall / CPU (s) | after peak RSS MiB |
|---:|---:|---:|---:|---:|
{chr(10).join(stage_rows)}

Failure cases on a corrupted {CORRUPT_ROWS:,}-row table (0.1 % nulls in monthly_spend, region,
city; 0.1 % negative tenure, unknown contract type, duplicated ids; 0.05 % malformed city and
target 2; spend shifted +120 so its mean fails): failing rows per (column, check), 1 for a
failed table-level rule. Step wall time on it, floor / mlgate / pandera / GX: {corrupt_time} s.

| column | check | floor | mlgate | pandera alone | GX | agree |
|---|---|---:|---:|---:|---:|---|
{chr(10).join(fail_rows)}
"""
    record("validate", body)


if __name__ == "__main__":
    main()
