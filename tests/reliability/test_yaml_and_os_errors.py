"""Hostile YAML and OS failures through the `mlgate` commands: one `error:` line, fast.

A billion-laughs document used to end in MemoryError and a traceback after ~40 s (an error
message called ``repr()`` on the expanded value); now every YAML file kind the project reads
(params.yaml with its slices, a contract, a behavioral spec) is refused by the bounded reader
in milliseconds. The stage-side refusals (and the same under `dvc repro`) are cases of the
bad-input catalog; here the commands run in-process (imports paid once) and, once, as a real
process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from mlgate import cli
from tests.reliability.catalog import billion_laughs

REPO = Path(__file__).resolve().parents[2]


def _mlgate(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, float]:
    start = time.perf_counter()
    code = cli.main(argv)
    seconds = time.perf_counter() - start
    return code, capsys.readouterr().err, seconds


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.csv"
    pd.DataFrame({"customer_id": [1, 2, 3], "churned": [0, 1, 0]}).to_csv(path, index=False)
    return path


def _bombed(tmp_path: Path, source: str, key: str) -> Path:
    """A copy of a project file whose ``key:`` line holds a billion-laughs value."""
    text = (REPO / source).read_text(encoding="utf-8")
    line = next(li for li in text.splitlines() if li.startswith(key + ":"))
    path = tmp_path / Path(source).name
    path.write_text(text.replace(line, f"{key}: {billion_laughs()}", 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("source", "key", "argv"),
    [
        ("contracts/churn.yaml", "version", ["validate", "--data", "{data}", "--contract", "{f}"]),
        ("params.yaml", "  holdout_fraction", ["status", "--params", "{f}"]),
        ("params.yaml", "    enterprise", ["requests", "--out", "{out}", "--params", "{f}"]),
        ("contracts/behavioral.yaml", "min_rows", None),
    ],
    ids=["contract", "params", "params_slices", "behavioral_spec"],
)
def test_a_billion_laughs_is_refused_in_under_a_second_with_one_line(
    tmp_path: Path,
    sample: Path,
    capsys: pytest.CaptureFixture[str],
    source: str,
    key: str,
    argv: list[str] | None,
) -> None:
    bombed = _bombed(tmp_path, source, key)
    if argv is None:
        # No command reads a spec but the behavioral stage (catalog: spec_alias_bomb); its
        # reader is the one the stage calls.
        from mlgate.errors import ParamsError
        from mlgate.io import read_yaml

        start = time.perf_counter()
        with pytest.raises(ParamsError) as info:
            read_yaml(bombed, what="behavioral spec", error=ParamsError)
        seconds, line = time.perf_counter() - start, f"error: {info.value}"
    else:
        subs = {"f": str(bombed), "data": str(sample), "out": str(tmp_path / "r.jsonl")}
        full = [a.format(**subs) for a in argv]
        _mlgate(full, capsys)  # the first call pays the command's imports, not the load
        code, err, seconds = _mlgate(full, capsys)
        assert code == 2
        line = _one_error_line(err)
    assert str(bombed) in line and "aliases" in line and "10,000 nodes" in line
    assert seconds < 1.0


def test_a_billion_laughs_contract_through_a_real_process(tmp_path: Path, sample: Path) -> None:
    bombed = _bombed(tmp_path, "contracts/churn.yaml", "version")
    mlgate = Path(sys.executable).parent / "mlgate"
    start = time.perf_counter()
    proc = subprocess.run(
        [str(mlgate), "validate", "--data", str(sample), "--contract", str(bombed)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.perf_counter() - start
    assert proc.returncode == 2, proc.stderr
    assert "aliases" in _one_error_line(proc.stderr)
    # Start-up and imports included (~1-3 s); the unbounded version took ~40 s and crashed.
    assert seconds < 15


def test_dev_zero_as_contract_is_refused_at_the_size_bound(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err, seconds = _mlgate(
        ["validate", "--data", str(sample), "--contract", "/dev/zero"], capsys
    )
    assert code == 2 and seconds < 1.0
    line = _one_error_line(err)
    assert "/dev/zero" in line and "larger than 1,048,576 bytes" in line


def test_a_directory_as_contract_is_one_line(
    tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err, _ = _mlgate(
        ["validate", "--data", str(sample), "--contract", str(tmp_path)], capsys
    )
    assert code == 2
    assert (
        _one_error_line(err) == f"error: contract {tmp_path} is a directory; expected a YAML file"
    )


def test_writing_onto_a_directory_is_one_line_eisdir(
    tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "drafts"
    target.mkdir()
    argv = ["contract", "infer", "--data", str(sample), "--out", str(target), "--force"]
    code, err, _ = _mlgate(argv, capsys)
    assert code == 2
    line = _one_error_line(err)
    assert f"cannot write {target}" in line and "EISDIR" in line
    assert target.is_dir() and list(target.iterdir()) == []  # no temporary file left


def test_an_unwritable_directory_is_one_line_eacces(tmp_path: Path) -> None:
    """A real EACCES through `mlgate contract infer`: as root, the command runs as nobody."""
    as_nobody: list[str] = []
    shared = tmp_path
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root ignores file modes and setpriv is missing to drop privileges")
        as_nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        # The checkout may sit where nobody cannot read the venv (a private temp directory).
        probe = subprocess.run(
            [*as_nobody, sys.executable, "-c", "import mlgate"], capture_output=True, check=False
        )
        if probe.returncode != 0:
            pytest.skip("nobody cannot run this checkout's venv, so EACCES cannot be provoked")
        shared = Path(tempfile.mkdtemp(prefix="mlgate-eacces-", dir="/tmp"))
    try:
        shared.chmod(0o755)
        data = shared / "sample.csv"
        data.write_text("customer_id,churned\n1,0\n2,1\n", encoding="utf-8")
        data.chmod(0o644)
        locked = shared / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        target = locked / "c.yaml"
        mlgate = Path(sys.executable).parent / "mlgate"
        proc = subprocess.run(
            [
                *as_nobody,
                str(mlgate),
                "contract",
                "infer",
                "--data",
                str(data),
                "--out",
                str(target),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd="/tmp",
        )
    finally:
        if shared != tmp_path:
            shutil.rmtree(shared, ignore_errors=True)
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc.stderr)
    assert f"cannot write {target}" in line and "EACCES" in line and "permission denied" in line
