"""params.yaml -> frozen dataclasses, with errors that name the bad key.

Params flow one way: stages call :func:`load_params` and pass the typed sections to library
functions; nothing else reads params.yaml. Unknown keys are errors (a typo such as
``holdout_fration`` must not silently fall back to a default).
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import re
import reprlib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlgate.errors import ParamsError
from mlgate.io import read_yaml

# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class DataParams:
    source: str = "data/raw/synthetic.parquet"
    id_column: str = "customer_id"
    target: str = "churned"
    # The value in the target column that means "positive" (e.g. "Yes"); stored as 1 downstream.
    positive_label: str | int | bool = 1
    # Cell texts that mean "missing" in addition to pandas' CSV defaults (e.g. [" ", "?"]).
    na_values: tuple[str, ...] = ()
    # A source outside the repository is not versioned with the run: refused unless allowed.
    allow_external_source: bool = False


@dataclass(frozen=True)
class CorruptionParams:
    null_rate: float = 0.0
    null_columns: tuple[str, ...] = ("monthly_spend",)
    out_of_range_rate: float = 0.0
    unknown_category_rate: float = 0.0
    duplicate_id_rate: float = 0.0


@dataclass(frozen=True)
class NumericDrift:
    shift: float = 0.0
    scale: float = 1.0


@dataclass(frozen=True)
class DriftKnobs:
    numeric: dict[str, NumericDrift] = field(default_factory=dict)
    # column -> {category: relative weight}; replaces the generator's default mix.
    categorical: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class GenerateParams:
    n_rows: int = 20_000
    seed: int = 42
    reference_date: str = "2026-01-01"
    label_noise: float = 0.0
    # Knobs that build deliberately broken worlds for demos and behavioral tests.
    reverse_contract_effect: bool = False
    region_effect: float = 0.0
    drift: DriftKnobs = field(default_factory=DriftKnobs)
    corruption: CorruptionParams = field(default_factory=CorruptionParams)


@dataclass(frozen=True)
class ContractParams:
    path: str = "contracts/churn.yaml"
    max_examples: int = 5


@dataclass(frozen=True)
class SplitParams:
    holdout_fraction: float = 0.3
    salt: str = "mlgate-v1"


@dataclass(frozen=True)
class FeaturesParams:
    """Which column gets which treatment (see mlgate.features.FeatureSpec)."""

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    frequency: tuple[str, ...] = ()
    cyclical_dates: tuple[str, ...] = ()
    days_since_dates: tuple[str, ...] = ()
    date_reference: str | None = None
    cyclical_parts: tuple[str, ...] = ("month", "dayofweek")


@dataclass(frozen=True)
class TrainParams:
    # A built-in name, or an import path to a scikit-learn classifier (mlgate.estimators),
    # e.g. sklearn.ensemble.RandomForestClassifier or my_models.MyClassifier.
    estimator: str = "hist_gradient_boosting"
    seed: int = 42
    # Above this many rows the training set is sampled (seeded) and train.json says so.
    max_train_rows: int = 2_000_000
    # Per-estimator hyperparameters; only the chosen estimator's entry is used.
    hyperparams: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Constructor arguments of an import-path estimator (checked against its get_params()).
    estimator_params: dict[str, Any] = field(default_factory=dict)
    # File or directory defining an estimator of your own: a dvc.yaml dependency of train.
    code: str = "stages/train.py"


@dataclass(frozen=True)
class EvaluateParams:
    threshold: float = 0.5
    confidence: float = 0.95
    calibration_bins: int = 10
    min_samples: int = 30
    # name -> declarative predicate (see mlgate.slices); parsed by the evaluate stage.
    slices: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BehavioralParams:
    spec: str = "contracts/behavioral.yaml"
    seed: int = 0
    max_examples: int = 20
    max_rows: int = 50_000  # rows per test: a seeded sample when more match; 0 = all


@dataclass(frozen=True)
class DriftParams:
    n_bins: int = 10
    threshold: float = 0.2
    epsilon: float = 1e-4


@dataclass(frozen=True)
class ChampionParams:
    """Where the champion is found: an explicit ref, else GTO's stage, else a branch."""

    ref: str = ""  # explicit git ref (commit, tag, branch); empty = not set
    artifact: str = "churn-model"
    stage: str = "prod"
    branch: str = ""  # fallback branch; empty = no fallback
    # Use the champion's committed holdout predictions when its dvc.lock proves they were made
    # on the same holdout; false = always re-score with the champion's model.
    reuse_scores: bool = True


