"""The ``serving`` section of params.yaml (defined in :mod:`mlgate.params`), and its loaders."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlgate import paths
from mlgate.errors import ParamsError
from mlgate.params import CanaryParams, Params, ServingParams, load_params, params_from_dict

__all__ = ["CanaryParams", "ServingParams", "load_with_serving", "serving_params_from_dict"]


def serving_params_from_dict(raw: Mapping[str, Any] | None) -> ServingParams:
    """The ``serving`` mapping alone -> ServingParams; ParamsError names the bad key."""
    try:
        return params_from_dict({"serving": dict(raw or {})}, source="serving").serving
    except ParamsError as exc:
        raise ParamsError(str(exc).removeprefix("serving: ")) from None


def load_with_serving(path: str | Path = paths.PARAMS) -> tuple[Params, ServingParams]:
    """params.yaml -> (Params, its serving section)."""
    params = load_params(path)
    return params, params.serving
