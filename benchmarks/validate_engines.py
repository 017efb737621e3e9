"""Benchmark: the whole `validate` stage process, local engine vs Spark ``local[2]``.

One generated churn table (clean, the project's generator) as one Parquet file; each engine
runs ``stages/validate.py`` in its own process in a scratch directory (params.yaml and the
contract copied), once, wall clock and the driver's peak RSS (the Spark executors run in the
JVM and Python workers, not counted there). The Spark run includes starting the JVM. Both
outputs are read back and compared (same rows, order, dtypes), and the ratio printed.

Run: .venv/bin/python benchmarks/validate_engines.py [--rows 1000000] [--record]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import machine_line, record, run_measured  # noqa: E402

from mlgate.data.generate import generate  # noqa: E402
from mlgate.params import GenerateParams  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _scratch(base: Path, engine: str, source: Path) -> Path:
    work = base / engine
    (work / "contracts").mkdir(parents=True)
    shutil.copy2(ROOT / "contracts" / "churn.yaml", work / "contracts" / "churn.yaml")
    (work / "data").mkdir()
    (work / "data" / "source.parquet").symlink_to(source)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["data"]["source"] = "data/source.parquet"
    params["data"]["allow_external_source"] = True  # the symlink points into the scratch base
    params["compute"]["engine"] = engine
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return work


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        source = base / "source.parquet"
        generate(GenerateParams(n_rows=args.rows)).to_parquet(source)
        times = {}
        for engine in ("local", "spark"):
            work = _scratch(base, engine, source)
            cmd = [sys.executable, str(ROOT / "stages" / "validate.py")]
            wall, peak, proc = run_measured(cmd, cwd=work)
            if proc.returncode != 0:
                raise SystemExit(f"{engine}: exited {proc.returncode}\n{proc.stderr[-3000:]}")
            times[engine] = (wall, peak)
        local = pd.read_parquet(base / "local" / "data" / "validated.parquet")
        spark = pd.read_parquet(base / "spark" / "data" / "validated.parquet")
        pd.testing.assert_frame_equal(spark, local, check_exact=True)
    (lw, lp), (sw, sp) = times["local"], times["spark"]
    body = (
        f"### validate stage, local vs spark local[2] ({args.rows:,} rows, one run each)\n\n"
        f"{machine_line(('pandas', 'pyarrow', 'pandera', 'pyspark'))}\n\n"
        "| engine | wall s | driver peak RSS MiB |\n|---|---:|---:|\n"
        f"| local | {lw:.1f} | {lp:.0f} |\n| spark local[2] | {sw:.1f} | {sp:.0f} |\n\n"
        f"spark / local wall: {sw / lw:.1f}x; validated tables identical.\n"
    )
    if args.record:
        record("validate_engines", body)
    else:
        print(body)


if __name__ == "__main__":
    main()
