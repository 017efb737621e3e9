"""The behavioral spec: its validated objects and the loader that builds them from YAML."""

from __future__ import annotations

import contextlib
import difflib
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlgate.behavioral.perturbations import Perturbation
from mlgate.errors import ParamsError
from mlgate.slices import Predicate, parse_predicate, show_value

TEST_TYPES = ("mft", "inv", "dir", "coverage")


DIRECTIONS = ("increase", "decrease", "not_increase", "not_decrease")


PERTURBATIONS = ("set", "map", "add", "multiply", "shuffle", "rekey")


UNSEEN = "__mlgate_unseen__"


DEFAULT_MIN_ROWS = 30


_COMMON = ("name", "type", "description", "threshold")


_KEYS: dict[str, tuple[str, ...]] = {
    "mft": (*_COMMON, "cases", "base", "expect"),
    "inv": (*_COMMON, "rows", "min_rows", "perturb", "tolerance"),
    "dir": (*_COMMON, "rows", "min_rows", "perturb", "expect", "min_delta", "tolerance"),
    "coverage": (*_COMMON, "rows", "min_rows", "unseen_categories", "missing"),
}


_REQUIRED: dict[str, tuple[str, ...]] = {
    "mft": ("cases", "expect"),
    "inv": ("perturb", "tolerance"),
    "dir": ("perturb", "expect"),
    "coverage": (),
}


_TOP_KEYS = ("min_rows", "base", "fail_on_skip", "tests")


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
    """Validate a parsed YAML spec; every error names ``source``, the test index and name.

    Example message: ``behavioral.yaml: tests[3] 'contract_dir': missing key 'expect'``.
    Column names are checked later, against the data, by :func:`run_suite`.
    """
    if not isinstance(mapping, Mapping):
        raise ParamsError(
            f"{source}: expected a mapping with a 'tests' list, got {show_value(mapping)}"
        )
    _reject_unknown(mapping, _TOP_KEYS, f"{source}: ")
    min_rows = _int(mapping.get("min_rows", DEFAULT_MIN_ROWS), f"{source}: min_rows", low=1)
    base = _record(mapping.get("base", {}), f"{source}: base")
    fail_on_skip = mapping.get("fail_on_skip", False)
    if not isinstance(fail_on_skip, bool):
        raise ParamsError(
            f"{source}: fail_on_skip: expected true or false, got {show_value(fail_on_skip)}"
        )
    raw_tests = mapping.get("tests")
    if not isinstance(raw_tests, list) or not raw_tests:
        raise ParamsError(
            f"{source}: tests: expected a non-empty list of tests, got {show_value(raw_tests)}"
        )
    tests: list[BehavioralTest] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_tests):
        test = _load_test(raw, f"{source}: tests[{i}]")
        if test.name in seen:
            raise ParamsError(
                f"{test.where}: duplicate name; tests[{seen[test.name]}] already uses it"
            )
        seen[test.name] = i
        tests.append(test)
    return BehavioralSpec(
        tests=tuple(tests),
        min_rows=min_rows,
        base=types.MappingProxyType(base),
        fail_on_skip=fail_on_skip,
        source=source,
    )


