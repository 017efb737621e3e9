"""Every stage's dvc.yaml deps and params are exactly what its code uses.

A module missing from a stage's deps means an edit to it does not rerun the stage: `dvc repro`
would keep outputs that the current code would not produce. A module listed but not used, or
a whole params section listed where the stage reads a few keys, reruns the stage for nothing.

Code deps: the closure of mlgate modules the stage file imports (also inside functions, and
modules named in strings such as uvicorn's "mlgate.serving.app:factory", which the stage's
server process imports). Importing ``mlgate.a.b`` also runs ``mlgate/a/__init__.py``; an
``__init__.py`` without imports (a docstring, a version) changes no stage's result and is
not required. A package directory dep stands for every module in it, so it is right only when
the stage uses all of them.

Params: the keys the stage file reads from the object ``load_params`` returns (attribute chains
through aliases such as ``cfg = params.serving`` and function arguments annotated with a params
class). A section that leaves the stage file whole (passed to a library function) counts as
read key by key: each key whose name the stage's modules access as an attribute (an
over-approximation, the safe side); ``dataclasses.asdict``/``vars``/``model_dump`` read all.
DVC can track only keys present in params.yaml, so a default not written there is not listed.
``load_params`` itself checks ``data.allow_external_source`` for every stage: it accepts or
refuses the run and changes no output, so it is not a read (validate lists ``data.source``).
Nor is the ``compute`` section (which engine runs a stage): the engines give the same
results, and switching engine must leave ``dvc.lock`` valid.

Computed from the code on every run: after a module moves, the failure says which dep to add
or remove; ``python tests/test_pipeline_deps.py`` prints every stage's expected lists.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import typing
from functools import cache
from pathlib import Path

import pytest
import yaml

from mlgate.params import load_params

REPO_ROOT = Path(__file__).resolve().parents[1]
SRC = REPO_ROOT / "src"
DVC_FILES = ("dvc.yaml", "champion/dvc.yaml")
# How a stage gets its params: loader name -> the params path of each value it returns.
LOADERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "load_params": ((),),
    "load_with_serving": ((), ("serving",)),
}
READS_ALL = {"asdict", "vars", "model_dump", "astuple"}
MODULE_STRING = re.compile(r"^(mlgate(?:\.\w+)+)(?::\w+)?$")


# ------------------------------------------------------------------------ code deps


def _module_file(name: str) -> Path | None:
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(path: Path) -> set[str]:
    """mlgate modules ``path`` imports anywhere (inside functions too: they run as well)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "mlgate"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mlgate":
            module = node.module or ""
            found.add(module)
            # "from mlgate import log" imports the module mlgate.log
            found |= {
                f"{module}.{a.name}" for a in node.names if _module_file(f"{module}.{a.name}")
            }
        elif isinstance(node, ast.Constant) and (match := MODULE_STRING.match(str(node.value))):
            found.add(match.group(1))
    # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
    return {".".join(n.split(".")[:i]) for n in found for i in range(2, n.count(".") + 2)}


@cache
def closure(start: Path) -> frozenset[Path]:
    seen: set[Path] = set()
    todo = [start]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += [f for n in _imported_names(path) if (f := _module_file(n)) is not None]
    return frozenset(seen)


def _matters(path: Path) -> bool:
    if path.name != "__init__.py":
        return True
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))


def _is_code_dep(dep: str) -> bool:
    return "${" not in dep and (dep.startswith(("src/", "stages/")) or dep.endswith(".py"))


def expected_code_deps(stage_file: Path) -> list[str]:
    """The closure as dvc.yaml should list it: a package directory when every module in it
    is used, its files otherwise."""
    used = {p for p in closure(stage_file) if _matters(p)}
    files = {str(p.relative_to(REPO_ROOT)) for p in used}
    for package in sorted({p.parent for p in used if p.parent != SRC / "mlgate"}):
        modules = {p for p in package.rglob("*.py") if _matters(p)}
        if package.is_relative_to(SRC / "mlgate") and modules <= used:
            rel = str(package.relative_to(REPO_ROOT))
            files = {f for f in files if not f.startswith(f"{rel}/")} | {rel}
    # A sub-package whose parent is listed whole is covered by the parent.
    return sorted(f for f in files if not any(f.startswith(f"{o}/") for o in files))


# ------------------------------------------------------------------------ params


def _fields(cls: type) -> dict[str, typing.Any]:
    if hasattr(cls, "model_fields"):  # a pydantic model
        return {name: f.annotation for name, f in cls.model_fields.items()}
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return {}


