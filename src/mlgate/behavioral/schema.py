"""The behavioral spec file as typed models: what may be written where, checked in one pass.

These models describe the YAML as a user writes it (a test's ``type`` picks its model,
perturbations are one-key mappings, ``perturb`` may be one mapping or a list);
:mod:`mlgate.behavioral.spec` turns a validated file into the objects the runners use. The
same models give schemas/behavioral.schema.json.
"""

from __future__ import annotations

import math
from dataclasses import field
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass

from mlgate.config.fields import Bool, Check, Expected, Integer, Num, OneOf, OneOrMore, Rule, Str
from mlgate.config.fields import Text as _Text
from mlgate.config.predicates import Predicate

__all__ = ["DIRECTIONS", "PERTURBATIONS", "SpecFile", "Step", "TestEntry"]

DIRECTIONS = ("increase", "decrease", "not_increase", "not_decrease")
PERTURBATIONS = ("set", "map", "add", "multiply", "shuffle", "rekey")
DEFAULT_MIN_ROWS = 30
_STRICT = ConfigDict(extra="forbid")


class Cell(Check):
    """One value of a record: text, number, boolean or date; NaN is read as null."""

    def __init__(self, *, allow_null: bool) -> None:
        self.allow_null = allow_null

    def check(self, value: Any) -> Any:
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if self.allow_null:
                return None
            raise Expected("a value, not null")
        if isinstance(value, str | bool | int | float) or hasattr(value, "isoformat"):
            return value
        raise Expected("a single value")

    def schema(self) -> dict[str, Any]:
        kinds = ["string", "number", "boolean"] + (["null"] if self.allow_null else [])
        return {"type": kinds}


class Finite(Check):
    """A finite number, kept as written (an int stays an int: it decides a column's dtype)."""

    def check(self, value: Any) -> Any:
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Expected("a finite number")
        if not math.isfinite(value):
            raise Expected("a finite number")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "number"}


class Addend(Finite):
    """A number, or a duration (``'-365 days'``, parsed by pandas.Timedelta) for dates."""

    def check(self, value: Any) -> Any:
        if not isinstance(value, str):
            return super().check(value)
        try:
            return pd.Timedelta(value)
        except (TypeError, ValueError):
            raise Expected(
                "a number, or a duration such as '-365 days' for a date column"
            ) from None

    def schema(self) -> dict[str, Any]:
        return {"type": ["number", "string"]}


def _not_empty(value: Any) -> bool:
    return len(value) > 0


Column = Annotated[str, _Text(non_empty=True, text="a column name")]
Value = Annotated[Any, Cell(allow_null=True)]
Record = dict[Column, Value]  # column -> value (null = missing)
Changes = Annotated[dict[Column, Value], Rule(_not_empty, "a mapping of column -> value")]
Pairs = Annotated[
    dict[Annotated[Any, Cell(allow_null=False)], Value],
    Rule(_not_empty, "a mapping of old -> new value"),
]
Fraction = Annotated[float, Num(ge=0, le=1)]
NonNegative = Annotated[float, Num(ge=0)]
MinRows = Annotated[int, Integer(ge=1)]
Rows = Annotated[Any, Predicate()]


@dataclass(
    frozen=True,
    config=ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1, "maxProperties": 1}),
)
class Step:
    """One perturbation: a mapping with exactly one of its keys."""

    set: Changes | None = None
    map: (
        Annotated[dict[Column, Pairs], Rule(_not_empty, "a mapping of column -> {old: new}")]
        | None
    ) = None
    add: (
        Annotated[
            dict[Column, Annotated[Any, Addend()]],
            Rule(_not_empty, "a mapping of column -> number"),
        ]
        | None
    ) = None
    multiply: (
        Annotated[
            dict[Column, Annotated[Any, Finite()]],
            Rule(_not_empty, "a mapping of column -> number"),
        ]
        | None
    ) = None
    shuffle: Column | None = None
    rekey: Column | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Step:
        given = [k for k in PERTURBATIONS if getattr(self, k) is not None]
        if len(given) != 1:
            raise Expected(
                f"expected a mapping with exactly one of {', '.join(PERTURBATIONS)}; "
                f"found {', '.join(given) or 'none'}",
                plain=True,
            )
        return self


