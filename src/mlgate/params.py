"""params.yaml -> frozen dataclasses, with errors that name the bad key.

Params flow one way: stages call :func:`load_params` and pass the typed sections to library
functions; nothing else reads params.yaml. The sections are pydantic dataclasses whose field
types carry their checks (:mod:`mlgate.config.fields`), so one pass reports every problem of
the file, each with its dotted key, and the same models give params.yaml's JSON Schema
(schemas/params.schema.json). Unknown keys are errors (a typo such as ``holdout_fration``
must not silently fall back to a default).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, model_validator
from pydantic.dataclasses import dataclass

from mlgate import paths
from mlgate.config import validate
from mlgate.config.fields import (
    Bool,
    Expected,
    Integer,
    Kinds,
    Num,
    OneOf,
    Rule,
    Str,
    Text,
)
from mlgate.config.predicates import SliceMap
from mlgate.errors import ParamsError
from mlgate.io import read_yaml

# Unknown keys are errors at every level.
_STRICT = ConfigDict(extra="forbid", defer_build=True)


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


def _is_estimator(text: str) -> bool:
    parts = text.split(".")
    is_path = len(parts) >= 2 and all(p.isidentifier() for p in parts)
    return text in ("logistic_regression", "hist_gradient_boosting") or is_path


def _is_canary_steps(steps: tuple[float, ...]) -> bool:
    return (
        len(steps) >= 1
        and all(0.0 < s <= 1.0 for s in steps)
        and steps[-1] == 1.0
        and all(a < b for a, b in zip(steps, steps[1:], strict=False))
    )


Number = Annotated[float, Num()]
Unit = Annotated[float, Num(ge=0, le=1)]  # [0, 1]
OpenUnit = Annotated[float, Num(gt=0, lt=1, text="a number strictly between 0 and 1")]
Positive = Annotated[float, Num(gt=0)]
NonNegative = Annotated[float, Num(ge=0)]
Confidence = Annotated[float, Num(ge=0.5, lt=1)]
Int = Annotated[int, Integer()]
Count = Annotated[int, Integer(ge=0)]  # 0 allowed
AtLeastOne = Annotated[int, Integer(ge=1)]
Bins = Annotated[int, Integer(ge=2, le=100)]
IsoDate = Annotated[str, Text(), Rule(_is_iso_date, "an ISO date 'YYYY-MM-DD'")]
Estimator = Annotated[
    str,
    Text(),
    Rule(
        _is_estimator,
        "logistic_regression, hist_gradient_boosting, or an import path to a classifier "
        "such as sklearn.ensemble.RandomForestClassifier",
    ),
]
CanarySteps = Annotated[
    tuple[Annotated[float, Num()], ...],
    Rule(_is_canary_steps, "increasing shares in (0, 1] ending with 1.0"),
]

# --------------------------------------------------------------------------- sections


@dataclass(frozen=True, config=_STRICT)
class DataParams:
    source: Str = paths.SYNTHETIC
    id_column: Str = "customer_id"
    target: Str = "churned"
    # The value in the target column that means "positive" (e.g. "Yes"); stored as 1 downstream.
    positive_label: Annotated[str | int | bool, Kinds(str, int, bool)] = 1
    # Cell texts that mean "missing" in addition to pandas' CSV defaults (e.g. [" ", "?"]).
    na_values: tuple[Str, ...] = ()
    # A source outside the repository is not versioned with the run: refused unless allowed.
    allow_external_source: Bool = False


@dataclass(frozen=True, config=_STRICT)
class CorruptionParams:
    null_rate: Unit = 0.0
    null_columns: tuple[Str, ...] = ("monthly_spend",)
    out_of_range_rate: Unit = 0.0
    unknown_category_rate: Unit = 0.0
    duplicate_id_rate: Unit = 0.0


@dataclass(frozen=True, config=_STRICT)
class NumericDrift:
    shift: Number = 0.0
    scale: Number = 1.0


@dataclass(frozen=True, config=_STRICT)
class DriftKnobs:
    numeric: dict[Str, NumericDrift] = field(default_factory=dict)
    # column -> {category: relative weight}; replaces the generator's default mix.
    categorical: dict[Str, dict[Str, Number]] = field(default_factory=dict)


@dataclass(frozen=True, config=_STRICT)
class GenerateParams:
    n_rows: AtLeastOne = 20_000
    seed: Int = 42
    reference_date: IsoDate = "2026-01-01"
    label_noise: Annotated[float, Num(ge=0, le=0.5)] = 0.0
    # Knobs that build deliberately broken worlds for demos and behavioral tests.
    reverse_contract_effect: Bool = False
    region_effect: Number = 0.0
    drift: DriftKnobs = field(default_factory=DriftKnobs)
    corruption: CorruptionParams = field(default_factory=CorruptionParams)


@dataclass(frozen=True, config=_STRICT)
class ContractParams:
    path: Str = paths.CONTRACT
    max_examples: AtLeastOne = 5


@dataclass(frozen=True, config=_STRICT)
class SplitParams:
    holdout_fraction: OpenUnit = 0.3
    salt: Str = "mlgate-v1"


@dataclass(frozen=True, config=_STRICT)
class FeaturesParams:
    """Which column gets which treatment (see mlgate.features.FeatureSpec)."""

    numeric: tuple[Str, ...] = ()
    categorical: tuple[Str, ...] = ()
    frequency: tuple[Str, ...] = ()
    cyclical_dates: tuple[Str, ...] = ()
    days_since_dates: tuple[Str, ...] = ()
    date_reference: Str | None = None
    cyclical_parts: tuple[Str, ...] = ("month", "dayofweek")


@dataclass(frozen=True, config=_STRICT)
class TrainParams:
    # A built-in name, or an import path to a scikit-learn classifier (mlgate.estimators),
    # e.g. sklearn.ensemble.RandomForestClassifier or my_models.MyClassifier.
    estimator: Estimator = "hist_gradient_boosting"
    seed: Int = 42
    # Above this many rows train fits on the rows with the smallest id hashes (mlgate.data.sample)
    # and train.json says so.
    max_train_rows: Annotated[int, Integer(ge=100)] = 2_000_000
    # Per-estimator hyperparameters; only the chosen estimator's entry is used.
    hyperparams: dict[Str, dict[Str, Any]] = field(default_factory=dict)
    # Constructor arguments of an import-path estimator (checked against its get_params()).
    estimator_params: dict[Str, Any] = field(default_factory=dict)
    # File or directory defining an estimator of your own: a dvc.yaml dependency of train.
    code: Str = "stages/train.py"


@dataclass(frozen=True, config=_STRICT)
class EvaluateParams:
    threshold: OpenUnit = 0.5
    confidence: Confidence = 0.95
    calibration_bins: Bins = 10
    min_samples: Annotated[int, Integer(ge=2)] = 30
    # name -> declarative predicate (see mlgate.slices); parsed by the evaluate stage.
    slices: Annotated[dict[str, Any], SliceMap()] = field(default_factory=dict)


@dataclass(frozen=True, config=_STRICT)
class BehavioralParams:
    spec: Str = paths.BEHAVIORAL_SPEC
    seed: Int = 0
    max_examples: Count = 20
    max_rows: Annotated[int, Integer(ge=0, text="an integer >= 0 (0 = no sampling)")] = (
        50_000  # rows per test: a seeded sample when more match; 0 = all
    )
    # Holdout rows the tests draw from: above it, the ids with the smallest salted hash
    # (mlgate.data.sample), so the stage's memory is bounded whatever the holdout's size.
    max_holdout_rows: Annotated[int, Integer(ge=100)] = 2_000_000


@dataclass(frozen=True, config=_STRICT)
class DriftParams:
    n_bins: Bins = 10
    threshold: Positive = 0.2
    epsilon: Annotated[float, Num(gt=0, lt=0.01)] = 1e-4


@dataclass(frozen=True, config=_STRICT)
class ChampionParams:
    """Where the champion is found: an explicit ref, else GTO's stage, else a branch."""

    ref: Str = ""  # explicit git ref (commit, tag, branch); empty = not set
    artifact: Str = "churn-model"
    stage: Str = "prod"
    branch: Str = ""  # fallback branch; empty = no fallback
    # Use the champion's committed holdout predictions when its dvc.lock proves they were made
    # on the same holdout; false = always re-score with the champion's model.
    reuse_scores: Bool = True


