"""What ``mlgate init`` decides from the table itself: the positive label, each column's
feature treatment, the slices, and the starter behavioral spec (see mlgate.init_project)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlgate.errors import DataError

MAX_ONEHOT = 20  # distinct values up to which a text column is one-hot encoded
MAX_SLICE_VALUES = 6  # a categorical with at most this many values gets one slice per value
MAX_SLICES = 24
POSITIVE_WORDS = ("yes", "true", "1", "y", "churned", "positive")


@dataclass(frozen=True)
class FeaturePlan:
    numeric: list[str]
    categorical: list[str]
    frequency: list[str]
    flags: list[str]  # numeric 0/1 or boolean columns (also in numeric)
    left_out: dict[str, str]  # column -> why


def choose_positive_label(values: pd.Series, given: str | None) -> Any:
    seen = sorted(values.dropna().astype(str).unique())
    if given is not None:
        if str(given) not in seen:
            raise DataError(
                f"--positive-label {given!r} is not a value of the target; values are {seen}"
            )
        return _native(values, given)
    if len(seen) != 2:
        raise DataError(
            f"target has {len(seen)} distinct values {seen[:10]}; expected 2 (a binary "
            "target), or name the positive one with --positive-label"
        )
    for word in POSITIVE_WORDS:
        match = [v for v in seen if v.lower() == word]
        if match:
            return _native(values, match[0])
    raise DataError(f"cannot tell which target value is positive in {seen}: --positive-label")


def _native(values: pd.Series, text: str) -> Any:
    """The label in the column's own type (1, True or "Yes"), as params.yaml should hold it."""
    for value in values.dropna().unique():
        if str(value) == str(text):
            return value.item() if isinstance(value, np.generic) else value
    return text


def plan_features(frame: pd.DataFrame, *, id_column: str, target: str) -> FeaturePlan:
    numeric: list[str] = []
    categorical: list[str] = []
    frequency: list[str] = []
    flags: list[str] = []
    left_out: dict[str, str] = {}
    for column in frame.columns:
        if column in (id_column, target):
            continue
        series = frame[column]
        present = series.dropna()
        distinct = present.nunique()
        if distinct <= 1:
            left_out[column] = "constant or empty: nothing to learn"
        elif pd.api.types.is_bool_dtype(series) or (
            pd.api.types.is_numeric_dtype(series) and set(present.unique()) <= {0, 1}
        ):
            numeric.append(column)
            flags.append(column)
        elif pd.api.types.is_numeric_dtype(series):
            numeric.append(column)
        elif pd.api.types.is_datetime64_any_dtype(series) or _looks_like_dates(present):
            left_out[column] = (
                "dates: set its contract dtype to datetime64[ms] with coerce: true, then add "
                "it to features.cyclical_dates / days_since_dates"
            )
        elif distinct <= MAX_ONEHOT:
            categorical.append(column)
        elif distinct <= 0.5 * len(present):
            frequency.append(column)
        else:
            left_out[column] = (
                f"text with {distinct:,} distinct values: an identifier or free text"
            )
    return FeaturePlan(numeric, categorical, frequency, flags, left_out)


def _looks_like_dates(present: pd.Series) -> bool:
    sample = present.astype(str).head(200)
    if sample.empty or not sample.str.match(r"^\d{4}-\d{2}-\d{2}").all():
        return False
    return bool(pd.to_datetime(sample, errors="coerce", format="ISO8601").notna().all())


def plan_slices(frame: pd.DataFrame, plan: FeaturePlan) -> dict[str, dict[str, Any]]:
    """One ``==`` slice per value of each flag and low-cardinality categorical."""
    slices: dict[str, dict[str, Any]] = {}
    for column in [*plan.flags, *plan.categorical]:
        values = sorted(frame[column].dropna().unique(), key=str)
        if len(values) > MAX_SLICE_VALUES:
            continue
        for value in values:
            if len(slices) >= MAX_SLICES:
                return slices
            native = value.item() if isinstance(value, np.generic) else value
            name = re.sub(r"[^A-Za-z0-9_-]+", "_", f"{column}_{native}").strip("_").lower()
            if not re.match(r"^[A-Za-z_]", name):
                name = f"_{name}"
            slices[name] = {"column": column, "op": "==", "value": native}
    return slices


