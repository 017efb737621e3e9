"""The `serving` params section: defaults, type and range errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlgate.errors import ParamsError
from mlgate.serving.config import ServingParams, load_with_serving, serving_params_from_dict

from .conftest import REPO_ROOT


def test_defaults_and_overrides() -> None:
    assert serving_params_from_dict(None) == ServingParams()
    cfg = serving_params_from_dict({"workers": 2, "canary": {"steps": [0.1, 1.0]}})
    assert cfg.workers == 2 and cfg.canary.steps == (0.1, 1.0)
    assert cfg.canary.max_score_shift == 0.05


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"workers": "2"}, "serving.workers"),
        ({"wokers": 2}, "serving.wokers"),
        ({"parity_rows": 0}, "serving.parity_rows"),
        ({"canary": {"steps": [0.5, 0.25, 1.0]}}, "serving.canary.steps"),
        ({"canary": {"steps": [0.05, 0.25]}}, "serving.canary.steps"),
        ({"canary": {"max_error_rate": 2}}, "serving.canary.max_error_rate"),
        ({"batch_size": 50, "max_records": 10}, "serving.batch_size"),
    ],
)
def test_bad_values_name_their_key(raw: dict, key: str) -> None:
    with pytest.raises(ParamsError, match=key.replace(".", r"\.")):
        serving_params_from_dict(raw)


def test_params_file_with_or_without_a_serving_section(tmp_path: Path) -> None:
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    full, serving = load_with_serving(path)
    assert serving == ServingParams() and full.data.target == "churned"
    params["serving"] = {"latency_single": 7}
    path.write_text(yaml.safe_dump(params))
    assert load_with_serving(path)[1].latency_single == 7
    params["serving"] = {"latency_single": -1}
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match=r"params\.yaml: serving\.latency_single"):
        load_with_serving(path)