@dataclass(frozen=True, config=_STRICT)
class GateServingParams:
    """Rules on metrics/serving.json: parity, no 5xx, bad payloads refused, latency bounds."""

    required: Bool = True
    max_single_p95_ms: Positive = 100.0
    max_batch_p95_ms: Positive = 500.0


@dataclass(frozen=True, config=_STRICT)
class HoldoutReuseParams:
    """Every decision on the same holdout is another draw; spending shares alpha among them."""

    # true: the k-th decision on a holdout tests superiority at superiority_alpha / (k (k+1)),
    # so all decisions together promote a not-better candidate at most superiority_alpha.
    spend_alpha: Bool = False


@dataclass(frozen=True, config=_STRICT)
class GateParams:
    champion: ChampionParams = field(default_factory=ChampionParams)
    # With no champion: promote if every absolute rule passes, or always reject.
    first_model: Annotated[
        Literal["promote_if_floors_pass", "reject"],
        OneOf("promote_if_floors_pass", "reject", listed=True),
    ] = "promote_if_floors_pass"
    min_auc: Unit = 0.80
    min_slice_auc: Unit = 0.74
    # Materiality: the paired point delta must reach it.
    min_delta: Annotated[float, Num(ge=-1, le=1)] = 0.005
    # Superiority: the one-sided (1 - superiority_alpha) lower bound of the delta must be > 0.
    require_superiority: Bool = True
    superiority_alpha: Annotated[float, Num(gt=0, lt=0.5)] = 0.025
    confidence: Confidence = 0.95  # two-sided CIs shown in gate.json and the report
    # metric -> allowed worsening vs the champion on the same rows (direction from the name).
    non_inferiority: dict[Str, Number] = field(default_factory=dict)
    slice_margin: Unit = 0.03
    slice_alpha: Annotated[float, Num(gt=0, lt=1)] = 0.05
    require_validation: Bool = True
    require_behavioral: Bool = True
    serving: GateServingParams = field(default_factory=GateServingParams)
    holdout_reuse: HoldoutReuseParams = field(default_factory=HoldoutReuseParams)