@cache
def params_tree() -> dict[str, typing.Any]:
    """The params model as nested dicts (a section) and None (a key), limited to keys present
    in params.yaml (DVC tracks only those); plus params class name -> its path."""
    written = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))

    def walk(cls: type, raw: dict, path: tuple[str, ...]) -> dict[str, typing.Any]:
        tree: dict[str, typing.Any] = {}
        for name, kind in _fields(cls).items():
            if name not in raw:
                continue
            if isinstance(kind, type) and _fields(kind):
                CLASS_PATHS[kind.__name__] = (*path, name)
                tree[name] = walk(kind, raw[name] or {}, (*path, name))
            else:
                tree[name] = None
        return tree

    root = typing.get_type_hints(load_params)["return"]
    CLASS_PATHS[root.__name__] = ()
    return walk(root, written, ())


CLASS_PATHS: dict[str, tuple[str, ...]] = {}


def _subtree(path: tuple[str, ...]) -> typing.Any:
    node: typing.Any = params_tree()
    for key in path:
        node = node[key]
    return node


def _leaves(path: tuple[str, ...]) -> set[tuple[str, ...]]:
    node = _subtree(path)
    if node is None:
        return {path}
    return set().union(*(_leaves((*path, k)) for k in node)) if node else set()


@cache
def _attribute_names(stage_file: Path) -> frozenset[str]:
    names: set[str] = set()
    for path in closure(stage_file):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "getattr":
                names |= {a.value for a in node.args if isinstance(a, ast.Constant)}
    return frozenset(names)


def _escaped(path: tuple[str, ...], names: frozenset[str]) -> set[tuple[str, ...]]:
    """Keys of a section passed whole to other code: those it reads by name."""
    node = _subtree(path)
    if node is None:
        return {path}
    return set().union(set(), *(_escaped((*path, k), names) for k in node if k in names))


class _ParamsReads(ast.NodeVisitor):
    """Which params keys one stage file reads (see the module docstring)."""

    def __init__(self, stage_file: Path) -> None:
        self.tree = ast.parse(stage_file.read_text(encoding="utf-8"))
        self.local_functions = {
            n.name for n in ast.walk(self.tree) if isinstance(n, ast.FunctionDef)
        }
        self.names = _attribute_names(stage_file)
        self.reads: set[tuple[str, ...]] = set()
        self.found_loader = False

    def run(self) -> set[tuple[str, ...]]:
        for func in [n for n in ast.walk(self.tree) if isinstance(n, ast.FunctionDef)]:
            self._function(func)
        return self.reads

    def _function(self, func: ast.FunctionDef) -> None:
        env: dict[str, tuple[str, ...]] = {}
        for arg in func.args.args + func.args.kwonlyargs:
            annotation = ast.unparse(arg.annotation).strip("'\"") if arg.annotation else ""
            if annotation in CLASS_PATHS:
                env[arg.arg] = CLASS_PATHS[annotation]
        aliases: set[int] = set()
        for _ in range(3):  # aliases of aliases, in any statement order
            for node in ast.walk(func):
                if isinstance(node, ast.Assign):
                    aliases |= self._bind(node, env)
        parents = {c: p for p in ast.walk(func) for c in ast.iter_child_nodes(p)}
        for node in ast.walk(func):
            path = self._resolve(node, env)
            if (
                path is None
                or id(node) in aliases
                or isinstance(getattr(node, "ctx", None), ast.Store)
            ):
                continue
            parent = parents.get(node)
            if isinstance(parent, ast.Attribute) and self._resolve(parent, env) is not None:
                continue  # not the whole chain
            self._use(path, node, parent)

    def _bind(self, node: ast.Assign, env: dict[str, tuple[str, ...]]) -> set[int]:
        value = node.value
        for target in node.targets:
            if isinstance(target, ast.Name) and (path := self._resolve(value, env)) is not None:
                env[target.id] = path
                return {id(value)}
            loader = self._loader(value)
            if isinstance(target, ast.Tuple) and loader is not None:
                for element, path in zip(target.elts, loader, strict=False):
                    if isinstance(element, ast.Name):
                        env[element.id] = path
                return {id(value)}
        return set()

    def _loader(self, node: ast.AST) -> tuple[tuple[str, ...], ...] | None:
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in LOADERS:
                self.found_loader = True
                return LOADERS[name]
        return None

    def _resolve(self, node: ast.AST, env: dict[str, tuple[str, ...]]) -> tuple[str, ...] | None:
        if isinstance(node, ast.Name):
            return env.get(node.id)
        if isinstance(node, ast.Call) and (loader := self._loader(node)) and len(loader) == 1:
            return loader[0]
        if isinstance(node, ast.Attribute):
            base = self._resolve(node.value, env)
            if base is not None and node.attr in (_subtree(base) or {}):
                return (*base, node.attr)
        return None

    def _use(self, path: tuple[str, ...], node: ast.AST, parent: ast.AST | None) -> None:
        if _subtree(path) is None:
            self.reads.add(path)
            return
        if isinstance(parent, ast.Call) and node is not parent.func:
            callee = getattr(parent.func, "id", getattr(parent.func, "attr", ""))
            if callee in self.local_functions:
                return  # read inside that function, through its annotated argument
            if callee in READS_ALL:
                self.reads |= _leaves(path)
                return
        self.reads |= _escaped(path, self.names)


