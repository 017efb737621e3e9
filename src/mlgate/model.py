"""Build the model pipeline, save it with an integrity record, and load it only if it checks out.

A pickle runs code when it is loaded, so :func:`load_model` refuses to unpickle anything it
cannot vouch for: the metadata JSON (small, committed to git) records the model file's sha256
and the library versions it was trained with, and the model bytes are hashed *before*
unpickling. A tampered, truncated or foreign file (another sklearn, another Python) raises
:class:`~mlgate.errors.ArtifactError` and is never unpickled. This guards against accidents and
against a changed model file; someone able to rewrite both files can defeat it, which is why
the metadata lives in git next to the code.

Determinism: identical fits give byte-identical joblib files (no timestamps, zlib rather than
gzip, a fixed pickle protocol), so the sha256 doubles as a model identity for DVC and the gate.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
from collections.abc import Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from mlgate import estimators
from mlgate.errors import ArtifactError, ParamsError
from mlgate.features import FeatureSpec, build_preprocessor
from mlgate.io import atomic_path, dumps_json, read_json

__all__ = [
    "ESTIMATORS",
    "ReproducibleHistGradientBoostingClassifier",
    "MODEL_FORMAT_VERSION",
    "build_pipeline",
    "hash_frame",
    "load_model",
    "required_columns",
    "save_model",
    "sha256_file",
]

# Bump when the layout of the model file or its metadata changes incompatibly.
MODEL_FORMAT_VERSION = 1
# Pinned, not HIGHEST_PROTOCOL, so a newer Python does not change the bytes of the same model.
PICKLE_PROTOCOL = 5
# zlib has no timestamp in its header (gzip has), so compressed dumps stay byte-identical.
COMPRESSION: tuple[str, int] = ("zlib", 3)

# estimator name -> hyperparameters a user may set. The seed comes from train.seed only, and
# settings that would change the model's contract (multi-threading knobs, warm starts) stay out.
ESTIMATORS: dict[str, tuple[str, ...]] = {
    "logistic_regression": (
        "C",
        "class_weight",
        "fit_intercept",
        "l1_ratio",
        "max_iter",
        "solver",
        "tol",
    ),
    "hist_gradient_boosting": (
        "class_weight",
        "early_stopping",
        "l2_regularization",
        "learning_rate",
        "max_bins",
        "max_depth",
        "max_features",
        "max_iter",
        "max_leaf_nodes",
        "min_samples_leaf",
        "n_iter_no_change",
        "tol",
        "validation_fraction",
    ),
}
# sklearn's default of 100 iterations often stops lbfgs short of convergence on raw data.
_LOGISTIC_DEFAULT_MAX_ITER = 1000

_REQUIRED_META = ("format_version", "sha256", "size_bytes", "python_version", "sklearn_version")


# --------------------------------------------------------------------------- building


def build_pipeline(
    spec: FeatureSpec,
    *,
    estimator: str,
    hyperparams: Mapping[str, Any],
    seed: int,
    estimator_params: Mapping[str, Any] | None = None,
) -> Pipeline:
    """Preprocessor + estimator as one unfitted Pipeline with steps ``features`` and ``model``.

    ``logistic_regression`` scales numeric features; ``hist_gradient_boosting`` does not need
    to. An import path (``sklearn.ensemble.RandomForestClassifier``, ``my_models.MyModel``)
    builds that class with ``estimator_params`` (see mlgate.estimators) after scaled features:
    a linear model needs the scaling and a tree model is not changed by it. Unknown names and
    invalid values raise ParamsError naming ``train.estimator``, ``train.hyperparams.<name>``
    or ``train.estimator_params.<name>`` and what is allowed.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ParamsError(f"train.seed: expected an integer, got {seed!r}")
    if estimator not in ESTIMATORS and estimators.is_import_path(estimator):
        custom = estimators.build_estimator(estimator, estimator_params or {}, seed=int(seed))
        return Pipeline(
            [("features", build_preprocessor(spec, scale_numeric=True)), ("model", custom)]
        )
    if estimator not in ESTIMATORS:
        raise ParamsError(
            f"train.estimator: expected one of {list(ESTIMATORS)} or an import path to a "
            f"classifier such as sklearn.ensemble.RandomForestClassifier, got {estimator!r}"
        )
    if estimator_params:
        raise ParamsError(
            f"train.estimator_params: for an import-path estimator only; set {estimator}'s "
            f"settings in train.hyperparams.{estimator}"
        )
    if not isinstance(hyperparams, Mapping):
        raise ParamsError(
            f"train.hyperparams: expected a mapping, got {type(hyperparams).__name__}"
        )
    allowed = ESTIMATORS[estimator]
    for name in hyperparams:
        if name not in allowed:
            hint = " (set train.seed instead)" if name == "random_state" else ""
            raise ParamsError(
                f"train.hyperparams.{name}: not a hyperparameter of {estimator}{hint}; "
                f"expected one of {list(allowed)}"
            )
    params = dict(hyperparams)
    model: LogisticRegression | HistGradientBoostingClassifier
    if estimator == "logistic_regression":
        params.setdefault("max_iter", _LOGISTIC_DEFAULT_MAX_ITER)
        # random_state only matters for the liblinear/sag/saga solvers; set it regardless.
        model = LogisticRegression(random_state=int(seed), **params)
        scale = True
    else:
        model = ReproducibleHistGradientBoostingClassifier(random_state=int(seed), **params)
        scale = False
    _check_values(model, estimator, params)
    return Pipeline(
        [("features", build_preprocessor(spec, scale_numeric=scale)), ("model", model)]
    )