@dataclass(frozen=True, config=_STRICT)
class CanaryParams:
    # Share of traffic the candidate gets at each step; the last step must be 1.0 (all of it).
    steps: CanarySteps = (0.05, 0.25, 1.0)
    requests_per_step: AtLeastOne = 200
    max_error_rate: Unit = 0.01  # candidate 5xx/transport errors, or 4xx the champion accepts
    # Candidate p95 / champion p95 on the same requests of a step: load slows both alike.
    max_p95_ratio: Annotated[float, Num(ge=1)] = 2.0  # measured noise for identical models: 1.56
    max_p95_ms: Positive | None = None  # optional absolute bound on the candidate p95; null = off
    max_score_shift: Unit = 0.05  # |mean candidate score - mean champion score|, same requests
    seed: Int = 0  # which requests go to the candidate


@dataclass(frozen=True, config=_STRICT)
class ServingParams:
    host: Str = "127.0.0.1"  # loopback only: the stage measures, it does not publish
    workers: Annotated[int, Integer(ge=1, le=16)] = 1
    max_records: AtLeastOne = 1000  # records per /predict request
    startup_timeout_s: Positive = 120.0
    request_timeout_s: Positive = 30.0
    # Holdout rows compared with the offline scores: those with the smallest id hashes, salted
    # with split.salt + '/sample/serving/' + seed (mlgate.data.sample; bounded memory).
    parity_rows: AtLeastOne = 500
    parity_single: Count = 50  # of those, sent one record per request; the rest in batches
    batch_size: AtLeastOne = 100
    tolerance: NonNegative = 1e-9  # |API score - offline score| allowed
    latency_single: AtLeastOne = 200  # timed one-record requests
    latency_batch: AtLeastOne = 20  # timed batch requests of batch_size records
    warmup: Count = 10  # untimed requests before each latency series
    seed: Int = 0
    canary: CanaryParams = field(default_factory=CanaryParams)

    @model_validator(mode="after")
    def _batch_fits_a_request(self) -> ServingParams:
        if self.batch_size > self.max_records:
            raise Expected(
                f"expected at most serving.max_records ({self.max_records}), "
                f"got {self.batch_size}",
                key="batch_size",
                plain=True,
            )
        return self


def _is_spark_master(text: str) -> bool:
    # local, local[N], local[*], spark://, yarn, k8s://. Not Spark Connect (sc://) yet: the
    # engine reads the SparkContext's conf and broadcasts the model, which Connect lacks.
    return bool(re.fullmatch(r"local(\[(\d+|\*)\])?|(spark|k8s|mesos)://\S+|yarn", text))


SparkMaster = Annotated[
    str,
    Text(),
    Rule(
        _is_spark_master,
        "local[N], local[*], spark://HOST:PORT, k8s://... or yarn (not Spark Connect sc://)",
    ),
]


@dataclass(frozen=True, config=_STRICT)
class SparkParams:
    master: SparkMaster = "local[2]"
    # Extra Spark settings, e.g. {spark.driver.memory: 4g}; values are passed as text.
    conf: dict[Str, Annotated[str | int | float | bool, Kinds(str, int, float, bool)]] = field(
        default_factory=dict
    )


@dataclass(frozen=True, config=_STRICT)
class ComputeParams:
    """Where the row-proportional work runs. Not a stage param in dvc.yaml: the engines give
    the same metrics, so switching engine must not invalidate dvc.lock."""

    engine: Annotated[Literal["local", "spark"], OneOf("local", "spark", listed=True)] = "local"
    spark: SparkParams = field(default_factory=SparkParams)


@dataclass(frozen=True, config=_STRICT)
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
    compute: ComputeParams = field(default_factory=ComputeParams)


# --------------------------------------------------------------------------- loading


def load_params(path: str | Path = paths.PARAMS) -> Params:
    """Read and type-check params.yaml; ParamsError names the file and every bad key."""
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


def params_from_dict(raw: Any, *, source: str = paths.PARAMS) -> Params:
    """``raw`` (parsed YAML) as Params; ParamsError lists every problem, each with its key."""
    params: Params = validate(Params, raw, source=source)
    return params
