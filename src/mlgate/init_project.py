"""``mlgate init``: turn a user's CSV or Parquet table into a ready project in this repository.

What it decides, all printed for review (nothing is silent):

* **the file**: versioned with ``dvc add``. A file outside the repository is first copied to
  ``sources/``; a file git ignores (e.g. under ``data/``, where pipeline outputs live) is
  refused, because its ``.dvc`` file could not be committed.
* **the contract** (``contracts/<name>.yaml``): drafted by ``mlgate contract infer``'s code;
  blank and NA-like cells are reported and put in ``data.na_values`` so they read as nulls.
* **params.yaml** (updated in place, comments kept): the data keys, features by dtype
  (numbers and 0/1 flags -> numeric, text with <= 20 values -> categorical, more ->
  frequency, nearly unique text and dates -> left out, with the reason), slices for each value
  of low-cardinality categoricals and flags, and gate floors from a cross-validated baseline
  (mlgate.init_baseline), not the synthetic data's.
* **a behavioral spec** (``contracts/<name>_behavioral.yaml``): id invariance and coverage,
  which hold for any sound model, plus INV/DIR *templates* left commented out until the user
  confirms the expectation (a guessed direction would be a test of the guess).

Existing files are refused without ``force``; params.yaml counts as existing once its
``data.source`` points somewhere else than the built-in synthetic table.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate import paths
from mlgate.errors import DataError, MlgateError, ParamsError
from mlgate.init_plan import (
    MAX_ONEHOT,
    FeaturePlan,
    behavioral_spec,
    choose_positive_label,
    plan_features,
    plan_slices,
    self_check,
)
from mlgate.io import write_text
from mlgate.repo import git

SYNTHETIC_SOURCE = paths.SYNTHETIC


@dataclass
class InitResult:
    decisions: list[str] = field(default_factory=list)  # what was decided, and why
    review: list[str] = field(default_factory=list)  # what the user must check
    written: list[str] = field(default_factory=list)


def init_project(
    data: str,
    *,
    target: str,
    id_column: str,
    positive_label: str | None = None,
    force: bool = False,
) -> InitResult:
    """Do everything described in the module docstring, in the current directory."""
    from mlgate.data.contract_draft import draft_contract
    from mlgate.data.ingest import read_table

    root = _pipeline_root()
    result = InitResult()
    source = _place_source(Path(data), root, result, dry_run=True)
    name = _project_name(source)
    contract_path = f"contracts/{name}.yaml"
    spec_path = f"contracts/{name}_behavioral.yaml"
    copied = [] if source.resolve() == Path(data).resolve() else [source.as_posix()]
    _refuse_overwrites(root, [*copied, contract_path, spec_path], force)
    params = _params_to_replace(root, force)

    raw = read_table(data)
    _check_columns(raw, data, target=target, id_column=id_column)
    draft = draft_contract(raw, id_column=id_column)
    result.decisions += [f"contract: {note}" for note in draft.notes]
    frame = _as_validated(read_table(data, na_values=draft.na_values), draft.text, data)
    label = choose_positive_label(frame[target], positive_label)
    y = (frame[target].astype(str) == str(label)).to_numpy().astype(int)
    plan = plan_features(frame, id_column=id_column, target=target)
    slices = plan_slices(frame, plan)

    baseline = _baseline(frame, y, plan, slices, id_column, params)
    spec_text = behavioral_spec(frame, plan, id_column=id_column, source=source.as_posix())
    self_check(draft.text, spec_text, spec_path, slices)
    params_text = _updated_params(
        root / paths.PARAMS,
        source=source.as_posix(),
        id_column=id_column,
        target=target,
        label=label,
        na_values=list(draft.na_values),
        contract=contract_path,
        spec=spec_path,
        plan=plan,
        slices=slices,
        baseline=baseline,
        artifact=f"{name}-model",
    )

    # Everything is decided and checked: now act, DVC first (the step most likely to fail).
    source = _place_source(Path(data), root, result, dry_run=False)
    _dvc_add(source, root, result)
    _write(root / contract_path, draft.text, result)
    _write(root / spec_path, spec_text, result)
    write_text(root / paths.PARAMS, params_text)
    result.written.append("params.yaml (updated)")
    _explain(result, frame, y, label, plan, slices, baseline, draft.na_values, contract_path)
    return result


def _pipeline_root() -> Path:
    root = Path.cwd()
    if not (root / ".dvc").is_dir() or not (root / "dvc.yaml").is_file():
        raise MlgateError(
            f"{root}: no .dvc/ and dvc.yaml here; run mlgate init at the root of the pipeline "
            "repository"
        )
    return root


def _params_to_replace(root: Path, force: bool) -> Any:
    """The project's params, refused (without force) unless still on the synthetic table."""
    from mlgate.params import load_params

    params = load_params(root / paths.PARAMS)
    if params.data.source != SYNTHETIC_SOURCE and not force:
        raise ParamsError(
            f"params.yaml: data.source is already {params.data.source!r} (not the built-in "
            "synthetic table); pass --force to replace its data, features, slices and floors"
        )
    return params


