"""The bad-input catalog: ways a user can hand mlgate a broken file, generated as data.

A :class:`Case` names the file it breaks, the stage script that must refuse it, how to break
it (a function of the repository root, applied to a private copy of a reproduced pipeline),
and the words the refusal must contain: the file, and the field (column, key, check) at fault;
for a file that is broken as a whole (empty, truncated, wrong encoding) the field is the
problem's name. A stage refuses by exiting non-zero with one ``error:`` message and no
traceback, leaving its previous outputs as they were; the gate refuses by exiting 0 with the
decision ``reject`` and a failed check whose reason names the file.

The catalog is generated: one table of data breakages is applied to the Parquet source and to
the same table as CSV; params, contract, behavioral spec, model and metric breakages are
tables too. ``python -m tests.reliability.catalog`` prints the cases and their count.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import yaml

PARAMS = "params.yaml"
SOURCE = "data/raw/synthetic.parquet"
CSV_SOURCE = "data/raw/source.csv"
CONTRACT = "contracts/churn.yaml"
SPEC = "contracts/behavioral.yaml"
MODEL, META = "models/model.joblib", "models/model.json"
# What validate writes on purpose when the data breaks its contract (the failure report).
VALIDATION_REPORT = ("metrics/validation.json", "metrics/validation_failures.csv")

Mutation = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    name: str
    target: str  # the file the case breaks
    stage: str  # the stage script that reads it: stages/<stage>.py
    mutate: Mutation
    must_name: tuple[str, ...]  # words the refusal must contain: file, field
    reject_check: str | None = None  # gate evidence: exit 0, reject, this check failed
    rewrites: tuple[str, ...] = ()  # outputs the refusing stage writes on purpose
    # False when DVC itself cannot get as far as running the stage (see DVC_CANNOT below).
    under_dvc: bool = True

    def __str__(self) -> str:
        return self.name


# --------------------------------------------------------------------------- file helpers


def _read_yaml(root: Path, rel: str) -> Any:
    return yaml.safe_load((root / rel).read_text(encoding="utf-8"))


def _write_yaml(root: Path, rel: str, data: Any) -> None:
    (root / rel).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def set_params(root: Path, values: dict[str, Any]) -> None:
    params = _read_yaml(root, PARAMS)
    for dotted, value in values.items():
        _set(params, dotted, value)
    _write_yaml(root, PARAMS, params)


def _params(values: dict[str, Any]) -> Mutation:
    return lambda root: set_params(root, values)


def _write(rel: str, data: bytes | str) -> Mutation:
    def mutate(root: Path) -> None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        (root / rel).write_bytes(raw)

    return mutate


def _truncate(rel: str, keep: float = 0.5) -> Mutation:
    def mutate(root: Path) -> None:
        raw = (root / rel).read_bytes()
        (root / rel).write_bytes(raw[: int(len(raw) * keep)])

    return mutate


def _delete(rel: str) -> Mutation:
    return lambda root: (root / rel).unlink()


def _edit_json(rel: str, edit: Callable[[dict[str, Any]], None]) -> Mutation:
    def mutate(root: Path) -> None:
        data = json.loads((root / rel).read_text(encoding="utf-8"))
        edit(data)
        (root / rel).write_text(json.dumps(data, indent=2), encoding="utf-8")

    return mutate


def _edit_yaml(rel: str, edit: Callable[[Any], None]) -> Mutation:
    def mutate(root: Path) -> None:
        data = _read_yaml(root, rel)
        edit(data)
        _write_yaml(root, rel, data)

    return mutate


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """Flow YAML whose last anchor expands to width**levels strings (~1 KB of text)."""
    nodes = ["&l0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        nodes.append(f"&l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "[" + ", ".join(nodes) + "]"


def _bomb_at(rel: str, anchor_text: str) -> Mutation:
    """Replace the first ``anchor_text`` in ``rel`` with itself followed by a bomb value."""

    def mutate(root: Path) -> None:
        text = (root / rel).read_text(encoding="utf-8")
        key, _, _ = anchor_text.partition(":")
        assert anchor_text in text, f"{anchor_text!r} not in {rel}"
        line = text[text.index(anchor_text) :].split("\n", 1)[0]
        (root / rel).write_text(
            text.replace(line, f"{key}: {billion_laughs()}", 1), encoding="utf-8"
        )

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(root: Path) -> None:
        for m in mutations:
            m(root)

    return mutate


# --------------------------------------------------------------------------- data source

FrameBreak = Callable[[pd.DataFrame], pd.DataFrame]
FIRST = slice(0, 12)  # the rows a breakage touches


def _overwrite(column: str, value: Any) -> FrameBreak:
    """Put ``value`` into the first rows of ``column`` (as text if the column is not)."""

    def brk(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        if isinstance(value, str) and out[column].dtype.kind in "iufbmM":
            out[column] = out[column].astype(str)
        out.loc[out.index[FIRST], column] = value
        return out

    return brk


def _duplicate_ids(frame: pd.DataFrame) -> pd.DataFrame:
    ids = frame["customer_id"].to_numpy(copy=True)
    ids[FIRST] = ids[0]
    return frame.assign(customer_id=ids)


# name -> (breakage, the field the message must name). Each applies to the Parquet source;
# those in CSV_TOO also to the same table written as CSV, where the value arrives as text and
# pandas' parsing decides the dtype (the rest would only repeat the Parquet case).
FRAME_BREAKS: dict[str, tuple[FrameBreak, tuple[str, ...]]] = {
    "missing_column": (lambda f: f.drop(columns="tenure_months"), ("tenure_months",)),
    "extra_column": (lambda f: f.assign(loyalty_tier="gold"), ("loyalty_tier",)),
    "renamed_column": (
        lambda f: f.rename(columns={"monthly_spend": "monthly_spent"}),
        ("monthly_spend", "monthly_spent"),
    ),
    "text_in_integer_column": (
        lambda f: f.assign(tenure_months=f["tenure_months"].astype(str) + " months"),
        ("tenure_months",),
    ),
    "text_in_bool_column": (
        lambda f: f.assign(is_enterprise=np.where(f["is_enterprise"], "yes", "no")),
        ("is_enterprise",),
    ),
    "unparseable_dates": (_overwrite("signup_date", "last spring"), ("signup_date",)),
    "nan_values": (_overwrite("monthly_spend", float("nan")), ("monthly_spend",)),
    "inf_values": (_overwrite("monthly_spend", float("inf")), ("monthly_spend",)),
    "blank_strings": (_overwrite("region", " "), ("region",)),
    "out_of_range": (_overwrite("tenure_months", 999), ("tenure_months",)),
    "unknown_category": (_overwrite("contract_type", "weekly"), ("contract_type",)),
    "duplicate_ids": (_duplicate_ids, ("customer_id",)),
    "non_binary_target": (_overwrite("churned", 2), ("churned",)),
    "single_class_target": (lambda f: f.assign(churned=0), ("churned",)),
    "header_only": (lambda f: f.iloc[:0], ("min_rows",)),
}
CSV_TOO = (
    "missing_column",
    "text_in_integer_column",
    "text_in_bool_column",
    "unparseable_dates",
    "nan_values",
    "inf_values",
    "blank_strings",
    "header_only",
)


def _frame_mutation(brk: FrameBreak, fmt: str) -> Mutation:
    def mutate(root: Path) -> None:
        frame = brk(pd.read_parquet(root / SOURCE))
        if fmt == "parquet":
            frame.to_parquet(root / SOURCE, index=False)
        else:
            frame.to_csv(root / CSV_SOURCE, index=False)
            set_params(root, {"data.source": CSV_SOURCE})

    return mutate


def _csv_from(write: Callable[[pd.DataFrame, Path], None]) -> Mutation:
    def mutate(root: Path) -> None:
        write(pd.read_parquet(root / SOURCE), root / CSV_SOURCE)
        set_params(root, {"data.source": CSV_SOURCE})

    return mutate


def _latin1(frame: pd.DataFrame, path: Path) -> None:
    frame = frame.assign(city=frame["city"].where(frame.index > 3, "Montréal"))
    frame.to_csv(path, index=False, encoding="latin-1")


def _ragged(frame: pd.DataFrame, path: Path) -> None:
    lines = frame.head(50).to_csv(index=False).splitlines()
    lines[20] += ",surplus,fields"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _source_outside(root: Path) -> None:
    outside = root.parent / "outside.parquet"
    outside.write_bytes((root / SOURCE).read_bytes())
    set_params(root, {"data.source": "../outside.parquet"})


def data_cases() -> Iterator[Case]:
    for fmt, target in (("parquet", SOURCE), ("csv", CSV_SOURCE)):
        for name, (brk, fields) in FRAME_BREAKS.items():
            if fmt == "csv" and name not in CSV_TOO:
                continue
            yield Case(
                f"{fmt}_{name}",
                target,
                "validate",
                _frame_mutation(brk, fmt),
                (target, *fields),
                rewrites=VALIDATION_REPORT,
            )
    yield Case("parquet_empty_file", SOURCE, "validate", _write(SOURCE, b""), (SOURCE, "empty"))
    yield Case("parquet_truncated", SOURCE, "validate", _truncate(SOURCE), (SOURCE, "Parquet"))
    yield Case(
        "parquet_holding_csv_text",
        SOURCE,
        "validate",
        _write(SOURCE, "customer_id,churned\n1,0\n"),
        (SOURCE, "Parquet"),
    )
    yield Case(
        "csv_empty_file",
        CSV_SOURCE,
        "validate",
        _both(_write(CSV_SOURCE, b""), _params({"data.source": CSV_SOURCE})),
        (CSV_SOURCE, "empty"),
    )
    yield Case(
        "csv_latin1_encoding", CSV_SOURCE, "validate", _csv_from(_latin1), (CSV_SOURCE, "UTF-8")
    )
    yield Case(
        "csv_semicolon_delimiter",
        CSV_SOURCE,
        "validate",
        _csv_from(lambda f, p: f.to_csv(p, index=False, sep=";")),
        (CSV_SOURCE, "';'"),
    )
    yield Case("csv_ragged_rows", CSV_SOURCE, "validate", _csv_from(_ragged), (CSV_SOURCE, "line"))
    yield Case(
        "source_missing",
        PARAMS,
        "validate",
        _params({"data.source": "data/raw/missing.parquet"}),
        ("data/raw/missing.parquet", "data.source"),
    )
    yield Case(
        "source_outside_repository",
        PARAMS,
        "validate",
        _source_outside,
        ("data.source", "outside the repository", "allow_external_source"),
    )
    yield Case(
        "source_unsupported_type",
        PARAMS,
        "validate",
        _params({"data.source": "data/raw/churn.xlsx"}),
        ("data/raw/churn.xlsx", ".csv"),
    )


# --------------------------------------------------------------------------- params.yaml


def _invalid_yaml(root: Path) -> None:
    text = (root / PARAMS).read_text(encoding="utf-8")
    (root / PARAMS).write_text(text + "\nsplit: [holdout_fraction: 0.3\n", encoding="utf-8")


def _unknown_key(root: Path) -> None:
    params = _read_yaml(root, PARAMS)
    params["split"]["holdout_fration"] = params["split"].pop("holdout_fraction")
    _write_yaml(root, PARAMS, params)


def params_cases() -> Iterator[Case]:
    def case(name: str, stage: str, values: dict[str, Any], *fields: str) -> Case:
        return Case(f"params_{name}", PARAMS, stage, _params(values), (PARAMS, *fields))

    yield case(
        "wrong_type", "split", {"split.holdout_fraction": "a third"}, "split.holdout_fraction"
    )
    yield case("out_of_range", "split", {"split.holdout_fraction": 1.5}, "split.holdout_fraction")
    yield Case(
        "params_unknown_key",
        PARAMS,
        "split",
        _unknown_key,
        (PARAMS, "split.holdout_fration", "holdout_fraction"),
    )
    yield Case("params_invalid_yaml", PARAMS, "split", _invalid_yaml, (PARAMS, "line"))
    # DVC reads params.yaml itself (dvc.yaml interpolates it) and dies on a bomb before any
    # stage runs: these run the stages only.
    yield Case(
        "params_alias_bomb",
        PARAMS,
        "split",
        _bomb_at(PARAMS, "  holdout_fraction:"),
        (PARAMS, "aliases", "10,000 nodes"),
        under_dvc=False,
    )
    yield Case(
        "params_slices_alias_bomb",
        PARAMS,
        "evaluate",
        _bomb_at(PARAMS, "    enterprise:"),
        (PARAMS, "aliases", "10,000 nodes"),
        under_dvc=False,
    )
    yield case(
        "missing_id_column",
        "split",
        {"data.id_column": "client_id"},
        "client_id",
        "data.id_column",
    )
    yield case("missing_target", "validate", {"data.target": "churn"}, "churn", "data.target")
    yield case("unknown_estimator", "train", {"train.estimator": "xgboost"}, "train.estimator")
    yield case(
        "unknown_hyperparameter",
        "train",
        {"train.hyperparams.logistic_regression.n_estimators": 100},
        "n_estimators",
    )
    yield case(
        "invalid_hyperparameter",
        "train",
        {"train.hyperparams.logistic_regression.C": -1.0},
        "train.hyperparams.C",
    )
    yield case(
        "unknown_feature_column",
        "train",
        {"features.numeric": ["tenure_months", "lifetime_value"]},
        "lifetime_value",
    )
    yield case(
        "bad_slice_operator",
        "evaluate",
        {"evaluate.slices.enterprise.op": "=~"},
        "evaluate.slices.enterprise",
    )
    yield case(
        "slice_unknown_column",
        "evaluate",
        {"evaluate.slices.enterprise.column": "is_enterprize"},
        "is_enterprize",
        "evaluate.slices.enterprise",
        "did you mean 'is_enterprise'?",
    )
    yield case(
        "slice_value_of_wrong_type",
        "evaluate",
        {"evaluate.slices.new_customers.value": "six"},
        "new_customers",
    )
    # A category or number the contract cannot hold selects no row: refused, not "skipped".
    yield case(
        "slice_misspelt_category",
        "evaluate",
        {"evaluate.slices.contract_multi_year.value": "multi year"},
        "evaluate.slices.contract_multi_year",
        "contract_type",
        "'multi year'",
        "did you mean 'multi-year'?",
    )
    yield case(
        "slice_value_outside_contract_range",
        "evaluate",
        {
            "evaluate.slices.new_customers": {
                "column": "tenure_months",
                "op": "in",
                "value": [3, 500],
            }
        },
        "evaluate.slices.new_customers",
        "tenure_months",
        "500",
        "[0, 120]",
    )


# --------------------------------------------------------------------------- contract


def _contract(edit: Callable[[dict[str, Any]], None]) -> Mutation:
    return _edit_yaml(CONTRACT, edit)


def _add_check(column: str, check: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda c: c["columns"][column].setdefault("checks", []).append(check)


def contract_cases() -> Iterator[Case]:
    yield Case(
        "contract_references_missing_column",
        CONTRACT,
        "validate",
        _contract(
            lambda c: c["columns"].update(loyalty_points={"dtype": "int64", "nullable": False})
        ),
        (CONTRACT, "loyalty_points"),
        rewrites=VALIDATION_REPORT,
    )
    yield Case(
        "contract_dataset_check_on_missing_column",
        CONTRACT,
        "validate",
        _contract(
            lambda c: c["checks"].append(
                {
                    "column": "lifetime_value",
                    "min_value": 0.0,
                    "max_value": 1.0,
                    "options": {"check_name": "column_mean_between"},
                }
            )
        ),
        (CONTRACT, "lifetime_value"),
        rewrites=VALIDATION_REPORT,
    )
    yield Case(
        "contract_unknown_check",
        CONTRACT,
        "validate",
        _contract(_add_check("tenure_months", {"options": {"check_name": "is_prime"}})),
        (CONTRACT, "is_prime"),
    )
    yield Case(
        "contract_unknown_dtype",
        CONTRACT,
        "validate",
        _contract(lambda c: c["columns"]["tenure_months"].update(dtype="int65")),
        (CONTRACT, "int65"),
    )
    yield Case(
        "contract_without_columns",
        CONTRACT,
        "validate",
        _contract(lambda c: c.pop("columns")),
        (CONTRACT, "columns"),
    )
    yield Case(
        "contract_invalid_yaml",
        CONTRACT,
        "validate",
        _write(CONTRACT, "columns:\n  customer_id: {dtype: int64\n"),
        (CONTRACT, "YAML"),
    )
    yield Case(
        "contract_alias_bomb",
        CONTRACT,
        "validate",
        _bomb_at(CONTRACT, "    dtype: int64"),
        (CONTRACT, "aliases", "10,000 nodes"),
    )
    yield Case(
        "contract_is_a_directory",
        PARAMS,
        "validate",
        _params({"contract.path": "contracts"}),
        ("contracts", "is a directory"),
    )
    # DVC would hash /dev/zero (a dependency through ${contract.path}) for ever.
    yield Case(
        "contract_is_dev_zero",
        PARAMS,
        "validate",
        _params({"contract.path": "/dev/zero"}),
        ("/dev/zero", "larger than"),
        under_dvc=False,
    )
    yield Case(
        "contract_missing_file",
        PARAMS,
        "validate",
        _params({"contract.path": "contracts/missing.yaml"}),
        ("contracts/missing.yaml", "does not exist"),
    )


# --------------------------------------------------------------------------- behavioral spec


def _spec_test(name: str, edit: Callable[[dict[str, Any]], None]) -> Mutation:
    def apply(spec: dict[str, Any]) -> None:
        edit(next(t for t in spec["tests"] if t["name"] == name))

    return _edit_yaml(SPEC, apply)


def spec_cases() -> Iterator[Case]:
    def case(name: str, mutate: Mutation, *fields: str) -> Case:
        return Case(f"spec_{name}", SPEC, "behavioral", mutate, (SPEC, *fields))

    yield case(
        "missing_key",
        _spec_test("customer_id_does_not_matter", lambda t: t.pop("tolerance")),
        "customer_id_does_not_matter",
        "tolerance",
    )
    yield case(
        "unknown_type",
        _spec_test("region_does_not_matter", lambda t: t.update(type="metamorphic")),
        "region_does_not_matter",
        "metamorphic",
    )
    yield case(
        "unknown_perturbation",
        _spec_test(
            "annual_contract_lowers_churn", lambda t: t.update(perturb={"explode": {"x": 1}})
        ),
        "annual_contract_lowers_churn",
        "explode",
    )
    yield case(
        "perturbation_of_unknown_column",
        _spec_test(
            "annual_contract_lowers_churn",
            lambda t: t.update(perturb={"set": {"contract_kind": "annual"}}),
        ),
        "annual_contract_lowers_churn",
        "contract_kind",
    )
    yield case(
        "unknown_expectation",
        _spec_test("more_tickets_do_not_lower_churn", lambda t: t.update(expect="sideways")),
        "more_tickets_do_not_lower_churn",
        "sideways",
    )
    yield case("invalid_yaml", _write(SPEC, "tests:\n  - {name: a, type: mft\n"), "YAML")
    yield case("alias_bomb", _bomb_at(SPEC, "min_rows:"), "aliases", "10,000 nodes")
    yield Case(
        "spec_missing_file",
        PARAMS,
        "behavioral",
        _params({"behavioral.spec": "contracts/missing.yaml"}),
        ("contracts/missing.yaml", "behavioral.spec"),
    )


# --------------------------------------------------------------------------- model files


def _flip_byte(root: Path) -> None:
    data = bytearray((root / MODEL).read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the hash can tell
    (root / MODEL).write_bytes(bytes(data))


def _reseal(root: Path) -> None:
    """Make models/model.json vouch for whatever models/model.joblib now holds."""
    import hashlib

    data = (root / MODEL).read_bytes()
    meta = json.loads((root / META).read_text(encoding="utf-8"))
    meta.update(sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
    (root / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")


def _not_a_classifier(root: Path) -> None:
    joblib.dump({"weights": [0.1, 0.2]}, root / MODEL, compress=("zlib", 3), protocol=5)
    _reseal(root)


def model_cases() -> Iterator[Case]:
    yield Case("model_tampered_byte", MODEL, "evaluate", _flip_byte, (MODEL, "sha256"))
    yield Case("model_truncated", MODEL, "evaluate", _truncate(MODEL), (MODEL, "bytes"))
    yield Case(
        "model_truncated_and_resealed",
        MODEL,
        "behavioral",
        _both(_truncate(MODEL), _reseal),
        (MODEL, "unpickled"),
    )
    yield Case(
        "model_not_a_classifier", MODEL, "evaluate", _not_a_classifier, (MODEL, "predict_proba")
    )
    yield Case("model_missing", MODEL, "evaluate", _delete(MODEL), (MODEL, "does not exist"))
    yield Case(
        "model_from_other_sklearn",
        META,
        "evaluate",
        _edit_json(META, lambda m: m.update(sklearn_version="1.3.2")),
        (MODEL, "scikit-learn 1.3.2"),
    )
    yield Case(
        "model_from_other_python",
        META,
        "behavioral",
        _edit_json(META, lambda m: m.update(python_version="3.9.18")),
        (MODEL, "Python 3.9.18"),
    )
    yield Case("model_metadata_missing", META, "evaluate", _delete(META), (META, "does not exist"))
    yield Case(
        "model_metadata_without_sha256",
        META,
        "evaluate",
        _edit_json(META, lambda m: m.pop("sha256")),
        (META, "sha256"),
    )
    yield Case(
        "model_metadata_not_json", META, "evaluate", _write(META, "sha256: abc\n"), (META, "JSON")
    )


# --------------------------------------------------------------------------- gate evidence

HOLDOUT_METRICS = "metrics/holdout.json"


def metric_cases() -> Iterator[Case]:
    def case(name: str, mutate: Mutation, *fields: str) -> Case:
        return Case(
            f"holdout_metrics_{name}",
            HOLDOUT_METRICS,
            "gate",
            mutate,
            (HOLDOUT_METRICS, *fields),
            reject_check="holdout_auc_floor",
            rewrites=("metrics/gate.json",),
        )

    yield case("missing_key", _edit_json(HOLDOUT_METRICS, lambda m: m.pop("roc_auc")), "roc_auc")
    yield case("text_not_json", _write(HOLDOUT_METRICS, "roc_auc = 0.91\n"), "JSON")
    yield case("empty_file", _write(HOLDOUT_METRICS, b""), "empty")


# --------------------------------------------------------------------------- serving evidence


def _contract_refusing_every_row(root: Path) -> None:
    """A city pattern no holdout row matches: the API refuses every parity request."""

    def edit(contract: dict[str, Any]) -> None:
        contract["columns"]["city"]["checks"] = [
            {"pattern": r"^town_\d{3}$", "options": {"check_name": "str_matches"}}
        ]

    _edit_yaml(CONTRACT, edit)(root)


def _empty_holdout(root: Path) -> None:
    path = root / "data/holdout.parquet"
    pd.read_parquet(path).iloc[:0].to_parquet(path, index=False)


def serving_cases() -> Iterator[Case]:
    """The serving stage has no evidence when not one holdout row was scored by the API."""
    yield Case(
        "serving_every_request_refused",
        CONTRACT,
        "serving",
        _contract_refusing_every_row,
        ("no evidence", "scored 0 of", "city"),
    )
    yield Case(
        "serving_empty_holdout",
        "data/holdout.parquet",
        "serving",
        _empty_holdout,
        ("no evidence", "data/holdout.parquet", "0 rows"),
    )


@dataclass(frozen=True)
class CommandCase:
    """A real `mlgate` command in a copy of the reproduced pipeline, after ``prepare``.

    ``prepare`` gets the repository root and a function running `mlgate` there. The command
    must exit with ``exit_code``, print no traceback, and its output (stdout + stderr) must
    contain every word of ``must_name``.
    """

    name: str
    prepare: Callable[[Path, Callable[..., Any]], None]
    command: tuple[str, ...]
    exit_code: int
    must_name: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


REQUESTS, REFUSED = "requests.jsonl", "refused.jsonl"


def _log(root: Path, mlgate: Callable[..., Any]) -> None:
    mlgate("requests", "--out", REQUESTS, "-n", "20")


def _refused_log(root: Path, mlgate: Callable[..., Any]) -> None:
    """Requests no model takes (tenure_months missing): what a mismatched log looks like."""
    _log(root, mlgate)
    lines = (root / REQUESTS).read_text(encoding="utf-8").splitlines()
    bodies = [json.loads(line)["body"] for line in lines]
    out = [
        json.dumps({"body": {k: v for k, v in b.items() if k != "tenure_months"}}) for b in bodies
    ]
    (root / REFUSED).write_text("\n".join(out) + "\n", encoding="utf-8")


def _synthetic_on_own_contract(root: Path, mlgate: Callable[..., Any]) -> None:
    """Issue 14's scenario: a user's contract (regions spelled their way) and a request log
    of synthetic churn rows, which that contract refuses one and all."""

    def edit(contract: dict[str, Any]) -> None:
        contract["columns"]["region"]["checks"][0]["allowed_values"] = ["N", "S", "E", "W"]

    _edit_yaml(CONTRACT, edit)(root)
    mlgate("requests", "--synthetic", "--out", REFUSED, "-n", "20")


def _promoted(root: Path, mlgate: Callable[..., Any]) -> None:
    """`mlgate promote` the first reproduced commit; the champion is then GTO's prod holder
    (params stop naming it), beside the repository's champion/ folder."""
    _log(root, mlgate)
    first = subprocess.run(
        ["git", "rev-parse", "HEAD~1"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    mlgate("promote", "--rev", first)
    set_params(root, {"gate.champion.ref": ""})


def _no_champion(root: Path, mlgate: Callable[..., Any]) -> None:
    _log(root, mlgate)
    set_params(root, {"gate.champion.ref": ""})


def _branch_named_models(root: Path, mlgate: Callable[..., Any]) -> None:
    _log(root, mlgate)
    subprocess.run(["git", "branch", "models"], cwd=root, check=True, capture_output=True)


def command_cases() -> Iterator[CommandCase]:
    """Empty evidence and model names, through `mlgate shadow` / `canary`."""
    models = ("--champion", "models")
    yield CommandCase(
        "shadow_every_request_refused",
        _refused_log,
        ("shadow", "--requests", REFUSED, *models),
        2,
        ("no evidence", "0 records compared in 20 requests", "20 refused with 4xx"),
    )
    yield CommandCase(
        "canary_every_request_refused",
        _refused_log,
        ("canary", "--requests", REFUSED, *models),
        3,
        ("no evidence at step", "0 records could be compared"),
    )
    yield CommandCase(
        "shadow_synthetic_requests_on_own_contract",
        _synthetic_on_own_contract,
        ("shadow", "--requests", REFUSED, *models),
        2,
        ("no evidence", "0 records compared in 20 requests", "mlgate requests"),
    )
    yield CommandCase(
        "shadow_champion_keyword_beside_champion_folder",
        _promoted,
        ("shadow", "--requests", REQUESTS),
        0,
        ("20 records compared",),
    )
    yield CommandCase(
        "canary_champion_keyword_beside_champion_folder",
        _promoted,
        ("canary", "--requests", REQUESTS),
        0,
        ("canary: completed",),
    )
    for ref in ("churn-model#prod", "churn-model@v0.0.1"):
        yield CommandCase(
            f"shadow_champion_as_{ref.replace('#', '_stage_').replace('@', '_version_')}",
            _promoted,
            ("shadow", "--requests", REQUESTS, "--champion", ref),
            0,
            ("20 records compared",),
        )
    yield CommandCase(
        "shadow_without_a_champion",
        _no_champion,
        ("shadow", "--requests", REQUESTS),
        2,
        ("model 'champion'", "no champion yet", "mlgate promote"),
    )
    yield CommandCase(
        "shadow_candidate_name_ambiguous",
        _branch_named_models,
        ("shadow", "--requests", REQUESTS, *models),
        2,
        ("ambiguous", "git ref 'models'", "'./models'"),
    )


# --------------------------------------------------------------------------- forged decisions

GATE = "metrics/gate.json"


@dataclass(frozen=True)
class ForgedCase:
    """A decision someone edited: ``mlgate check`` and ``mlgate promote`` must refuse it with
    exit 2 and a message containing ``must_name``. Applied to a committed, verified reject."""

    name: str
    mutate: Mutation
    must_name: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


def _reseal_lock(rel: str) -> Mutation:
    """Rewrite the md5 and size of ``rel`` everywhere in dvc.lock, as text (as a forger would:
    a YAML round trip through PyYAML would requote other values)."""

    def mutate(root: Path) -> None:
        import hashlib
        import re

        data = (root / rel).read_bytes()
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        entry = re.compile(
            rf"(- path: {re.escape(rel)}\n\s+hash: md5\n\s+md5: )\w+(\n\s+size: )\d+"
        )
        lock = (root / "dvc.lock").read_text(encoding="utf-8")
        lock, n = entry.subn(lambda m: f"{m[1]}{md5}{m[2]}{len(data)}", lock)
        assert n, f"{rel} not in dvc.lock"
        (root / "dvc.lock").write_text(lock, encoding="utf-8")

    return mutate


def _all_passed(gate: dict[str, Any]) -> None:
    for check in gate["checks"]:
        check["passed"] = True
    gate.update(promote=True, decision="promote", n_failed=0, failed=[])
    gate["summary"] = "all checks passed"


def forged_cases() -> Iterator[ForgedCase]:
    yield ForgedCase(  # issue 14 item 3
        "forged_promote_lock_resealed",
        _both(_edit_json(GATE, _all_passed), _reseal_lock(GATE)),
        ("disagrees with the", "stored 'promote', recomputed 'reject'", "holdout_auc_floor"),
    )
    yield ForgedCase(  # issue 14 item 4
        "forged_boolean_only",
        _both(
            _write(GATE, '{"promote": true, "decision": "reject", "checks": [{"passed": false}]}'),
            _reseal_lock(GATE),
        ),
        ("inconsistent", "lack a string 'name'"),
    )
    yield ForgedCase(
        "forged_promote_flag_only",
        _both(_edit_json(GATE, lambda g: g.update(promote=True)), _reseal_lock(GATE)),
        ("inconsistent", "'promote' is True"),
    )
    yield ForgedCase(
        "forged_promote_lock_untouched",
        _edit_json(GATE, _all_passed),
        ("differs from", "dvc.lock", GATE),
    )


FORGED = list(forged_cases())


# --------------------------------------------------------------------------- the catalog


def build_catalog() -> list[Case]:
    cases = [
        *data_cases(),
        *params_cases(),
        *contract_cases(),
        *spec_cases(),
        *model_cases(),
        *metric_cases(),
        *serving_cases(),
    ]
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate case names: {duplicates}")
    return cases


CATALOG = build_catalog()
COMMAND_CATALOG = list(command_cases())


if __name__ == "__main__":
    for c in CATALOG:
        print(f"{c.name:45} {c.stage:10} {c.target:28} {', '.join(c.must_name)}")
    print(f"{len(CATALOG)} cases")
    for f in FORGED:
        print(f"{f.name:45} mlgate     {GATE:28} {', '.join(f.must_name)}")
    print(f"{len(FORGED)} forged decisions")
