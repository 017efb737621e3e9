"""Two clean runs of the whole pipeline give the same bytes.

Two fresh repositories in different directories each run ``dvc repro`` from nothing. The
second run differs the way another machine would: another absolute path, another time zone
and locale, one CPU instead of two (``taskset``), and another hash seed. Every file the
pipeline writes must come out byte-identical: the metric JSONs, the model (hence its sha256),
the DVC plot CSVs, the PNGs, the Parquet tables and report.md; and so dvc.lock itself.

One thing cannot repeat: the serving stage *measures* a live server (latencies, start-up
time). Those numbers (keys named like ``latency_ms`` or ``*_seconds`` in metrics/serving.json,
and where the gate and the report quote a latency) are masked before comparing, and only
those: masking may touch no other file, and a differing value under any other key fails.
What this does not cover (other library versions, another CPU family or BLAS) is in the
README's notes. The logistic-regression fit would depend on the BLAS thread count if
mlgate.training did not limit the thread pools for the fit (threadpoolctl); a test checks it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import shutil
import subprocess
import sys
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import VENV_BIN, PipelineRepo, make_pipeline_repo, pipeline_stages

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

N_ROWS = 4_000
# Outputs holding measurements of the run itself; they are compared with those values masked.
NOT_REPRODUCIBLE: dict[str, str] = {
    "metrics/serving.json": "latency and start-up time of a live server",
}
# What a measured value looks like where it is stored or quoted.
_MEASURED_KEY = re.compile(r"latency|seconds|_ms$|per_s$")
_MEASURED_TEXT = re.compile(r"(p\d+|mean|max) [0-9.]+ ms")


def mask(path: str, data: bytes) -> bytes:
    """``data`` with measured values replaced by a placeholder (unchanged if there are none)."""
    if path.endswith(".json"):
        return json.dumps(_mask_json(json.loads(data)), indent=2).encode() + b"\n"
    if path.endswith(".md"):
        return _MEASURED_TEXT.sub(r"\1 <measured> ms", data.decode()).encode()
    return data


def _mask_json(node: Any) -> Any:
    if isinstance(node, dict):
        if _MEASURED_KEY.search(str(node.get("name", ""))):  # a gate check on a measurement
            return {
                k: "<measured>" if k in ("value", "reason") else _mask_json(v)
                for k, v in node.items()
            }
        return {
            k: "<measured>" if _MEASURED_KEY.search(k) else _mask_json(v) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_mask_json(v) for v in node]
    return node


def pipeline_files(repo: PipelineRepo) -> list[str]:
    """Every file a dvc.yaml says a stage writes (outs, metrics, plots)."""
    stages = pipeline_stages(repo.path)
    files = []
    for stage in stages.values():
        for key in ("outs", "metrics", "plots"):
            for entry in stage.get(key) or []:
                files.append(entry if isinstance(entry, str) else next(iter(entry)))
    return files


def _describe(path: str, first: bytes, second: bytes) -> str:
    if path.endswith((".json", ".csv", ".md", ".lock")):
        diff = difflib.unified_diff(
            first.decode(errors="replace").splitlines(),
            second.decode(errors="replace").splitlines(),
            "run 1",
            "run 2",
            lineterm="",
            n=1,
        )
        return f"{path}:\n" + "\n".join(list(diff)[:30])
    return f"{path}: {len(first)} vs {len(second)} bytes"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[PipelineRepo, PipelineRepo]:
    first = make_pipeline_repo(
        tmp_path_factory.mktemp("det-a") / "repo", {"generate.n_rows": N_ROWS}
    )
    # A copy taken before anything ran: the same sources even while the project is edited.
    second = first.clone(tmp_path_factory.mktemp("det-b") / "elsewhere" / "another-checkout")
    first.repro()
    second.env.update(
        {"TZ": "Pacific/Auckland", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PYTHONHASHSEED": "7"}
    )
    taskset = shutil.which("taskset")
    command = [taskset, "--cpu-list", "0"] if taskset else []
    second.run(*command, VENV_BIN / "dvc", "repro")
    return first, second


def compare(first: PipelineRepo, second: PipelineRepo) -> tuple[list[str], list[str]]:
    """(descriptions of files that differ after masking, files that needed masking)."""
    differ, masked = [], []
    for path in pipeline_files(first):
        a, b = first.read_bytes(path), second.read_bytes(path)
        if a == b:
            continue
        if mask(path, a) == mask(path, b):
            masked.append(path)
        else:
            differ.append(_describe(path, mask(path, a), mask(path, b)))
    return differ, masked


def test_every_pipeline_output_is_byte_identical_across_runs(
    two_runs: tuple[PipelineRepo, PipelineRepo],
) -> None:
    first, second = two_runs
    files = pipeline_files(first)
    assert any(f.endswith(".png") for f in files) and "models/model.joblib" in files
    differ, masked = compare(first, second)
    assert not differ, "outputs differ between two clean runs:\n\n" + "\n\n".join(differ)
    # Only files that hold or quote a measurement may need the mask.
    quoting = {*NOT_REPRODUCIBLE, "metrics/gate.json", "metrics/summary.json", "report.md"}
    assert set(masked) <= quoting, f"masked more than the measured values: {masked}"


def test_masking_hides_only_measurements() -> None:
    serving = {"latency_ms": {"single": {"p95": 1.5}}, "startup_seconds": 1.2, "n_5xx": 0}
    other = {"latency_ms": {"single": {"p95": 9.9}}, "startup_seconds": 2.0, "n_5xx": 1}
    assert mask("s.json", json.dumps(serving).encode()) != mask(
        "s.json", json.dumps(other).encode()
    )
    other["n_5xx"] = 0
    assert mask("s.json", json.dumps(serving).encode()) == mask(
        "s.json", json.dumps(other).encode()
    )
    check = {
        "name": "serving_latency[single]",
        "passed": True,
        "value": 1.5,
        "reason": "p95 1.5 ms",
    }
    flipped = {**check, "passed": False, "value": 150.0, "reason": "p95 150.0 ms"}
    assert mask("g.json", json.dumps([check]).encode()) != mask(
        "g.json", json.dumps([flipped]).encode()
    )
    assert mask("r.md", b"single p95 13.5 ms vs bound 100.0 ms") == mask(
        "r.md", b"single p95 17.2 ms vs bound 100.0 ms"
    )
    assert mask("r.md", b"AUC 0.8712") != mask("r.md", b"AUC 0.8713")


def test_model_hash_is_recorded_and_equal(two_runs: tuple[PipelineRepo, PipelineRepo]) -> None:
    hashes = []
    for repo in two_runs:
        meta = repo.read_json("models/model.json")
        actual = hashlib.sha256(repo.read_bytes("models/model.joblib")).hexdigest()
        assert meta["sha256"] == actual
        assert repo.metrics("holdout")["model_sha256"] == actual
        hashes.append(actual)
    assert hashes[0] == hashes[1]


def test_dvc_lock_is_identical(two_runs: tuple[PipelineRepo, PipelineRepo]) -> None:
    # dvc.lock holds the md5 of every dependency and output, so this is the whole pipeline's
    # fingerprint: what a second machine would commit for the same inputs. Hashes of files
    # that differ only in measured values are left out.
    first, second = two_runs
    _, masked = compare(first, second)

    def without_measured(lock: dict[str, Any]) -> dict[str, Any]:
        for stage in lock["stages"].values():
            for key in ("deps", "outs"):
                for entry in stage.get(key) or []:
                    if entry["path"] in masked:
                        entry.pop("md5", None)
                        entry.pop("size", None)
        return lock

    for lock_file in ("dvc.lock", "champion/dvc.lock"):
        a, b = (yaml.safe_load(repo.read_bytes(lock_file)) for repo in two_runs)
        assert without_measured(a) == without_measured(b), _describe(
            lock_file, first.read_bytes(lock_file), second.read_bytes(lock_file)
        )


def test_metric_floats_are_rounded_to_ten_significant_digits(
    two_runs: tuple[PipelineRepo, PipelineRepo],
) -> None:
    # The rounding is what keeps a last-bit difference (another BLAS, another CPU) out of the
    # metric files; check that every float written went through it.
    first, _ = two_runs

    def floats(node: object) -> list[float]:
        if isinstance(node, float):
            return [node]
        if isinstance(node, dict):
            return [f for v in node.values() for f in floats(v)]
        if isinstance(node, list):
            return [f for v in node for f in floats(v)]
        return []

    checked = 0
    for path in sorted((first.path / "metrics").glob("*.json")):
        for value in floats(json.loads(path.read_text(encoding="utf-8"))):
            assert value == float(f"{value:.10g}"), f"{path.name}: {value!r} not rounded"
            checked += 1
    assert checked > 50


def test_logistic_regression_model_does_not_depend_on_blas_threads(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # A 1-core and a 2-core machine, as OpenBLAS sees them. Below ~100k rows OpenBLAS keeps
    # the small products single-threaded anyway, so the data must be this large to tell.
    repo = make_pipeline_repo(
        tmp_path_factory.mktemp("det-lr") / "repo",
        {"generate.n_rows": 300_000, "train.estimator": "logistic_regression"},
    )
    repo.repro("split")
    hashes = []
    for threads in ("1", "2"):
        env = {**repo.env, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
        subprocess.run(
            [sys.executable, "stages/train.py"], cwd=repo.path, env=env, check=True, timeout=300
        )
        hashes.append(hashlib.sha256(repo.read_bytes("models/model.joblib")).hexdigest())
    assert hashes[0] == hashes[1], "the model's bytes depend on the BLAS thread count"
