"""`dvc exp run -S key=value` rewrites params.yaml; its comments must stay where and true.

DVC parses params.yaml with ruamel, applies the overrides (dvc.utils.hydra.apply_overrides, the
function `dvc exp run -S` calls) and writes the whole file back: a list is written anew in block
style and loses what followed it up to the next key (comments, blank lines), long flow mappings
are re-wrapped, and a comment beside a value stays beside the new value. params.yaml is written
in the form DVC writes, so that these tests hold:

* a rewrite that sets nothing new leaves the file byte-identical (`dvc exp apply` then shows
  in `git diff params.yaml` only the keys the experiment set);
* setting every commented key changes only those keys' lines, keeps every comment on its key,
  and no comment beside a changed value names its old or its new value (as "estimator:
  hist_gradient_boosting  # or logistic_regression" did, which -S turned into
  "estimator: logistic_regression  # or logistic_regression").
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PARAMS = REPO_ROOT / "params.yaml"
SCHEMA = REPO_ROOT / "schemas" / "params.schema.json"
KEY = re.compile(r"^(\s*)([A-Za-z_][\w-]*):(?=\s|$)")
# Values a user would set where the schema names no alternatives.
ALTERNATIVES = {"train.estimator": "logistic_regression", "serving.host": "0.0.0.0"}

apply_overrides = pytest.importorskip("dvc.utils.hydra").apply_overrides


def _inline_comment(line: str) -> str:
    """The `# ...` after a value on ``line`` ('' when none), outside quotes."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[i:].strip()
    return ""


def key_of_each_line(text: str) -> list[str | None]:
    """The dotted key each line belongs to: its own key, the key a list item or a wrapped
    value continues, or for a comment line the key below it (None: no key follows)."""
    keys: list[str | None] = []
    stack: list[tuple[int, str]] = []
    for line in text.splitlines():
        match = KEY.match(line)
        if match:
            indent = len(match.group(1))
            stack = [(i, k) for i, k in stack if i < indent] + [(indent, match.group(2))]
        keys.append(".".join(k for _, k in stack) if stack and line.strip() else None)
    following: str | None = None
    for index in reversed(range(len(keys))):
        line = text.splitlines()[index].strip()
        if line.startswith("#") or not line:
            keys[index] = following if line else None
        else:
            following = keys[index]
    return keys


def comments_by_key(text: str) -> list[tuple[str | None, str]]:
    lines = text.splitlines()
    keys = key_of_each_line(text)
    return [(k, c) for k, line in zip(keys, lines, strict=True) if (c := _inline_comment(line))]


def _leaves(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict) and tree:
        return {
            k: v for key, val in tree.items() for k, v in _leaves(val, f"{prefix}{key}.").items()
        }
    return {prefix.rstrip("."): tree}


def _schema_enum(dotted: str) -> list[Any]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    node: dict[str, Any] = schema
    for key in dotted.split("."):
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        node = node.get("properties", {}).get(key, {})
    return list(node.get("enum", []))


def _new_value(dotted: str, old: Any) -> Any:
    others = [v for v in _schema_enum(dotted) if v != old]
    if others:
        return others[0]
    if dotted in ALTERNATIVES:
        return ALTERNATIVES[dotted]
    if isinstance(old, bool):
        return not old
    if isinstance(old, (int, float)):
        return old * 2 + 1
    return 1 if old is None else f"{old}_x"


def _override(dotted: str, value: Any) -> str:
    if isinstance(value, str):
        return f"{dotted}='{value}'"
    return f"{dotted}={json.dumps(value)}"


