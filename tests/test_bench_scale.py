"""The issue-18 benchmark harness: chunked big data, process-tree RSS, the 1e9 estimate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import big_data  # noqa: E402
import proctree  # noqa: E402
import scale_report  # noqa: E402
import spark_scale  # noqa: E402

import mlgate.data.generate as gen  # noqa: E402
from mlgate.params import GenerateParams  # noqa: E402


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> int:
    # Blocks of 1,000 rows: the chunking logic at a test's size (the real block is 1e6).
    monkeypatch.setattr(gen, "BLOCK_ROWS", 1_000)
    monkeypatch.setattr(big_data, "BLOCK_ROWS", 1_000)
    return 1_000


def test_dataset_equals_generate_with_ids_unique_across_parts(small_blocks, tmp_path):
    out = tmp_path / "t.parquet"
    info = big_data.make(2_500, out, seed=7, layout="dir", blocks_per_part=1)
    parts = sorted(out.glob("part-*.parquet"))
    assert info["parts"] == len(parts) == 3  # 1,000 + 1,000 + 500 rows
    table = ds.dataset(out, format="parquet").to_table().to_pandas()
    assert table["customer_id"].is_unique
    expected = gen.generate(GenerateParams(n_rows=2_500, seed=7))
    assert table.equals(expected)


def test_blocks_per_part_and_reuse(small_blocks, tmp_path):
    out = tmp_path / "t.parquet"
    big_data.make(2_500, out, seed=7, layout="dir", blocks_per_part=2)
    assert len(list(out.glob("part-*.parquet"))) == 2
    assert big_data.make(2_500, out, seed=7, layout="dir")["reused"] is True
    # Another seed is other data: rewritten, not reused.
    assert big_data.make(2_500, out, seed=8, layout="dir")["reused"] is False


def test_file_layout_is_one_file(small_blocks, tmp_path):
    out = tmp_path / "t.parquet"
    big_data.make(1_500, out, seed=7, layout="file")
    assert out.is_file()
    assert len(ds.dataset(out).to_table()) == 1_500


def test_proctree_counts_a_grandchild(tmp_path):
    child = "import time; b = bytearray(150 * 2**20); time.sleep(1.5)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])"
    out = tmp_path / "m.json"
    rc = proctree.run([sys.executable, "-c", parent], out, 0.1)
    m = json.loads(out.read_text())
    assert rc == 0 and m["rc"] == 0 and m["running"] is False
    assert m["peak_workers_mib"] >= 150  # the child's RSS, which the parent's own peak lacks
    assert m["peak_driver_mib"] < 150
    assert m["peak_tree_mib"] >= m["peak_workers_mib"] + m["peak_driver_mib"] - 1


def test_proctree_keeps_the_exit_status(tmp_path):
    out = tmp_path / "m.json"
    script = BENCH / "proctree.py"
    cmd = [sys.executable, str(script), "--out", str(out), "--", sys.executable, "-c", "exit(3)"]
    assert subprocess.run(cmd).returncode == 3
    assert json.loads(out.read_text())["rc"] == 3


@pytest.mark.parametrize(
    ("master", "cores"), [("local[2]", 2), ("local[8,3]", 8), ("local", 1), ("local[1]", 1)]
)
def test_spark_cores(master, cores):
    assert scale_report.spark_cores(master) == cores


def _stage(wall: float, jvm: float = 0.0, status: str = "ok") -> dict:
    return {"status": status, "wall_s": wall, "peak_driver_mib": 1, "peak_jvm_mib": jvm}


def _spark(stages: dict, repro_s: float, rows: int = 100_000_000) -> dict:
    master = {"compute.spark.master": "local[2]"}
    return {"rows": rows, "params": master, "repro": {"wall_s": repro_s}, "stages": stages}


def test_cluster_estimate_arithmetic():
    # 1e8 rows in 500 s on 2 cores = 1e5 rows/s/core: 1e9 rows = 10,000 core-s. Serial part:
    # 100 s local + DVC's 10 s x 10 = 200 s; 10,000 / (3,600 - 200) -> 3 cores.
    spark = _spark({"validate": _stage(500, jvm=900), "train": _stage(100)}, repro_s=610)
    text = "\n".join(scale_report.cluster_estimate(spark))
    assert "**3 cores**" in text
    assert "10,000 / 3,400" in text


def test_cluster_estimate_counts_the_champion_paths_of_gate_and_drift():
    # First run: validate 500 s on Spark, gate 5 s locally (no champion yet: counted serial).
    # Second run: the gate on Spark for 250 s (2e5 rows/s/core: 5,000 core-s at 1e9 rows) in
    # place of its first-model path. Serial: train 95 s + DVC 10 s x 10; 15,000 / (3,600 -
    # 195) -> 5 cores, 1 executor.
    spark = _spark(
        {"validate": _stage(500, jvm=900), "train": _stage(95), "gate": _stage(5)}, repro_s=610
    )
    spark["champion_run"] = {
        "repro": {"wall_s": 260, "rc": 0, "stopped": None},
        "stages": {"gate": _stage(250, jvm=900), "report": _stage(1)},
    }
    text = "\n".join(scale_report.cluster_estimate(spark))
    assert "**5 cores** (e.g. 1 executor x 5 cores)" in text
    assert "15,000 / 3,405" in text
    table = "\n".join(scale_report.champion_table([spark | {"engine": "spark"}]))
    assert "| spark | gate | 250.0 | 1 | 900 | - | 200,000 | ok |" in table
    assert "| spark | report | 1.0 |" in table


def test_executor_layout_wording():
    assert scale_report._executors(5) == "e.g. 1 executor x 5 cores"
    assert scale_report._executors(20) == "e.g. 2 executors x 10 cores"
    assert scale_report._executors(33) == "e.g. 3 executors x 11 cores"


def test_cluster_estimate_unreachable_and_failed():
    slow_dvc = _spark({"validate": _stage(500, jvm=900), "train": _stage(100)}, repro_s=1_000)
    assert "not reachable" in scale_report.cluster_estimate(slow_dvc)[0]
    failed = _spark({"validate": _stage(5, status="failed"), "split": {"status": "not run"}}, 5)
    assert "stopped at validate" in scale_report.cluster_estimate(failed)[0]


def test_error_line_is_the_stages_own(tmp_path):
    log = tmp_path / "log"
    log.write_text(
        "Running stage 'generate':\nerror: old\n"
        "Running stage 'validate':\nwarning\nerror: data source x is a directory\n"
        "ERROR: failed to reproduce 'validate': exited with 2\n"
    )
    assert spark_scale.error_line(log, "validate") == "error: data source x is a directory"
