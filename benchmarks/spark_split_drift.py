"""Benchmark: split and drift, local engine vs Spark local[2], and the sample reader's memory.

One run each (ratios in one run, as issue 18 asks), on the synthetic table:

* split: read data/validated-like Parquet, hash, write train/holdout (local: two files; Spark:
  two datasets). Spark's session start is timed apart (paid once per stage process).
* drift: the report between two tables of N rows (local: as_drift_frame + drift_report on
  pandas; Spark: spark_drift_report), also asserting both reports are equal.
* sample reader: peak RSS of a fresh process that reads a big Parquet file with
  ``read_sample`` (N = 200,000) vs ``pd.read_parquet`` of the whole file.

Run: .venv/bin/python benchmarks/spark_split_drift.py [--rows 1000000] [--big 5000000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from mlgate.data.generate import generate
from mlgate.data.split import holdout_mask
from mlgate.params import ComputeParams, DriftParams, GenerateParams, SparkParams, load_params

SALT, FRACTION = "mlgate-v1", 0.3


def _timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _split_local(src: Path, out: Path) -> None:
    frame = pd.read_parquet(src)
    mask = holdout_mask(frame["customer_id"], fraction=FRACTION, salt=SALT)
    frame[~mask].to_parquet(out / "train_local.parquet", index=False, compression="zstd")
    frame[mask].to_parquet(out / "holdout_local.parquet", index=False, compression="zstd")


def _split_spark(spark, src: Path, out: Path) -> None:  # type: ignore[no-untyped-def]
    from mlgate.spark.split import split_source

    train, holdout = str(out / "train_spark.parquet"), str(out / "holdout_spark.parquet")
    split_source(
        spark,
        str(src),
        train,
        holdout,
        id_column="customer_id",
        target="churned",
        fraction=FRACTION,
        salt=SALT,
        check=lambda a, b: None,
    )


def _peak_rss(code: str) -> float:
    """Peak RSS in MiB of a fresh interpreter running ``code`` (its own, reported by itself)."""
    # VmHWM, not getrusage: Linux keeps ru_maxrss across execve, so a child would report
    # this (large) benchmark process's peak.
    report = (
        "\nimport re; print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code + report], check=True, capture_output=True, text=True
    )
    return int(out.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=5_000_000)
    args = parser.parse_args()
    features = load_params("params.yaml").features
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        generate(GenerateParams(n_rows=args.rows, seed=1)).to_parquet(tmp / "v.parquet")
        generate(GenerateParams(n_rows=args.rows, seed=2)).to_parquet(tmp / "ref.parquet")
        from mlgate.drift.reference import _local_report
        from mlgate.spark.drift import spark_drift_report
        from mlgate.spark.session import spark_session

        t_local_split, _ = _timed(lambda: _split_local(tmp / "v.parquet", tmp))
        compute = ComputeParams(engine="spark", spark=SparkParams(master="local[2]"))
        t_session, spark = _timed(lambda: spark_session(compute, app="bench"))
        t_spark_split, _ = _timed(lambda: _split_spark(spark, tmp / "v.parquet", tmp))
        cfg, ref, cur = DriftParams(), str(tmp / "ref.parquet"), str(tmp / "v.parquet")
        t_local_drift, local = _timed(lambda: _local_report(ref, cur, features, cfg))
        t_spark_drift, remote = _timed(lambda: spark_drift_report(spark, ref, cur, features, cfg))
        assert local == remote, "drift reports differ"
        spark.stop()
        print(f"rows {args.rows:,}; spark session start {t_session:.1f} s")
        for name, a, b in (
            ("split", t_local_split, t_spark_split),
            ("drift", t_local_drift, t_spark_drift),
        ):
            print(f"{name}: local {a:.1f} s, spark local[2] {b:.1f} s, spark/local {b / a:.2f}")
        big = tmp / "big.parquet"
        generate(GenerateParams(n_rows=args.big, seed=3)).to_parquet(big)
        base = "import pandas as pd; from mlgate.data.sample import read_sample\n"
        rss_sample = _peak_rss(
            base + f"read_sample({str(big)!r}, id_column='customer_id', n=200_000, salt='s')"
        )
        rss_pandas = _peak_rss(base + f"pd.read_parquet({str(big)!r})")
        rss_import = _peak_rss(base)
        print(
            f"peak RSS on {args.big:,} rows: read_sample(n=200,000) {rss_sample:.0f} MiB, "
            f"pd.read_parquet {rss_pandas:.0f} MiB (imports alone {rss_import:.0f} MiB), "
            f"ratio {rss_pandas / rss_sample:.1f}"
        )


if __name__ == "__main__":
    main()
