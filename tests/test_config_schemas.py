"""The committed JSON Schemas are what the config models generate, and agree with the loaders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mlgate.config_schemas import SCHEMAS, generate, main, render
from mlgate.errors import ParamsError
from mlgate.params import params_from_dict

REPO = Path(__file__).resolve().parents[1]
PARAMS_SCHEMA = "schemas/params.schema.json"
SPEC_SCHEMA = "schemas/behavioral.schema.json"


def _schema(rel: str) -> dict[str, Any]:
    return json.loads((REPO / rel).read_text(encoding="utf-8"))


@pytest.mark.parametrize("rel", sorted(SCHEMAS))
def test_committed_schema_equals_what_the_models_generate(rel: str) -> None:
    title, description, model = SCHEMAS[rel]
    expected = render(generate(model, title=title, description=description))
    assert (REPO / rel).read_text(encoding="utf-8") == expected, (
        f"{rel} is stale: run python -m mlgate.config_schemas"
    )


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0  # writes both
    assert main(["--check", str(tmp_path)]) == 0
    (tmp_path / PARAMS_SCHEMA).write_text("{}\n", encoding="utf-8")
    assert main(["--check", str(tmp_path)]) == 1


@pytest.mark.parametrize(
    ("rel", "document"),
    [(PARAMS_SCHEMA, "params.yaml"), (SPEC_SCHEMA, "contracts/behavioral.yaml")],
)
def test_shipped_files_satisfy_their_schema(rel: str, document: str) -> None:
    raw = yaml.safe_load((REPO / document).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(_schema(rel)).validate(raw)


@pytest.mark.parametrize(
    "edit",
    [
        {"split": {"holdout_fraction": 1.0}},  # exclusive maximum
        {"split": {"holdout_fration": 0.3}},  # unknown key
        {"gate": {"min_auc": "high"}},  # type
        {"gate": {"first_model": "always"}},  # enum
        {"serving": {"workers": 17}},  # maximum
        {"evaluate": {"slices": {"s": {"column": "x", "op": "=~", "value": 1}}}},  # predicate
        {"evaluate": {"slices": {"s": {"all": []}}}},  # empty combinator
    ],
)
def test_schema_and_loader_refuse_the_same_params(edit: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(_schema(PARAMS_SCHEMA))
    assert list(validator.iter_errors(edit)), f"schema accepts {edit}"
    with pytest.raises(ParamsError):
        params_from_dict(edit)


def test_schema_accepts_one_perturbation_or_a_list() -> None:
    validator = jsonschema.Draft202012Validator(_schema(SPEC_SCHEMA))
    test = {"name": "t", "type": "inv", "tolerance": 0}
    one = {"tests": [{**test, "perturb": {"shuffle": "a"}}]}
    many = {"tests": [{**test, "perturb": [{"shuffle": "a"}, {"add": {"b": 1}}]}]}
    two_kinds = {"tests": [{**test, "perturb": {"shuffle": "a", "rekey": "b"}}]}
    assert not list(validator.iter_errors(one))
    assert not list(validator.iter_errors(many))
    assert list(validator.iter_errors(two_kinds))