# --------------------------------------------------------------------------- the file


def _place_source(data: Path, root: Path, result: InitResult, *, dry_run: bool) -> Path:
    """The data file's path relative to the repository root (copied in when outside it)."""
    if not data.is_file():
        raise DataError(f"--data {data}: no such file; expected a .csv or .parquet table")
    if data.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise DataError(f"--data {data}: expected a .csv or .parquet file")
    absolute = data.resolve()
    if not absolute.is_relative_to(root.resolve()):
        target = Path("sources") / data.name
        if not dry_run:
            (root / "sources").mkdir(exist_ok=True)
            shutil.copy2(absolute, root / target)
            result.decisions.append(
                f"data: {data} is outside the repository; copied to {target} (versioned there)"
            )
        return target
    relative = absolute.relative_to(root.resolve())
    if (root / f"{relative}.dvc").exists():
        return relative  # versioned already
    if _git(root, "check-ignore", "-q", str(relative)) == 0:
        raise DataError(
            f"--data {relative}: git ignores this path (data/ and models/ hold pipeline "
            "outputs), so its .dvc file could not be committed; move it to sources/"
        )
    if _git(root, "ls-files", "--error-unmatch", str(relative)) == 0:
        raise DataError(
            f"--data {relative}: git tracks this file; `git rm --cached {relative}` first so "
            "that DVC can version it"
        )
    return relative


def _git(root: Path, *args: str) -> int:
    return git.run(root, *args).returncode