def behavioral_spec(frame: pd.DataFrame, plan: FeaturePlan, *, id_column: str, source: str) -> str:
    import yaml

    tests: list[dict[str, Any]] = [
        {
            "name": "id_does_not_matter",
            "type": "inv",
            "description": f"New values of {id_column} must not change any score.",
            "perturb": {"rekey": id_column},
            "tolerance": 1.0e-9,
            "threshold": 0.0,
        },
        {
            "name": "scores_cover_unseen_and_missing",
            "type": "coverage",
            "description": "Scores stay finite and in [0, 1] with unseen categories and "
            "missing numbers.",
            "unseen_categories": [*plan.categorical, *plan.frequency],
            "missing": [c for c in plan.numeric if c not in plan.flags][:10],
            "threshold": 0.0,
        },
    ]
    if not tests[1]["unseen_categories"]:
        del tests[1]["unseen_categories"]
    if not tests[1]["missing"]:
        del tests[1]["missing"]
    head = (
        f"# Behavioral tests drafted by `mlgate init` for {source}.\n"
        "# Format: see the mlgate.behavioral package docstring. The two tests below hold for\n"
        "# any sound model. The templates at the end are commented out: each states an\n"
        "# expectation about YOUR data that mlgate cannot know. Confirm (or correct) it, then\n"
        "# uncomment it. Categories must be ones the contract allows (checked at run time).\n\n"
    )
    body = yaml.safe_dump(
        {"min_rows": 30, "fail_on_skip": False, "tests": tests}, sort_keys=False, width=96
    )
    return head + body + _templates(frame, plan)


def _templates(frame: pd.DataFrame, plan: FeaturePlan) -> str:
    import yaml

    templates: list[dict[str, Any]] = []
    cats = [c for c in plan.categorical if 2 <= frame[c].nunique() <= MAX_SLICE_VALUES]
    if cats:
        column = cats[0]
        a, b = sorted(map(str, frame[column].dropna().unique()))[:2]
        templates.append(
            {
                "name": f"{column}_does_not_matter",
                "type": "inv",
                "description": f"CONFIRM: {column} should not move scores much.",
                "perturb": {"map": {column: {a: b, b: a}}},
                "tolerance": 0.1,
                "threshold": 0.05,
            }
        )
    numbers = [c for c in plan.numeric if c not in plan.flags]
    if numbers:
        column = numbers[0]
        templates.append(
            {
                "name": f"more_{column}_does_not_lower_risk",
                "type": "dir",
                "description": f"CONFIRM the direction: 20% more {column} does not lower the "
                "score (use not_increase if it should not raise it).",
                "perturb": {"multiply": {column: 1.2}},
                "expect": "not_decrease",
                "tolerance": 0.01,
                "threshold": 0.1,
            }
        )
    if not templates:
        return ""
    text = yaml.safe_dump(templates, sort_keys=False, width=92)
    # At column 0: deleting "# " leaves items at the indentation of the tests above.
    lines = "".join(f"# {line}\n" for line in text.splitlines())
    return "\n# ---- templates: confirm, then uncomment (delete the leading '# ')\n" + lines


def self_check(
    contract_text: str, spec_text: str, spec_path: str, slices: dict[str, dict[str, Any]]
) -> None:
    """The drafted spec and slices must load and agree with the drafted contract, as the
    behavioral and evaluate stages will check (a bug otherwise)."""
    import pandera.pandas as pa
    import yaml

    from mlgate.behavioral import load_spec
    from mlgate.behavioral.contract import check_spec
    from mlgate.slice_contract import check_slices
    from mlgate.slices import parse_slices

    schema = pa.DataFrameSchema.from_yaml(contract_text)
    spec = load_spec(yaml.safe_load(spec_text), source=spec_path)
    check_spec(spec, schema, contract="the draft")
    where = "mlgate init: drafted evaluate.slices"
    check_slices(parse_slices(slices, where=where), schema, contract="the draft", where=where)