def _check_values(model: Any, estimator: str, params: Mapping[str, Any]) -> None:
    # Validate now rather than at fit time, where the message would not name the params key.
    # _validate_params is scikit-learn's own constraint check (private but stable since 1.2).
    validate = getattr(model, "_validate_params", None)
    if validate is None:
        return
    try:
        validate()
    except (TypeError, ValueError) as exc:
        message = str(exc)
        culprit = next((n for n in params if f"'{n}' parameter" in message), None)
        key = f"train.hyperparams.{culprit}" if culprit else "train.hyperparams"
        raise ParamsError(f"{key}: invalid for {estimator}: {message}") from None


class ReproducibleHistGradientBoostingClassifier(HistGradientBoostingClassifier):
    """HistGradientBoostingClassifier whose ``fit`` runs on one OpenMP thread.

    With a fixed random_state the fit is deterministic *for a given thread count*, but some
    sums (e.g. the root node's gradient total) are reduced in per-thread chunks, so 1 and 2
    threads give models that differ in the last bits and hence different joblib bytes. One
    thread makes the model hash the same on a laptop and a CI runner. Prediction stays
    multi-threaded: it is computed row by row, so the thread count cannot change it.
    Parameters are the parent's, so ``clone`` and ``get_params`` work unchanged.
    """

    # The parent's signature, spelled out: sklearn reads it to route sample_weight and X_val.
    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        X_val: Any = None,
        y_val: Any = None,
        sample_weight_val: Any = None,
    ) -> Any:
        with threadpool_limits(limits=1, user_api="openmp"):
            return super().fit(
                X,
                y,
                sample_weight=sample_weight,
                X_val=X_val,
                y_val=y_val,
                sample_weight_val=sample_weight_val,
            )


# --------------------------------------------------------------------------- hashing


