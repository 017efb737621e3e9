"""The behavioral spec as the runners use it, and the loader that builds it from YAML.

The file is validated by the models in :mod:`mlgate.behavioral.schema` (every problem in
one pass, each with its test and key); this module flattens a valid file into one
:class:`BehavioralTest` per test, with perturbations as :class:`Perturbation` objects and
``rows`` parsed into a slice predicate that names its test in errors against data.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlgate.behavioral.perturbations import Perturbation
from mlgate.behavioral.schema import (
    DEFAULT_MIN_ROWS,
    DIRECTIONS,
    PERTURBATIONS,
    CoverageTest,
    DirTest,
    InvTest,
    MftTest,
    SpecFile,
    Step,
)
from mlgate.config import validate
from mlgate.slices import Predicate, parse_predicate

__all__ = [
    "DEFAULT_MIN_ROWS",
    "DIRECTIONS",
    "PERTURBATIONS",
    "TEST_TYPES",
    "UNSEEN",
    "BehavioralSpec",
    "BehavioralTest",
    "Perturbation",
    "load_spec",
]

TEST_TYPES = ("mft", "inv", "dir", "coverage")
UNSEEN = "__mlgate_unseen__"


@dataclass(frozen=True, kw_only=True)
class BehavioralTest:
    """One validated test. Fields that do not apply to ``type`` keep their defaults."""

    name: str
    type: str
    threshold: float = 0.0
    description: str = ""
    rows: Predicate | None = None
    min_rows: int | None = None
    # mft
    cases: tuple[Mapping[str, Any], ...] = ()
    base: Mapping[str, Any] = field(default_factory=lambda: types.MappingProxyType({}))
    score_above: float | None = None
    score_below: float | None = None
    # inv / dir
    perturb: tuple[Perturbation, ...] = ()
    tolerance: float = 0.0
    expect: str | None = None
    min_delta: float = 0.0
    # coverage
    unseen_categories: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    where: str = field(default="", compare=False, repr=False)

    def columns(self) -> dict[str, str]:
        """Column -> the key that reads it (to check a frame before doing any work)."""
        out: dict[str, str] = {}
        if self.rows is not None:
            out.update(dict.fromkeys(sorted(self.rows.columns()), "rows"))
        for p in self.perturb:
            out.setdefault(p.column, "perturb")
        for i, case in enumerate(self.cases):
            for c in case:
                out.setdefault(c, f"cases[{i}]")
        for c in self.base:
            out.setdefault(c, "base")
        for c in self.unseen_categories:
            out.setdefault(c, "unseen_categories")
        for c in self.missing:
            out.setdefault(c, "missing")
        return out


@dataclass(frozen=True)
class BehavioralSpec:
    tests: tuple[BehavioralTest, ...]
    min_rows: int = DEFAULT_MIN_ROWS
    base: Mapping[str, Any] = field(default_factory=lambda: types.MappingProxyType({}))
    fail_on_skip: bool = False
    source: str = "behavioral spec"


def load_spec(mapping: Any, *, source: str) -> BehavioralSpec:
    """Validate a parsed YAML spec; ParamsError lists every problem with its test and key.

    Example line: ``behavioral.yaml: tests[3] 'contract_dir': missing key 'expect'``.
    Column names are checked later, against the data, by :func:`run_suite`.
    """
    doc: SpecFile = validate(SpecFile, mapping, source=source, top="a mapping with a 'tests' list")
    return BehavioralSpec(
        tests=tuple(_test(t, f"{source}: tests[{i}] '{t.name}'") for i, t in enumerate(doc.tests)),
        min_rows=doc.min_rows,
        base=types.MappingProxyType(dict(doc.base)),
        fail_on_skip=doc.fail_on_skip,
        source=source,
    )


def _test(test: MftTest | InvTest | DirTest | CoverageTest, where: str) -> BehavioralTest:
    fields: dict[str, Any] = {
        "name": test.name,
        "type": test.type,
        "where": where,
        "threshold": test.threshold,
        "description": test.description,
    }
    if isinstance(test, MftTest):
        expect = test.expect
        fields.update(
            cases=tuple(types.MappingProxyType(dict(c)) for c in test.cases),
            base=types.MappingProxyType(dict(test.base)),
            score_above=expect.score_above,
            score_below=expect.score_below,
        )
        return BehavioralTest(**fields)
    if test.rows is not None:
        fields["rows"] = parse_predicate(test.rows, where=f"{where}: rows")
    fields["min_rows"] = test.min_rows
    if isinstance(test, InvTest):
        fields.update(perturb=_perturbations(test.perturb), tolerance=test.tolerance)
    elif isinstance(test, DirTest):
        fields.update(
            perturb=_perturbations(test.perturb),
            expect=test.expect,
            min_delta=test.min_delta or 0.0,
            tolerance=test.tolerance or 0.0,
        )
    else:
        fields.update(
            unseen_categories=tuple(dict.fromkeys(test.unseen_categories)),
            missing=tuple(dict.fromkeys(test.missing)),
        )
    return BehavioralTest(**fields)


def _perturbations(steps: list[Step]) -> tuple[Perturbation, ...]:
    """One Perturbation per column of each step, in the order written."""
    out: list[Perturbation] = []
    for step in steps:
        kind = next(k for k in PERTURBATIONS if getattr(step, k) is not None)
        arg = getattr(step, kind)
        if kind in ("shuffle", "rekey"):
            out.append(Perturbation(kind, arg))
        elif kind == "map":
            out.extend(Perturbation(kind, c, tuple(pairs.items())) for c, pairs in arg.items())
        else:
            out.extend(Perturbation(kind, c, value) for c, value in arg.items())
    return tuple(out)
