"""The behavioral spec checked against the contract: columns, categories, one pass."""

from __future__ import annotations

from pathlib import Path

import pandera.pandas as pa
import pytest
import yaml

from mlgate.behavioral import load_spec
from mlgate.behavioral.contract import check_spec, spec_problems
from mlgate.errors import ParamsError

SCHEMA = pa.DataFrameSchema(
    {
        "customer_id": pa.Column(str),
        "contract": pa.Column(str, pa.Check.isin(["Month-to-month", "One year", "Two year"])),
        "senior": pa.Column(int, pa.Check.isin([0, 1])),
        "tenure": pa.Column(int, pa.Check.in_range(0, 80)),
        "paperless": pa.Column(str, pa.Check.isin(["Yes", "No"])),
    }
)


def spec(*tests: dict, base: dict | None = None) -> object:
    raw: dict = {"tests": list(tests)}
    if base:
        raw["base"] = base
    return load_spec(raw, source="behavioral.yaml")


def dir_test(perturb: dict, rows: dict | None = None, name: str = "t") -> dict:
    test = {"name": name, "type": "dir", "perturb": perturb, "expect": "decrease"}
    if rows:
        test["rows"] = rows
    return test


def test_a_misspelt_category_in_set_is_refused_with_a_did_you_mean() -> None:
    problems = spec_problems(spec(dir_test({"set": {"contract": "Two-year"}})), SCHEMA)
    assert len(problems) == 1
    assert "perturb.set: contract = 'Two-year' is not a value the contract allows" in problems[0]
    assert "did you mean 'Two year'?" in problems[0]


def test_the_right_category_passes() -> None:
    good = spec(
        dir_test(
            {"set": {"contract": "Two year"}},
            rows={"column": "contract", "op": "==", "value": "Month-to-month"},
        )
    )
    assert spec_problems(good, SCHEMA) == []
    check_spec(good, SCHEMA, contract="c.yaml")  # no error


def test_every_problem_is_collected_in_one_pass() -> None:
    bad = spec(
        dir_test(
            {"set": {"contract": "two year"}},
            rows={"column": "contract", "op": "in", "value": ["Monthly", "One year"]},
            name="a",
        ),
        {
            "name": "b",
            "type": "inv",
            "perturb": {"map": {"paperless": {"Yes": "Nope"}}},
            "tolerance": 0.1,
        },
        {
            "name": "c",
            "type": "mft",
            "cases": [{"contract": "2 year", "tenure": 5}, {"tenur": 3}],
            "expect": {"score_below": 0.5},
        },
        {"name": "d", "type": "coverage", "unseen_categories": ["contrakt"]},
        base={"senior": 2},
    )
    with pytest.raises(ParamsError) as info:
        check_spec(bad, SCHEMA, contract="contracts/c.yaml")
    message = str(info.value)
    assert "7 problem(s) against the contract contracts/c.yaml" in message
    for expected in (
        "base: senior = 2",
        "'a': perturb.set: contract = 'two year'",
        "did you mean 'Two year'?",  # case-folded match
        "'a': rows: contract = 'Monthly'",
        "'b': perturb.map: paperless = 'Nope'",
        "'c': cases[0]: contract = '2 year'",
        "'c': cases[1]: column 'tenur' is not in the contract; did you mean 'tenure'?",
        "'d': coverage: column 'contrakt' is not in the contract",
    ):
        assert expected in message, message
    assert message.count("'a': rows:") == 1  # "One year" is allowed: not listed


def test_numbers_and_yaml_types_match_the_contract_loosely() -> None:
    ok = spec(
        dir_test({"set": {"senior": 1}}, rows={"column": "tenure", "op": "<", "value": 6}),
    )
    assert spec_problems(ok, SCHEMA) == []
    # A comparison on an unrestricted column names no category.
    assert spec_problems(spec(dir_test({"add": {"tenure": 12}})), SCHEMA) == []


def test_the_shipped_spec_passes_the_shipped_contract(repo_root: Path) -> None:
    from mlgate.data.contract import load_contract

    raw = yaml.safe_load((repo_root / "contracts/behavioral.yaml").read_text(encoding="utf-8"))
    shipped = load_spec(raw, source="contracts/behavioral.yaml")
    assert spec_problems(shipped, load_contract(repo_root / "contracts/churn.yaml")) == []