def sha256_file(path: str | os.PathLike[str], *, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks so large files never sit in memory whole."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def hash_frame(df: pd.DataFrame) -> str:
    """A stable sha256 of a DataFrame's content: column names, dtypes and values, in order.

    The index is ignored (a reset index is the same data); row order and column order count.
    Values are hashed column by column with ``pandas.util.hash_pandas_object``, so the result
    is the same on every run and platform for a given pandas version. A changed dtype (int to
    float, or a pandas release renaming a dtype) changes the hash, on purpose.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"hash_frame expects a pandas DataFrame, got {type(df).__name__}")
    digest = hashlib.sha256()
    digest.update(f"mlgate-frame-v1 rows={len(df)} cols={df.shape[1]}\n".encode())
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        header = json.dumps([repr(df.columns[i]), str(col.dtype)])
        digest.update(header.encode("utf-8") + b"\n")
        values = pd.util.hash_pandas_object(col, index=False).to_numpy(dtype=np.uint64)
        digest.update(values.astype("<u8", copy=False).tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------- save / load


def _versions() -> dict[str, str]:
    return {
        "python_version": platform.python_version(),
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "pandas_version": pd.__version__,
        "joblib_version": joblib.__version__,
        "mlgate_version": _mlgate_version(),
    }


def _mlgate_version() -> str:
    try:
        return importlib_metadata.version("mlgate")
    except importlib_metadata.PackageNotFoundError:
        from mlgate import __version__

        return __version__


def save_model(
    pipeline: Any,
    model_path: str | os.PathLike[str],
    meta_path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any],
    estimator_import: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Dump ``pipeline`` with joblib and write its integrity record; return that record.

    Both files are written atomically, model first: a crash in between leaves a model whose
    hash does not match the old metadata, which :func:`load_model` refuses (fail closed).
    ``metadata`` (feature list, training data hash, params...) is stored as ``created_from``
    and must be JSON-serialisable; this is checked before anything is written.
    ``estimator_import`` (mlgate.estimators.provenance) records an import-path estimator's
    origin, which :func:`load_model` checks before unpickling.
    """
    created_from = json.loads(dumps_json(dict(metadata)))
    model_path, meta_path = Path(model_path), Path(meta_path)
    if model_path.resolve() == meta_path.resolve():
        raise ValueError(f"model_path and meta_path are the same file: {model_path}")
    with atomic_path(model_path) as tmp:
        joblib.dump(pipeline, tmp, compress=COMPRESSION, protocol=PICKLE_PROTOCOL)
        sha256 = sha256_file(tmp)
        size = tmp.stat().st_size
    final = pipeline.steps[-1][1] if isinstance(pipeline, Pipeline) else pipeline
    record: dict[str, Any] = {
        "format_version": MODEL_FORMAT_VERSION,
        "model_file": model_path.name,
        "sha256": sha256,
        "size_bytes": size,
        "estimator": f"{type(final).__module__}.{type(final).__qualname__}",
        **_versions(),
        "pickle_protocol": PICKLE_PROTOCOL,
        "compression": list(COMPRESSION),
        "created_from": created_from,
    }
    if estimator_import is not None:
        record["estimator_import"] = dict(estimator_import)
    text = dumps_json(record)
    with atomic_path(meta_path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return json.loads(text)


def _python_minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def _check_metadata(meta: Any, meta_path: Path) -> None:
    if not isinstance(meta, dict):
        raise ArtifactError(
            f"model metadata {meta_path}: expected a JSON object, got {type(meta).__name__}"
        )
    missing = [k for k in _REQUIRED_META if k not in meta]
    if missing:
        raise ArtifactError(f"model metadata {meta_path}: missing key(s) {missing}")
    if meta["format_version"] != MODEL_FORMAT_VERSION:
        raise ArtifactError(
            f"model metadata {meta_path}: format_version is {meta['format_version']!r}, this "
            f"mlgate reads {MODEL_FORMAT_VERSION}; retrain the model"
        )
    sha = meta["sha256"]
    if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        raise ArtifactError(f"model metadata {meta_path}: sha256 {sha!r} is not a hex digest")


def load_model(
    model_path: str | os.PathLike[str],
    meta_path: str | os.PathLike[str],
    *,
    check_versions: bool = True,
) -> tuple[Any, dict[str, Any]]:
    """Verify the model file against its metadata, then unpickle it; return (pipeline, meta).

    Checked before unpickling, each failure an ArtifactError naming the file and both values:
    the metadata exists and parses, the model file's size and sha256 match, and (when
    ``check_versions``) Python major.minor and the exact scikit-learn version match the
    running ones. The bytes that are hashed are the bytes that are unpickled, so the file
    cannot be swapped between check and load.
    """
    model_path, meta_path = Path(model_path), Path(meta_path)
    meta = read_json(meta_path, what="model metadata")
    _check_metadata(meta, meta_path)
    if not model_path.is_file():
        raise ArtifactError(f"model file {model_path} does not exist")
    data = model_path.read_bytes()
    if len(data) != meta["size_bytes"]:
        raise ArtifactError(
            f"model file {model_path} has {len(data)} bytes, but {meta_path} records "
            f"{meta['size_bytes']}; refusing to load a changed model"
        )
    actual = hashlib.sha256(data).hexdigest()
    if actual != meta["sha256"]:
        raise ArtifactError(
            f"model file {model_path} has sha256 {actual}, but {meta_path} records "
            f"{meta['sha256']}; refusing to load a changed model"
        )
    if check_versions:
        _check_versions(meta, model_path)
    if "estimator_import" in meta:
        # A class of the user's own or of another package: its module must import, and (like
        # scikit-learn) be the version the model was fitted with.
        if check_versions:
            estimators.check_provenance(meta["estimator_import"], model_path)
        else:
            estimators.allow_repo_modules()
    try:
        pipeline = joblib.load(io.BytesIO(data))
    except Exception as exc:  # an unpickling failure can be almost any exception type
        raise ArtifactError(f"model file {model_path} cannot be unpickled: {exc!r}") from exc
    if not hasattr(pipeline, "predict_proba"):
        raise ArtifactError(
            f"model file {model_path} holds a {type(pipeline).__name__}, expected a fitted "
            "classifier with predict_proba"
        )
    return pipeline, meta


def _check_versions(meta: dict[str, Any], model_path: Path) -> None:
    running = _versions()
    if _python_minor(meta["python_version"]) != _python_minor(running["python_version"]):
        raise ArtifactError(
            f"model file {model_path} was saved with Python {meta['python_version']}, "
            f"this is Python {running['python_version']} (major.minor must match)"
        )
    if str(meta["sklearn_version"]) != running["sklearn_version"]:
        raise ArtifactError(
            f"model file {model_path} was saved with scikit-learn "
            f"{meta['sklearn_version']}, this is scikit-learn {running['sklearn_version']} "
            "(must match exactly; retrain or install that version)"
        )


# --------------------------------------------------------------------------- columns


def required_columns(pipeline: Any) -> tuple[str, ...]:
    """Input columns a fitted pipeline reads (those its ColumnTransformer selects)."""
    first = pipeline.steps[0][1] if isinstance(pipeline, Pipeline) else pipeline
    if isinstance(first, ColumnTransformer) and hasattr(first, "transformers_"):
        cols: dict[str, None] = {}
        for name, _, columns in first.transformers_:
            if name == "remainder" and first.remainder == "drop":
                continue
            if isinstance(columns, str):
                columns = [columns]
            names = getattr(first, "feature_names_in_", None)
            for c in columns:
                if isinstance(c, str):
                    cols[c] = None
                elif names is not None and not isinstance(c, bool):
                    # integer positions or masks: translate through the fitted names
                    cols[str(names[int(c)])] = None
        return tuple(cols)
    names = getattr(pipeline, "feature_names_in_", None)
    return tuple(str(n) for n in names) if names is not None else ()