def compact(leaves: set[tuple[str, ...]], path: tuple[str, ...] = ()) -> list[str]:
    """dvc.yaml's params list: a section by name when the stage reads all of it."""
    if path and _leaves(path) <= leaves:
        return [".".join(path)]
    node = _subtree(path)
    if node is None:
        return []
    return [entry for key in node for entry in compact(leaves, (*path, key))]


# Read by stages but never a stage param: the engines write the same outputs, so switching
# engine must leave dvc.lock valid (params.py ComputeParams).
NOT_STAGE_PARAMS = ("compute",)


def expected_params(stage_file: Path) -> list[str]:
    visitor = _ParamsReads(stage_file)
    reads = {p for p in visitor.run() if p[:1] not in {(k,) for k in NOT_STAGE_PARAMS}}
    assert visitor.found_loader or not reads
    return compact(set().union(set(), *(_leaves(p) for p in reads)))


# ------------------------------------------------------------------------ the test


def _stages() -> list[tuple[str, str, dict]]:
    found = []
    for name in DVC_FILES:
        for stage, spec in yaml.safe_load((REPO_ROOT / name).read_text())["stages"].items():
            found.append((name, stage, spec))
    return found


def _stage_file(spec: dict) -> Path:
    match = re.fullmatch(r"python (stages/\w+\.py)", spec["cmd"])
    assert match, f"unexpected cmd {spec['cmd']!r}: this test reads `python stages/<x>.py`"
    return REPO_ROOT / match.group(1)


def _diff(what: str, listed: list[str], expected: list[str]) -> list[str]:
    lines = [f"add `- {d}` to {what}" for d in expected if d not in listed]
    return lines + [f"remove `- {d}` from {what}" for d in listed if d not in expected]


@pytest.mark.parametrize(("dvc_file", "stage", "spec"), _stages(), ids=lambda v: str(v)[:20])
def test_stage_lists_exactly_the_code_and_params_it_uses(dvc_file, stage, spec):
    stage_file = _stage_file(spec)
    deps = [d for d in spec.get("deps", []) if _is_code_dep(d)]
    params = [p for p in spec.get("params", []) if isinstance(p, str)]
    problems = _diff("deps", deps, expected_code_deps(stage_file))
    problems += _diff("params", params, expected_params(stage_file))
    assert not problems, f"{dvc_file} stage '{stage}':\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------------ the checker itself


def test_closure_follows_package_inits_and_module_strings():
    serving = closure(REPO_ROOT / "stages" / "serving.py")
    # started by uvicorn in the server process from a string, never imported by the stage
    assert SRC / "mlgate" / "serving" / "app.py" in serving
    evaluate = closure(REPO_ROOT / "stages" / "evaluate.py")
    assert SRC / "mlgate" / "metrics" / "__init__.py" in evaluate
    assert not _matters(SRC / "mlgate" / "spark" / "__init__.py")  # a docstring only
    assert _matters(SRC / "mlgate" / "__init__.py")  # it blocks pyspark.pandas for pandera


def test_params_reads_follow_aliases_and_escapes(tmp_path):
    stage = tmp_path / "stage.py"
    stage.write_text(
        "from mlgate.params import load_params\n"
        "def main():\n"
        "    params = load_params()\n"
        "    cfg = params.serving\n"
        "    print(cfg.seed, params.data.target)\n"
        "    helper(params.drift)\n"
        "    other(params)\n"
        "def other(p: Params):\n"
        "    return p.split.salt\n"
    )
    reads = _ParamsReads(stage).run()
    assert ("serving", "seed") in reads and ("data", "target") in reads
    assert ("serving", "host") not in reads
    assert ("split", "salt") in reads and ("split", "holdout_fraction") not in reads
    # drift escapes into a function this file does not define: its keys by name (none here)
    assert not any(p[0] == "drift" for p in reads)
    assert compact({("split", "salt"), ("split", "holdout_fraction")}) == ["split"]
    assert compact({("split", "salt")}) == ["split.salt"]


if __name__ == "__main__":
    for _file, _stage, _spec in _stages():
        print(f"{_file} {_stage}")
        print("  deps:", *expected_code_deps(_stage_file(_spec)), sep="\n    - ")
        print("  params:", *expected_params(_stage_file(_spec)), sep="\n    - ")