def _dvc_add(source: Path, root: Path, result: InitResult) -> None:
    # Run even when a .dvc file exists: dvc add is idempotent and records a changed file.
    dvc = Path(sys.executable).parent / "dvc"
    proc = subprocess.run(
        [str(dvc) if dvc.exists() else "dvc", "add", "--quiet", str(source)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise MlgateError(f"dvc add {source} failed: {tail[0]}")
    result.decisions.append(f"data: versioned with `dvc add {source}` ({source}.dvc)")
    result.written.append(f"{source}.dvc")


def _project_name(source: Path) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", source.stem.lower()).strip("-")
    return name or "project"


def _refuse_overwrites(root: Path, paths: list[str], force: bool) -> None:
    existing = [p for p in paths if (root / p).exists()]
    if existing and not force:
        raise MlgateError(f"{', '.join(existing)} exist(s); pass --force to overwrite")


def _write(path: Path, text: str, result: InitResult) -> None:
    write_text(path, text)
    result.written.append(str(path.relative_to(Path.cwd())))


# --------------------------------------------------------------------------- the columns


def _check_columns(frame: pd.DataFrame, data: str, *, target: str, id_column: str) -> None:
    for flag, column in (("--target", target), ("--id-column", id_column)):
        if column not in frame.columns:
            raise DataError(
                f"{data}: {flag} '{column}' is not a column; columns are {list(frame.columns)}"
            )
    if target == id_column:
        raise DataError("--target and --id-column name the same column")
    unlabelled = int(frame[target].isna().sum())
    if unlabelled:
        raise DataError(
            f"{data}: {unlabelled} row(s) have no value in --target '{target}'; drop them or "
            "label them first (a missing label is not a negative)"
        )
    ids = frame[id_column]
    if ids.isna().any() or ids.duplicated().any():
        raise DataError(
            f"{data}: --id-column '{id_column}' must be unique and never empty (it decides "
            "which rows are held out)"
        )


def _as_validated(frame: pd.DataFrame, contract_text: str, data: str) -> pd.DataFrame:
    """The table as the validate stage will pass it on (coerced by the draft contract), which
    also proves that the draft accepts the data it was drafted from."""
    import pandera.pandas as pa

    from mlgate.data.contract import validate

    result = validate(frame, pa.DataFrameSchema.from_yaml(contract_text))
    if not result.passed or result.validated is None:
        broken = "; ".join(f"{s['column']}: {s['check']}" for s in result.summary[:5])
        raise DataError(f"{data}: the drafted contract rejects its own data ({broken})")
    return result.validated


# --------------------------------------------------------------------------- floors


def _baseline(
    frame: pd.DataFrame,
    y: np.ndarray,
    plan: FeaturePlan,
    slices: dict[str, dict[str, Any]],
    id_column: str,
    params: Any,
) -> Any:
    from mlgate.features import FeatureSpec
    from mlgate.init_baseline import cross_validated_floors
    from mlgate.slices import parse_slices

    spec = FeatureSpec(
        numeric=tuple(plan.numeric),
        categorical=tuple(plan.categorical),
        frequency=tuple(plan.frequency),
    )
    if not spec.columns:
        raise DataError("no usable feature column: every column was left out (see above)")
    estimator = params.train.estimator
    return cross_validated_floors(
        frame,
        spec=spec,
        target=y,
        id_column=id_column,
        slices=parse_slices(slices, where="evaluate.slices"),
        holdout_fraction=params.split.holdout_fraction,
        salt=params.split.salt,
        estimator=estimator,
        hyperparams=params.train.hyperparams.get(estimator, {}),
        estimator_params=params.train.estimator_params,
        seed=params.train.seed,
        min_samples=params.evaluate.min_samples,
    )


# --------------------------------------------------------------------------- params.yaml


def _updated_params(path: Path, **values: Any) -> str:
    """params.yaml's new text, refused unless it reads back as the values set."""
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    def q(value: Any) -> Any:
        # Double quotes: YAML 1.1 readers (PyYAML, used by mlgate) take an unquoted Yes/No as
        # a boolean, while DVC's YAML 1.2 reader takes it as text.
        return DoubleQuotedScalarString(value) if isinstance(value, str) else value

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 99
    doc = yaml.load(path.read_text(encoding="utf-8"))
    plan: FeaturePlan = values["plan"]
    data = doc["data"]
    data["source"] = values["source"]
    data["id_column"] = values["id_column"]
    data["target"] = values["target"]
    data["positive_label"] = q(values["label"])
    data["na_values"] = [q(v) for v in values["na_values"]]
    doc["contract"]["path"] = values["contract"]
    doc["behavioral"]["spec"] = values["spec"]
    features = doc["features"]
    features["numeric"] = plan.numeric
    features["categorical"] = plan.categorical
    features["frequency"] = plan.frequency
    features["cyclical_dates"] = []
    features["days_since_dates"] = []
    features["date_reference"] = None
    doc["evaluate"]["slices"] = {
        name: {**s, "value": q(s["value"])} for name, s in values["slices"].items()
    }
    gate = doc["gate"]
    gate["min_auc"] = values["baseline"].min_auc
    gate["min_slice_auc"] = values["baseline"].min_slice_auc
    gate["champion"]["artifact"] = values["artifact"]
    from io import StringIO

    _values_on_the_key_line(doc)
    buffer = StringIO()
    yaml.dump(doc, buffer)
    _check_reads_back(path, buffer.getvalue(), doc)
    return buffer.getvalue()


def _values_on_the_key_line(node: Any) -> None:
    """Forget "a block value follows" for keys whose new value is written on the key's line.

    A commented key whose value was a block list (``dvc exp run -S`` rewrites params.yaml in
    that style) keeps an empty "comments before the value" slot; with ``[]`` or a scalar as the
    new value, ruamel 0.19 then drops the line break after the next key
    (``cyclical_dates: -`` or ``date_reference: cyclical_parts:``): a corrupt params.yaml.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedSeq):
        for child in node:
            _values_on_the_key_line(child)
    if not isinstance(node, CommentedMap):
        return
    for key, value in node.items():
        slots = node.ca.items.get(key)
        inline = not isinstance(value, list | dict) or not value
        if inline and slots is not None and len(slots) > 3 and slots[3] == []:
            slots[3] = None
        _values_on_the_key_line(value)


def _check_reads_back(path: Path, text: str, doc: Any) -> None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        same = YAML(typ="safe", pure=True).load(text) == doc
    except YAMLError:
        same = False
    if not same:
        raise ParamsError(
            f"{path}: the updated params.yaml would not read back as the values mlgate init "
            "set (a YAML writer problem); nothing was written. Set the keys by hand or "
            "report this."
        )


# --------------------------------------------------------------------------- the summary


def _explain(
    result: InitResult,
    frame: pd.DataFrame,
    y: np.ndarray,
    label: Any,
    plan: FeaturePlan,
    slices: dict[str, dict[str, Any]],
    baseline: Any,
    na_values: tuple[str, ...],
    contract_path: str,
) -> None:
    d = result.decisions
    d.append(
        f"target: positive label {label!r} ({y.mean():.1%} of {len(frame):,} rows); "
        "data.positive_label"
    )
    d.append(f"features.numeric: {plan.numeric} (flags among them: {plan.flags})")
    d.append(f"features.categorical (one-hot, <= {MAX_ONEHOT} values): {plan.categorical}")
    d.append(f"features.frequency (more values): {plan.frequency}")
    for column, why in plan.left_out.items():
        d.append(f"left out: {column}: {why}")
    d.append(f"evaluate.slices: {len(slices)} (each value of flags and categoricals)")
    d.append(f"gate floors from a baseline: {baseline.explain()}")
    lowest = sorted(baseline.slice_floors.items(), key=lambda kv: kv[1])[:3]
    shown = ", ".join(f"{name} {floor}" for name, floor in lowest) or "none evaluable"
    d.append(
        f"gate.min_auc {baseline.min_auc}, gate.min_slice_auc {baseline.min_slice_auc} "
        f"(lowest of {len(baseline.slice_floors)} slice floors, capped at min_auc; lowest: "
        f"{shown}; a floor of 0.5 means the slice is too small to support more)"
    )
    r = result.review
    r.append(
        f"{contract_path}: ranges are the ones seen widened by 10%, categories the ones seen; "
        "tighten or widen them to what your data may hold"
    )
    if na_values:
        r.append(f"data.na_values {list(na_values)}: these cells will be read as missing")
    r.append("evaluate.slices: keep the segments you care about, add your own")
    r.append(
        "gate floors: derived from this data, not a target; raise them to what the business "
        "needs (a floor is never a reason to ship a weak model)"
    )
    r.append("behavioral spec: confirm and uncomment the INV/DIR templates, add your own")
    r.append("then: dvc repro && mlgate check; commit, and `mlgate promote` the first model")