def _text(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def commented_scalars(text: str) -> dict[str, Any]:
    """Every scalar key with a comment on its line or above it, and its value."""
    values = _leaves(yaml.safe_load(text))
    keys = {k for k, _ in comments_by_key(text)} | {
        k
        for k, line in zip(key_of_each_line(text), text.splitlines(), strict=True)
        if line.strip().startswith("#")
    }
    return {k: values[k] for k in sorted(keys & set(values)) if not isinstance(values[k], list)}


def _rewrite(tmp_path: Path, overrides: list[str]) -> tuple[str, str]:
    path = tmp_path / "params.yaml"
    shutil.copy(PARAMS, path)
    before = path.read_text(encoding="utf-8")
    apply_overrides(path, overrides)
    return before, path.read_text(encoding="utf-8")


def test_a_rewrite_that_sets_nothing_new_leaves_params_yaml_byte_identical(
    tmp_path: Path,
) -> None:
    before, after = _rewrite(tmp_path, ["split.salt='mlgate-v1'"])
    assert yaml.safe_load(before)["split"]["salt"] == "mlgate-v1"  # the same value, set again
    assert after == before


def test_setting_every_commented_key_keeps_each_comment_on_its_key_and_true(
    tmp_path: Path,
) -> None:
    original = PARAMS.read_text(encoding="utf-8")
    targets = commented_scalars(original)
    assert {"train.estimator", "gate.first_model", "compute.engine"} <= set(targets)
    new = {k: _new_value(k, v) for k, v in targets.items()}
    before, after = _rewrite(tmp_path, [_override(k, v) for k, v in new.items()])

    changed = _leaves(yaml.safe_load(after))
    assert {k: changed[k] for k in new} == new  # the rewrite did set them
    assert comments_by_key(after) == comments_by_key(before)
    # Only the lines of the keys set differ.
    assert len(after.splitlines()) == len(before.splitlines())
    keys = key_of_each_line(before)
    differing = {
        keys[i]
        for i, (a, b) in enumerate(zip(before.splitlines(), after.splitlines(), strict=True))
        if a != b
    }
    assert differing <= set(new), differing - set(new)
    # No comment beside a changed value names the old or the new value (one above the key may
    # list the choices: it documents the key, not the value below it).
    for key, line in zip(key_of_each_line(after), after.splitlines(), strict=True):
        comment = "" if line.lstrip().startswith("#") else _inline_comment(line)
        if key in new and comment:
            for value in (targets[key], new[key]):
                if (word := re.escape(_text(value))) == "":
                    continue
                assert not re.search(rf"(?<![\w.]){word}(?![\w.])", comment), (key, comment)


def test_lists_emptied_and_restored_leave_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    shutil.copy(PARAMS, path)
    # Lists of scalars (-S has no syntax here for new_enterprise's list of conditions).
    leaves = _leaves(yaml.safe_load(PARAMS.read_text(encoding="utf-8")))
    lists = {
        k: v
        for k, v in leaves.items()
        if isinstance(v, list) and not any(isinstance(x, (dict, list)) for x in v)
    }
    assert {"data.na_values", "features.numeric", "serving.canary.steps"} <= set(lists)
    for values in ({k: ["x"] for k in lists}, {k: [] for k in lists}, lists):
        apply_overrides(path, [f"{k}={json.dumps(v)}" for k, v in values.items()])
        yaml.safe_load(path.read_text(encoding="utf-8"))  # still YAML
    assert path.read_text(encoding="utf-8") == PARAMS.read_text(encoding="utf-8")


def test_no_comment_beside_a_list(tmp_path: Path) -> None:
    # Beside a list's key, a comment breaks the file when the list is emptied: after
    # `-S 'data.na_values=[" "]'` then `-S 'data.na_values=[]'` DVC wrote "n_rows: 20000 seed: 42"
    # (invalid YAML), and `mlgate init` (ruamel too) wrote `cyclical_parts: -`.
    text = PARAMS.read_text(encoding="utf-8")
    values = _leaves(yaml.safe_load(text))
    beside = [
        (key, line)
        for key, line in zip(key_of_each_line(text), text.splitlines(), strict=True)
        if isinstance(values.get(key or ""), list)
        and not line.lstrip().startswith("#")
        and _inline_comment(line)
    ]
    assert not beside


def test_the_line_reader_sees_inline_and_block_comments() -> None:
    text = (
        "a:\n"
        "  # above b\n"
        "  b: 1   # beside b\n"
        "  c:\n"
        "  - x    # on an item of c\n"
        "  d: '#not a comment'\n"
    )
    assert key_of_each_line(text) == ["a", "a.b", "a.b", "a.c", "a.c", "a.d"]
    assert comments_by_key(text) == [
        ("a.b", "# above b"),
        ("a.b", "# beside b"),
        ("a.c", "# on an item of c"),
    ]
    assert commented_scalars(text) == {"a.b": 1}
