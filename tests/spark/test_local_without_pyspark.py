"""The evaluate and gate stages, and the gate's modules, import with PySpark absent: the local
engine needs neither PySpark nor Java (mlgate.spark is imported only under engine: spark)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT

BLOCK = """
import importlib.abc, runpy, sys
class NoSpark(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, NoSpark())
import mlgate.gate.evidence, mlgate.gate.champion_evidence, mlgate.evaluation
for stage in ("stages/evaluate.py", "stages/gate.py"):
    runpy.run_path(stage, run_name="not_main")
# (mlgate blocks pyspark.pandas with a None entry: not an import)
loaded = [m for m, mod in sys.modules.items() if mod is not None]
assert not any(m.startswith(("pyspark", "mlgate.spark.")) for m in loaded), loaded
"""


def test_stages_import_without_pyspark() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