@dataclass(frozen=True)
class GateServingParams:
    """Rules on metrics/serving.json: parity, no 5xx, bad payloads refused, latency bounds."""

    required: bool = True
    max_single_p95_ms: float = 100.0
    max_batch_p95_ms: float = 500.0


@dataclass(frozen=True)
class HoldoutReuseParams:
    """Every decision on the same holdout is another draw; spending shares alpha among them."""

    # true: the k-th decision on a holdout tests superiority at superiority_alpha / (k (k+1)),
    # so all decisions together promote a not-better candidate at most superiority_alpha.
    spend_alpha: bool = False


@dataclass(frozen=True)
class GateParams:
    champion: ChampionParams = field(default_factory=ChampionParams)
    # With no champion: promote if every absolute rule passes, or always reject.
    first_model: Literal["promote_if_floors_pass", "reject"] = "promote_if_floors_pass"
    min_auc: float = 0.80
    min_slice_auc: float = 0.74
    min_delta: float = 0.005  # materiality: the paired point delta must reach it
    # Superiority: the one-sided (1 - superiority_alpha) lower bound of the delta must be > 0.
    require_superiority: bool = True
    superiority_alpha: float = 0.025
    confidence: float = 0.95  # two-sided CIs shown in gate.json and the report
    # metric -> allowed worsening vs the champion on the same rows (direction from the name).
    non_inferiority: dict[str, float] = field(default_factory=dict)
    slice_margin: float = 0.03
    slice_alpha: float = 0.05
    require_validation: bool = True
    require_behavioral: bool = True
    serving: GateServingParams = field(default_factory=GateServingParams)
    holdout_reuse: HoldoutReuseParams = field(default_factory=HoldoutReuseParams)


@dataclass(frozen=True)
class CanaryParams:
    # Share of traffic the candidate gets at each step; the last step must be 1.0 (all of it).
    steps: tuple[float, ...] = (0.05, 0.25, 1.0)
    requests_per_step: int = 200
    max_error_rate: float = 0.01  # candidate 5xx/transport errors, or 4xx the champion accepts
    # Candidate p95 / champion p95 on the same requests of a step: load slows both alike.
    max_p95_ratio: float = 2.0  # measured noise for identical models: up to 1.56
    max_p95_ms: float | None = None  # optional absolute bound on the candidate p95; null = off
    max_score_shift: float = 0.05  # |mean candidate score - mean champion score|, same requests
    seed: int = 0  # which requests go to the candidate


@dataclass(frozen=True)
class ServingParams:
    host: str = "127.0.0.1"  # loopback only: the stage measures, it does not publish
    workers: int = 1
    max_records: int = 1000  # records per /predict request
    startup_timeout_s: float = 120.0
    request_timeout_s: float = 30.0
    parity_rows: int = 500  # holdout rows compared with the offline scores (seeded sample)
    parity_single: int = 50  # of those, sent one record per request; the rest in batches
    batch_size: int = 100
    tolerance: float = 1e-9  # |API score - offline score| allowed
    latency_single: int = 200  # timed one-record requests
    latency_batch: int = 20  # timed batch requests of batch_size records
    warmup: int = 10  # untimed requests before each latency series
    seed: int = 0
    canary: CanaryParams = field(default_factory=CanaryParams)


