"""Every mlgate module the gate stage runs is a dependency of the stage in dvc.yaml.

A module missing from the deps means an edit to it does not rerun the gate: `dvc repro` would
keep a decision that the current code would not take.
"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from tests.e2e.conftest import REPO_ROOT


def _module_file(name: str) -> Path | None:
    base = REPO_ROOT / "src" / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """mlgate modules imported anywhere in ``path`` (also inside functions: they run too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "mlgate"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mlgate":
            module = node.module or ""
            found.add(module)
            # "from mlgate import log" imports the module mlgate.log
            submodules = {f"{module}.{a.name}" for a in node.names}
            found |= {name for name in submodules if _module_file(name)}
    return found


def _closure(start: Path) -> set[Path]:
    seen: set[Path] = set()
    todo = [start]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo += [f for name in _imports(path) if (f := _module_file(name)) is not None]
    return seen


def test_gate_stage_depends_on_every_mlgate_module_it_imports():
    deps = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]["gate"]["deps"]
    files = {
        str(p.relative_to(REPO_ROOT))
        for p in _closure(REPO_ROOT / "stages" / "gate.py")
        if p.name != "__init__.py" or p.parent.name != "mlgate"
    }
    uncovered = sorted(f for f in files if not any(f == d or f.startswith(f"{d}/") for d in deps))
    assert not uncovered, f"gate stage imports these but dvc.yaml does not list them: {uncovered}"
    for new in (
        "src/mlgate/gate/leakage.py",
        "src/mlgate/gate/holdout_reuse.py",
        "src/mlgate/slices.py",
    ):
        assert new in files