def _load_test(raw: Any, at: str) -> BehavioralTest:
    if not isinstance(raw, Mapping):
        raise ParamsError(f"{at}: expected a mapping with name and type, got {show_value(raw)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ParamsError(f"{at}: missing key 'name' (a non-empty string)")
    where = f"{at} '{name}'"
    kind = raw.get("type")
    if kind not in TEST_TYPES:
        raise ParamsError(
            f"{where}: type: expected one of {', '.join(TEST_TYPES)}, got {show_value(kind)}"
        )
    _reject_unknown(raw, _KEYS[kind], f"{where}: ", what=f" for a {kind} test")
    for key in _REQUIRED[kind]:
        if key not in raw:
            raise ParamsError(f"{where}: missing key '{key}'")
    fields: dict[str, Any] = {
        "name": name,
        "type": kind,
        "where": where,
        "threshold": _unit(raw.get("threshold", 0.0), f"{where}: threshold"),
    }
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ParamsError(
            f"{where}: description: expected a string, got {show_value(description)}"
        )
    fields["description"] = description
    if raw.get("rows") is not None:
        fields["rows"] = parse_predicate(raw["rows"], where=f"{where}: rows")
    if "min_rows" in raw:
        fields["min_rows"] = _int(raw["min_rows"], f"{where}: min_rows", low=1)
    if kind == "mft":
        fields.update(_load_mft(raw, where))
    elif kind in ("inv", "dir"):
        fields["perturb"] = _load_perturb(raw["perturb"], f"{where}: perturb")
        if kind == "inv":
            fields["tolerance"] = _nonneg(raw["tolerance"], f"{where}: tolerance")
        else:
            fields.update(_load_dir(raw, where))
    else:
        fields.update(_load_coverage(raw, where))
    return BehavioralTest(**fields)


def _load_mft(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    cases = raw["cases"]
    if not isinstance(cases, list) or not cases:
        raise ParamsError(
            f"{where}: cases: expected a non-empty list of records, got {show_value(cases)}"
        )
    records = tuple(
        types.MappingProxyType(_record(c, f"{where}: cases[{i}]")) for i, c in enumerate(cases)
    )
    expect = raw["expect"]
    if not isinstance(expect, Mapping) or not expect:
        raise ParamsError(
            f"{where}: expect: expected {{score_above: x}} and/or {{score_below: x}}, "
            f"got {show_value(expect)}"
        )
    _reject_unknown(expect, ("score_above", "score_below"), f"{where}: expect: ")
    above = expect.get("score_above")
    below = expect.get("score_below")
    above = None if above is None else _unit(above, f"{where}: expect.score_above")
    below = None if below is None else _unit(below, f"{where}: expect.score_below")
    if above is not None and below is not None and above >= below:
        raise ParamsError(
            f"{where}: expect: score_above ({above}) must be smaller than score_below ({below})"
        )
    return {
        "cases": records,
        "base": types.MappingProxyType(_record(raw.get("base", {}), f"{where}: base")),
        "score_above": above,
        "score_below": below,
    }


def _load_dir(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    expect = raw["expect"]
    if expect not in DIRECTIONS:
        raise ParamsError(
            f"{where}: expect: expected one of {', '.join(DIRECTIONS)}, got {show_value(expect)}"
        )
    strict = expect in ("increase", "decrease")
    if strict and "tolerance" in raw:
        raise ParamsError(
            f"{where}: tolerance applies to not_increase / not_decrease; "
            f"use min_delta (required effect size) with '{expect}'"
        )
    if not strict and "min_delta" in raw:
        raise ParamsError(
            f"{where}: min_delta applies to increase / decrease; "
            f"use tolerance (allowed slack) with '{expect}'"
        )
    return {
        "expect": expect,
        "min_delta": _nonneg(raw.get("min_delta", 0.0), f"{where}: min_delta"),
        "tolerance": _nonneg(raw.get("tolerance", 0.0), f"{where}: tolerance"),
    }


def _load_coverage(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    unseen = _columns_list(raw.get("unseen_categories", []), f"{where}: unseen_categories")
    missing = _columns_list(raw.get("missing", []), f"{where}: missing")
    both = sorted(set(unseen) & set(missing))
    if both:
        raise ParamsError(
            f"{where}: column '{both[0]}' is in both unseen_categories and missing; "
            f"the stressed copy can hold only one of them"
        )
    return {"unseen_categories": unseen, "missing": missing}


def _load_perturb(raw: Any, where: str) -> tuple[Perturbation, ...]:
    steps = raw if isinstance(raw, list) else [raw]
    if not steps:
        raise ParamsError(f"{where}: expected at least one perturbation")
    out: list[Perturbation] = []
    for i, step in enumerate(steps):
        at = f"{where}[{i}]" if isinstance(raw, list) else where
        if not isinstance(step, Mapping) or len(step) != 1:
            raise ParamsError(
                f"{at}: expected a mapping with exactly one of {', '.join(PERTURBATIONS)}, "
                f"got {show_value(step)}"
            )
        ((kind, arg),) = step.items()
        if kind not in PERTURBATIONS:
            raise ParamsError(
                f"{at}: unknown perturbation {kind!r}; expected one of {', '.join(PERTURBATIONS)}"
            )
        out.extend(_load_step(kind, arg, f"{at}.{kind}"))
    return tuple(out)


def _load_step(kind: str, arg: Any, at: str) -> list[Perturbation]:
    if kind in ("shuffle", "rekey"):
        if not isinstance(arg, str) or not arg:
            raise ParamsError(f"{at}: expected a column name, got {show_value(arg)}")
        return [Perturbation(kind, arg)]
    if not isinstance(arg, Mapping) or not arg:
        raise ParamsError(f"{at}: expected a mapping of column -> value, got {show_value(arg)}")
    out = []
    for column, value in arg.items():
        if not isinstance(column, str) or not column:
            raise ParamsError(f"{at}: expected column names as keys, got {show_value(column)}")
        key = f"{at}.{column}"
        if kind == "set":
            out.append(Perturbation(kind, column, _scalar(value, key, allow_null=True)))
        elif kind == "map":
            if not isinstance(value, Mapping) or not value:
                raise ParamsError(
                    f"{key}: expected a mapping of old -> new value, got {show_value(value)}"
                )
            pairs = tuple(
                (
                    _scalar(old, key, allow_null=False),
                    _scalar(new, f"{key}.{old}", allow_null=True),
                )
                for old, new in value.items()
            )
            out.append(Perturbation(kind, column, pairs))
        elif kind == "add" and isinstance(value, str):
            out.append(Perturbation(kind, column, _duration(value, key)))
        else:
            out.append(Perturbation(kind, column, _number(value, key)))
    return out


def _duration(value: str, where: str) -> pd.Timedelta:
    try:
        return pd.Timedelta(value)
    except (TypeError, ValueError) as exc:
        raise ParamsError(
            f"{where}: expected a number, or a duration such as '-365 days' for a date "
            f"column, got {value!r} ({exc})"
        ) from None


def _reject_unknown(
    raw: Mapping[Any, Any], allowed: tuple[str, ...], prefix: str, what: str = ""
) -> None:
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = (
                f"did you mean '{close[0]}'?" if close else f"expected one of {', '.join(allowed)}"
            )
            raise ParamsError(f"{prefix}unknown key '{key}'{what}; {hint}")


def _record(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ParamsError(f"{where}: expected a mapping of column -> value, got {show_value(raw)}")
    out = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key:
            raise ParamsError(f"{where}: expected column names as keys, got {show_value(key)}")
        out[key] = _scalar(value, f"{where}.{key}", allow_null=True)
    return out


def _scalar(value: Any, where: str, *, allow_null: bool) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        if allow_null:
            return None
        raise ParamsError(f"{where}: expected a value, got null")
    if isinstance(value, float) and math.isnan(value):
        if allow_null:
            return None
        raise ParamsError(f"{where}: expected a value, got NaN")
    if isinstance(value, str | bool | int | float) or hasattr(value, "isoformat"):
        return value
    raise ParamsError(f"{where}: expected a single value, got {show_value(value)}")


def _number(value: Any, where: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        hint = ""
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                float(value)
                # PyYAML follows YAML 1.1, where 1e-9 (no dot) is a string, not a number.
                hint = " (YAML reads exponents without a dot as text: write e.g. 1.0e-9)"
        raise ParamsError(f"{where}: expected a finite number, got {show_value(value)}{hint}")
    return value


def _nonneg(value: Any, where: str) -> float:
    number = _number(value, where)
    if number < 0:
        raise ParamsError(f"{where}: expected a number >= 0, got {number!r}")
    return float(number)


def _unit(value: Any, where: str) -> float:
    number = _number(value, where)
    if not 0.0 <= number <= 1.0:
        raise ParamsError(f"{where}: expected a number in [0, 1], got {number!r}")
    return float(number)


def _int(value: Any, where: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ParamsError(f"{where}: expected an integer >= {low}, got {show_value(value)}")
    return value


def _columns_list(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(c, str) and c for c in raw):
        raise ParamsError(f"{where}: expected a list of column names, got {show_value(raw)}")
    return tuple(dict.fromkeys(raw))