@dataclass(frozen=True)
class Params:
    data: DataParams = field(default_factory=DataParams)
    generate: GenerateParams = field(default_factory=GenerateParams)
    contract: ContractParams = field(default_factory=ContractParams)
    split: SplitParams = field(default_factory=SplitParams)
    features: FeaturesParams = field(default_factory=FeaturesParams)
    train: TrainParams = field(default_factory=TrainParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    behavioral: BehavioralParams = field(default_factory=BehavioralParams)
    drift: DriftParams = field(default_factory=DriftParams)
    gate: GateParams = field(default_factory=GateParams)
    serving: ServingParams = field(default_factory=ServingParams)


def _is_iso_date(text: str) -> bool:
    # numpy reads "20260101" as the year 20260101 and other near-misses raise deep in the
    # generator; accept exactly YYYY-MM-DD naming a real day.
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_import_path(text: str) -> bool:
    parts = text.split(".")
    return len(parts) >= 2 and all(p.isidentifier() for p in parts)


# Range rules checked after typing: key path -> (predicate, expectation text).
_RANGES: dict[str, tuple[typing.Callable[[Any], bool], str]] = {
    "generate.n_rows": (lambda v: v >= 1, "an integer >= 1"),
    "generate.reference_date": (_is_iso_date, "an ISO date 'YYYY-MM-DD'"),
    "generate.label_noise": (lambda v: 0.0 <= v <= 0.5, "a number in [0, 0.5]"),
    "generate.corruption.null_rate": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "generate.corruption.out_of_range_rate": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "generate.corruption.unknown_category_rate": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "generate.corruption.duplicate_id_rate": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "split.holdout_fraction": (lambda v: 0.0 < v < 1.0, "a number strictly between 0 and 1"),
    "contract.max_examples": (lambda v: v >= 1, "an integer >= 1"),
    "train.max_train_rows": (lambda v: v >= 100, "an integer >= 100"),
    "train.estimator": (
        lambda v: v in ("logistic_regression", "hist_gradient_boosting") or _is_import_path(v),
        "logistic_regression, hist_gradient_boosting, or an import path to a classifier "
        "such as sklearn.ensemble.RandomForestClassifier",
    ),
    "evaluate.threshold": (lambda v: 0.0 < v < 1.0, "a number strictly between 0 and 1"),
    "evaluate.confidence": (lambda v: 0.5 <= v < 1.0, "a number in [0.5, 1)"),
    "evaluate.calibration_bins": (lambda v: 2 <= v <= 100, "an integer in [2, 100]"),
    "evaluate.min_samples": (lambda v: v >= 2, "an integer >= 2"),
    "behavioral.max_examples": (lambda v: v >= 0, "an integer >= 0"),
    "behavioral.max_rows": (lambda v: v >= 0, "an integer >= 0 (0 = no sampling)"),
    "drift.n_bins": (lambda v: 2 <= v <= 100, "an integer in [2, 100]"),
    "drift.threshold": (lambda v: v > 0, "a number > 0"),
    "drift.epsilon": (lambda v: 0 < v < 0.01, "a number in (0, 0.01)"),
    "gate.min_auc": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "gate.min_slice_auc": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "gate.min_delta": (lambda v: -1.0 <= v <= 1.0, "a number in [-1, 1]"),
    "gate.confidence": (lambda v: 0.5 <= v < 1.0, "a number in [0.5, 1)"),
    "gate.superiority_alpha": (lambda v: 0.0 < v < 0.5, "a number in (0, 0.5)"),
    "gate.slice_margin": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "gate.slice_alpha": (lambda v: 0.0 < v < 1.0, "a number in (0, 1)"),
    "gate.serving.max_single_p95_ms": (lambda v: v > 0, "a number > 0"),
    "gate.serving.max_batch_p95_ms": (lambda v: v > 0, "a number > 0"),
    "serving.workers": (lambda v: 1 <= v <= 16, "an integer in [1, 16]"),
    "serving.max_records": (lambda v: v >= 1, "an integer >= 1"),
    "serving.startup_timeout_s": (lambda v: v > 0, "a number > 0"),
    "serving.request_timeout_s": (lambda v: v > 0, "a number > 0"),
    "serving.parity_rows": (lambda v: v >= 1, "an integer >= 1"),
    "serving.parity_single": (lambda v: v >= 0, "an integer >= 0"),
    "serving.batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "serving.tolerance": (lambda v: v >= 0, "a number >= 0"),
    "serving.latency_single": (lambda v: v >= 1, "an integer >= 1"),
    "serving.latency_batch": (lambda v: v >= 1, "an integer >= 1"),
    "serving.warmup": (lambda v: v >= 0, "an integer >= 0"),
    "serving.canary.steps": (
        lambda v: (
            len(v) >= 1
            and all(0.0 < s <= 1.0 for s in v)
            and v[-1] == 1.0
            and all(a < b for a, b in zip(v, v[1:], strict=False))
        ),
        "increasing shares in (0, 1] ending with 1.0",
    ),
    "serving.canary.requests_per_step": (lambda v: v >= 1, "an integer >= 1"),
    "serving.canary.max_error_rate": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "serving.canary.max_p95_ratio": (lambda v: v >= 1.0, "a number >= 1"),
    "serving.canary.max_p95_ms": (lambda v: v is None or v > 0, "null or a number > 0"),
    "serving.canary.max_score_shift": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
}

# --------------------------------------------------------------------------- loading


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and type-check params.yaml; ParamsError names the file and key of any problem."""
    path = Path(path)
    raw = read_yaml(
        path,
        what="params file",
        error=ParamsError,
        missing=": file not found; expected the pipeline's params.yaml",
    )
    if raw is None:
        raw = {}
    params = params_from_dict(raw, source=str(path))
    _check_source_inside(params.data, root=path.parent, source=str(path))
    return params


def _check_source_inside(data: DataParams, *, root: Path, source: str) -> None:
    """Refuse a ``data.source`` that resolves (symlinks included) outside the repository.

    DVC versions only files inside its project: a decision made on outside data could not be
    reproduced from its commit, which is the point of the pipeline.
    """
    if data.allow_external_source:
        return
    repo = root.resolve()
    resolved = (repo / data.source).resolve()
    if not resolved.is_relative_to(repo):
        raise ParamsError(
            f"{source}: data.source {data.source} resolves to {resolved}, outside the "
            f"repository {repo}: DVC would not version it, so the decision could not be "
            "reproduced from its commit. Copy it into the repository and `dvc add` it, or set "
            "data.allow_external_source: true to accept that"
        )


def params_from_dict(raw: Any, *, source: str = "params.yaml") -> Params:
    try:
        params = build(Params, raw, "")
        _check_ranges(params)
    except ParamsError as exc:
        raise ParamsError(f"{source}: {exc}") from None
    return params


def build(cls: Any, raw: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping, checking types recursively."""
    if not isinstance(raw, Mapping):
        raise ParamsError(f"{where or 'top level'}: expected a mapping, got {_show(raw)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in raw if k not in fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), fields, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; expected one of {sorted(fields)}"
        raise ParamsError(f"unknown key '{_join(where, key)}'{hint}")
    hints = typing.get_type_hints(cls)
    values = {name: _coerce(hints[name], raw[name], _join(where, name)) for name in raw}
    return cls(**values)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return _coerce(arg, value, where)
            except ParamsError:
                continue
        raise ParamsError(f"{where}: expected {_name(tp)}, got {_show(value)}")
    if origin is Literal:
        if value not in args:
            raise ParamsError(f"{where}: expected one of {list(args)}, got {_show(value)}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ParamsError(f"{where}: expected a list, got {_show(value)}")
        return tuple(_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ParamsError(f"{where}: expected a mapping, got {_show(value)}")
        return {
            _coerce(args[0], k, where): _coerce(args[1], v, _join(where, str(k)))
            for k, v in value.items()
        }
    if tp is Any:
        return value
    if tp is type(None):
        if value is not None:
            raise ParamsError(f"{where}: expected null, got {_show(value)}")
        return None
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{where}: expected true or false, got {_show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{where}: expected an integer, got {_show(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamsError(f"{where}: expected a number, got {_show(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ParamsError(f"{where}: expected a string, got {_show(value)}")
        return value
    raise TypeError(f"params type {tp!r} at {where} is not supported by the loader")


def _check_ranges(params: Params) -> None:
    for key, (ok, expected) in _RANGES.items():
        value: Any = params
        for part in key.split("."):
            value = getattr(value, part)
        if not ok(value):
            raise ParamsError(f"{key}: expected {expected}, got {_show(value)}")
    if params.serving.batch_size > params.serving.max_records:
        raise ParamsError(
            f"serving.batch_size: expected at most serving.max_records "
            f"({params.serving.max_records}), got {params.serving.batch_size}"
        )


def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 60, 60


def _show(value: Any) -> str:
    # reprlib stops after a few items and levels: a message never walks a large value whole.
    return f"{type(value).__name__} {_REPR.repr(value)[:60]}"


def _name(tp: Any) -> str:
    return " or ".join(getattr(a, "__name__", str(a)) for a in typing.get_args(tp)) or str(tp)
