"""Loading params.yaml: defaults, and errors naming the file, the dotted key, the expectation."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.errors import MlgateError, ParamsError
from mlgate.params import NumericDrift, Params, load_params, params_from_dict

REPO_ROOT = Path(__file__).resolve().parents[1]


def _error(raw: Any) -> str:
    with pytest.raises(ParamsError) as info:
        params_from_dict(raw)
    return str(info.value)


# --------------------------------------------------------------------------- defaults


def test_empty_mapping_gives_documented_defaults() -> None:
    params = params_from_dict({})
    assert params == Params()
    assert params.split.holdout_fraction == 0.3
    assert params.split.salt == "mlgate-v1"
    assert params.generate.n_rows == 20_000
    assert params.generate.corruption.null_columns == ("monthly_spend",)
    assert params.data.positive_label == 1
    assert params.contract.path == "contracts/churn.yaml"


def test_partial_section_keeps_the_other_defaults() -> None:
    params = params_from_dict({"generate": {"n_rows": 10}})
    assert params.generate.n_rows == 10
    assert params.generate.seed == 42
    assert params.split == Params().split


def test_params_are_frozen() -> None:
    params = params_from_dict({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.split.holdout_fraction = 0.5  # type: ignore[misc]


def test_values_are_converted_to_their_declared_types() -> None:
    params = params_from_dict(
        {
            "generate": {
                "label_noise": 0,  # YAML int for a float field
                "corruption": {"null_columns": ["region", "city"]},
                "drift": {"numeric": {"tenure_months": {"shift": -6}}},
            },
        }
    )
    assert isinstance(params.generate.label_noise, float)
    assert params.generate.corruption.null_columns == ("region", "city")
    assert params.generate.drift.numeric == {"tenure_months": NumericDrift(shift=-6.0, scale=1.0)}


@pytest.mark.parametrize("label", ["Yes", 1, True])
def test_positive_label_accepts_string_int_or_bool(label: Any) -> None:
    assert params_from_dict({"data": {"positive_label": label}}).data.positive_label == label


# --------------------------------------------------------------------------- files


def test_shipped_params_yaml_loads_and_matches_the_file() -> None:
    path = REPO_ROOT / "params.yaml"
    params = load_params(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert params.generate.n_rows == raw["generate"]["n_rows"]
    assert params.split.holdout_fraction == raw["split"]["holdout_fraction"]
    assert params.data.source == raw["data"]["source"]
    assert params.contract.path == raw["contract"]["path"]
    assert (REPO_ROOT / params.contract.path).is_file()


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file_gives_defaults(tmp_path: Path, text: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_params(path) == Params()


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ParamsError, match="not found") as info:
        load_params(path)
    assert str(path) in str(info.value)


def test_invalid_yaml_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("split:\n  holdout_fraction: [0.3\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="not valid YAML") as info:
        load_params(path)
    assert str(path) in str(info.value)


def test_non_utf8_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_bytes("split:\n  salt: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ParamsError, match="cannot be read") as info:
        load_params(path)
    assert str(path) in str(info.value)


def test_errors_from_a_file_name_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "my-params.yaml"
    path.write_text("split:\n  holdout_fraction: 2\n", encoding="utf-8")
    with pytest.raises(ParamsError) as info:
        load_params(path)
    message = str(info.value)
    assert str(path) in message
    assert "split.holdout_fraction" in message


def test_params_error_is_an_mlgate_error_with_an_exit_code() -> None:
    with pytest.raises(MlgateError) as info:
        params_from_dict({"split": 1})
    assert info.value.exit_code == 2


# --------------------------------------------------------------------------- wrong types


@pytest.mark.parametrize(
    ("raw", "key", "expected"),
    [
        ({"split": {"holdout_fraction": "0.3"}}, "split.holdout_fraction", "a number"),
        ({"split": {"salt": 7}}, "split.salt", "a string"),
        ({"generate": {"n_rows": 1.5}}, "generate.n_rows", "an integer"),
        # bool is a subclass of int in Python; YAML `true` must not become 1 row.
        ({"generate": {"n_rows": True}}, "generate.n_rows", "an integer"),
        ({"generate": {"label_noise": True}}, "generate.label_noise", "a number"),
        (
            {"generate": {"reverse_contract_effect": "yes"}},
            "generate.reverse_contract_effect",
            "true or false",
        ),
        (
            {"generate": {"corruption": {"null_columns": "monthly_spend"}}},
            "generate.corruption.null_columns",
            "a list",
        ),
        (
            {"generate": {"corruption": {"null_columns": ["region", 3]}}},
            "generate.corruption.null_columns[1]",
            "a string",
        ),
        (
            {"generate": {"drift": {"numeric": {"tenure_months": {"shift": "a"}}}}},
            "generate.drift.numeric.tenure_months.shift",
            "a number",
        ),
        (
            {"generate": {"drift": {"categorical": {"contract_type": {"monthly": "x"}}}}},
            "generate.drift.categorical.contract_type.monthly",
            "a number",
        ),
        ({"generate": {"drift": {"numeric": []}}}, "generate.drift.numeric", "a mapping"),
        ({"data": {"positive_label": [1]}}, "data.positive_label", "str or int or bool"),
        ({"data": None}, "data", "a mapping"),
        ({"contract": {"max_examples": "5"}}, "contract.max_examples", "an integer"),
    ],
)
def test_type_errors_name_the_dotted_key_and_the_expected_type(
    raw: dict[str, Any], key: str, expected: str
) -> None:
    message = _error(raw)
    assert f"{key}: expected {expected}" in message


def test_type_error_shows_the_offending_value() -> None:
    assert "got str '0.3'" in _error({"split": {"holdout_fraction": "0.3"}})


def test_top_level_must_be_a_mapping() -> None:
    assert "top level: expected a mapping" in _error(["split"])


# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("raw", "key", "expected"),
    [
        (
            {"split": {"holdout_fraction": 0.0}},
            "split.holdout_fraction",
            "strictly between 0 and 1",
        ),
        ({"split": {"holdout_fraction": 1}}, "split.holdout_fraction", "strictly between 0 and 1"),
        ({"generate": {"n_rows": 0}}, "generate.n_rows", ">= 1"),
        ({"generate": {"label_noise": 0.6}}, "generate.label_noise", "[0, 0.5]"),
        (
            {"generate": {"corruption": {"null_rate": -0.1}}},
            "generate.corruption.null_rate",
            "[0, 1]",
        ),
        (
            {"generate": {"corruption": {"duplicate_id_rate": 1.5}}},
            "generate.corruption.duplicate_id_rate",
            "[0, 1]",
        ),
        ({"contract": {"max_examples": 0}}, "contract.max_examples", ">= 1"),
        # numpy would read "20260101" as the year 20,260,101 instead of failing.
        ({"generate": {"reference_date": "20260101"}}, "generate.reference_date", "YYYY-MM-DD"),
        ({"generate": {"reference_date": "2026-02-30"}}, "generate.reference_date", "YYYY-MM-DD"),
    ],
)
def test_range_errors_name_the_key_and_the_range(
    raw: dict[str, Any], key: str, expected: str
) -> None:
    message = _error(raw)
    assert message.startswith(f"params.yaml: {key}: expected")
    assert expected in message


@settings(deadline=None, max_examples=50)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_holdout_fraction_accepted_exactly_inside_the_open_unit_interval(value: float) -> None:
    raw = {"split": {"holdout_fraction": value}}
    if 0.0 < value < 1.0:
        assert params_from_dict(raw).split.holdout_fraction == value
    else:
        assert "split.holdout_fraction" in _error(raw)


# --------------------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    ("raw", "key", "suggestion"),
    [
        ({"split": {"holdout_fration": 0.3}}, "split.holdout_fration", "holdout_fraction"),
        ({"spilt": {}}, "spilt", "split"),
        (
            {"generate": {"corruption": {"nul_rate": 0.1}}},
            "generate.corruption.nul_rate",
            "null_rate",
        ),
        (
            {"generate": {"drift": {"numeric": {"tenure_months": {"shfit": 1}}}}},
            "generate.drift.numeric.tenure_months.shfit",
            "shift",
        ),
    ],
)
def test_unknown_key_is_rejected_with_did_you_mean(
    raw: dict[str, Any], key: str, suggestion: str
) -> None:
    message = _error(raw)
    assert f"unknown key '{key}'" in message
    assert f"did you mean '{suggestion}'?" in message


def test_unknown_key_without_a_close_match_lists_the_valid_keys() -> None:
    message = _error({"split": {"zzzz": 1}})
    assert "unknown key 'split.zzzz'" in message
    assert "expected one of ['holdout_fraction', 'salt']" in message


# --------------------------------------------------------------------------- one pass


def test_every_problem_is_reported_in_one_pass_each_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(
        "split:\n  holdout_fration: 0.3\n  salt: 7\n"
        "generate:\n  n_rows: 0\n  corruption: {null_rate: 2}\n"
        "gate:\n  non_inferiority: {brier_loss: x}\n  first_model: always\n"
        "evaluate:\n  slices:\n    new: {column: tenure_months, op: '=~', value: 6}\n"
        "serving: {workers: 0}\n",
        encoding="utf-8",
    )
    with pytest.raises(ParamsError) as info:
        load_params(path)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{path}: 8 problems:"
    expected = [
        "unknown key 'split.holdout_fration'; did you mean 'holdout_fraction'?",
        "split.salt: expected a string, got int 7",
        "generate.n_rows: expected an integer >= 1, got int 0",
        "generate.corruption.null_rate: expected a number in [0, 1], got int 2",
        "gate.non_inferiority.brier_loss: expected a number, got str 'x'",
        "gate.first_model: expected one of ['promote_if_floors_pass', 'reject'], got str 'always'",
        "evaluate.slices.new.op: unknown operator '=~'",
        "serving.workers: expected an integer in [1, 16], got int 0",
    ]
    for text in expected:
        assert sum(text in line for line in lines[1:]) == 1, (text, lines)


def test_a_rule_across_keys_names_the_key_it_is_about() -> None:
    message = _error({"serving": {"batch_size": 2000, "max_records": 1000}})
    assert message == (
        "params.yaml: serving.batch_size: expected at most serving.max_records (1000), got 2000"
    )
    assert params_from_dict({"serving": {"batch_size": 1000, "max_records": 1000}})


@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_non_finite_numbers_are_refused(value: float) -> None:
    assert "drift.threshold: expected a number > 0" in _error({"drift": {"threshold": value}})


def test_exponent_without_a_dot_gets_the_yaml_hint() -> None:
    message = _error({"drift": {"epsilon": "1e-5"}})
    assert "expected a number in (0, 0.01), got str '1e-5'" in message
    assert "write e.g. 1.0e-9" in message
    assert "write e.g." not in _error({"drift": {"epsilon": "small"}})
