"""JSON Schemas of params.yaml and the behavioral spec, generated from their models.

``python -m mlgate.config_schemas`` writes them to schemas/ (committed, so an editor can use
them without installing mlgate); ``--check`` exits 1 when a committed file differs from
what the models give (tests/test_config_schemas.py runs the same comparison).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mlgate.config.predicates import PLACEHOLDER, PREDICATE_REF, PREDICATE_SCHEMA
from mlgate.config.validate import adapter

__all__ = ["SCHEMAS", "generate", "main", "render"]

# file -> (title, description, "module:Model")
SCHEMAS: dict[str, tuple[str, str, str]] = {
    "schemas/params.schema.json": (
        "mlgate params.yaml",
        "Pipeline parameters, read by mlgate.params.load_params.",
        "mlgate.params:Params",
    ),
    "schemas/behavioral.schema.json": (
        "mlgate behavioral spec",
        "Behavioral tests (contracts/behavioral.yaml), read by mlgate.behavioral.load_spec.",
        "mlgate.behavioral.schema:SpecFile",
    ),
}


def _model(path: str) -> Any:
    import importlib

    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def generate(model: str, *, title: str, description: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``model`` ("module:Name")."""
    body = adapter(_model(model)).json_schema(mode="validation")
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "description": description,
    }
    schema.update((k, v) for k, v in body.items() if k not in ("title", "description"))
    if _uses_predicates(body):
        schema = _resolve(schema)
        schema.setdefault("$defs", {})["SlicePredicate"] = PREDICATE_SCHEMA
    return schema


def _uses_predicates(node: Any) -> bool:
    return json.dumps(PLACEHOLDER) in json.dumps(node)


def _resolve(node: Any) -> Any:
    """``node`` with every placeholder replaced by a reference to the predicate definition."""
    if node == PLACEHOLDER:
        return dict(PREDICATE_REF)
    if isinstance(node, dict):
        return {k: _resolve(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v) for v in node]
    return node


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    root = Path(next((a for a in args if not a.startswith("--")), "."))
    stale = []
    for rel, (title, description, model) in SCHEMAS.items():
        text = render(generate(model, title=title, description=description))
        path = root / rel
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python -m mlgate.config_schemas")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