Perturb = Annotated[list[Step], OneOrMore(Step), Rule(_not_empty, "at least one perturbation")]


@dataclass(frozen=True, kw_only=True, config=_STRICT)
class _Test:
    name: Annotated[str, _Text(non_empty=True)]
    description: Str = ""
    threshold: Fraction = 0.0  # the largest failure rate that still passes


@dataclass(frozen=True, kw_only=True, config=_STRICT)
class _RowsTest(_Test):
    """A test on holdout rows (all but mft, which has cases)."""

    rows: Rows = None  # a slice predicate; None = all rows
    min_rows: MinRows | None = None  # None = the spec's min_rows


@dataclass(frozen=True, config=_STRICT)
class MftExpect:
    score_above: Fraction | None = None
    score_below: Fraction | None = None

    @model_validator(mode="after")
    def _bounds(self) -> MftExpect:
        above, below = self.score_above, self.score_below
        if above is None and below is None:
            raise Expected("expected {score_above: x} and/or {score_below: x}", plain=True)
        if above is not None and below is not None and above >= below:
            raise Expected(
                f"score_above ({above}) must be smaller than score_below ({below})", plain=True
            )
        return self


@dataclass(frozen=True, kw_only=True, config=_STRICT)
class MftTest(_Test):
    what: ClassVar[str] = " for a mft test"
    type: Literal["mft"]
    cases: Annotated[list[Record], Rule(_not_empty, "a non-empty list of records")]
    base: Record = field(default_factory=dict)
    expect: MftExpect


@dataclass(frozen=True, kw_only=True, config=_STRICT)
class InvTest(_RowsTest):
    what: ClassVar[str] = " for a inv test"
    type: Literal["inv"]
    perturb: Perturb
    tolerance: NonNegative


@dataclass(frozen=True, kw_only=True, config=_STRICT)
class DirTest(_RowsTest):
    what: ClassVar[str] = " for a dir test"
    type: Literal["dir"]
    perturb: Perturb
    expect: Annotated[str, OneOf(*DIRECTIONS)]
    min_delta: NonNegative | None = None  # required effect size (increase / decrease)
    tolerance: NonNegative | None = None  # allowed slack (not_increase / not_decrease)

    @model_validator(mode="after")
    def _right_slack(self) -> DirTest:
        strict = self.expect in ("increase", "decrease")
        if strict and self.tolerance is not None:
            raise Expected(
                "tolerance applies to not_increase / not_decrease; "
                f"use min_delta (required effect size) with '{self.expect}'",
                plain=True,
            )
        if not strict and self.min_delta is not None:
            raise Expected(
                "min_delta applies to increase / decrease; "
                f"use tolerance (allowed slack) with '{self.expect}'",
                plain=True,
            )
        return self


@dataclass(frozen=True, kw_only=True, config=_STRICT)
class CoverageTest(_RowsTest):
    what: ClassVar[str] = " for a coverage test"
    type: Literal["coverage"]
    unseen_categories: tuple[Column, ...] = ()
    missing: tuple[Column, ...] = ()

    @model_validator(mode="after")
    def _one_stress_per_column(self) -> CoverageTest:
        both = sorted(set(self.unseen_categories) & set(self.missing))
        if both:
            raise Expected(
                f"column '{both[0]}' is in both unseen_categories and missing; "
                "the stressed copy can hold only one of them",
                plain=True,
            )
        return self


TestEntry = Annotated[MftTest | InvTest | DirTest | CoverageTest, Field(discriminator="type")]


@dataclass(frozen=True, config=_STRICT)
class SpecFile:
    """A behavioral spec (contracts/behavioral.yaml): shared settings and the tests."""

    tests: Annotated[list[TestEntry], Rule(_not_empty, "a non-empty list of tests")]
    min_rows: MinRows = DEFAULT_MIN_ROWS
    base: Record = field(default_factory=dict)
    fail_on_skip: Bool = False

    @model_validator(mode="after")
    def _unique_names(self) -> SpecFile:
        seen: dict[str, int] = {}
        for i, test in enumerate(self.tests):
            if test.name in seen:
                raise Expected(
                    f"duplicate name; tests[{seen[test.name]}] already uses it",
                    key=["tests", i],
                    plain=True,
                )
            seen[test.name] = i
        return self
