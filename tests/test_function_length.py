"""No function in src/ or stages/ is over 60 lines unless it is listed here with its reason.

Length: from the ``def`` line to the last line of the body (decorators excluded), as
``end_lineno - lineno + 1``. A listed function that is no longer long (shortened, moved or
renamed) fails too, so the list stays the truth; docs/architecture.md repeats it.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 60

# "path:function" -> why it may stay long. Entries marked "to split" are debts, not designs.
ALLOWED = {
    "src/mlgate/serving/checks.py:bad_payload_catalog": "a table: one bad payload per row",
}


def long_functions() -> dict[str, int]:
    found = {}
    for root in ("src", "stages"):
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = node.end_lineno - node.lineno + 1
                    if length > MAX_LINES:
                        found[f"{path.relative_to(REPO_ROOT)}:{node.name}"] = length
    return found


def test_no_function_over_60_lines_outside_the_allow_list():
    found = long_functions()
    new = {name: n for name, n in found.items() if name not in ALLOWED}
    assert not new, f"over {MAX_LINES} lines: split them, or list them with a reason: {new}"
    stale = sorted(set(ALLOWED) - set(found))
    assert not stale, f"no longer over {MAX_LINES} lines (or moved): remove from ALLOWED: {stale}"


def test_the_measure_counts_def_to_last_line(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES - 1))
    tree = ast.parse(f"def f():\n{body}\n")
    func = tree.body[0]
    assert func.end_lineno - func.lineno + 1 == MAX_LINES  # exactly at the limit: allowed
