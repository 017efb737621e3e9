"""Bring your own estimator: ``train.estimator`` as an import path to a scikit-learn classifier.

The path is dotted, ``package.module.ClassName``: ``sklearn.ensemble.RandomForestClassifier``,
an installed package's class (``xgboost.XGBClassifier``), or a class in a module of your own
repository (``my_models.MyClassifier`` for ``my_models.py`` at the repository root, or
``models_pkg.trees.MyClassifier`` for ``models_pkg/trees.py``). One form for all, because
the model file records the class the same way: pickle stores ``module.ClassName`` and
imports that module again when any stage loads the model.

Finding your module: the repository root (the working directory of every DVC stage and of
``mlgate``) is *appended* to ``sys.path``, after the installed packages, so a file in the
repository can never shadow an installed library or the standard library; it only makes your
own modules importable. The module file must be inside ``train.code`` (a dvc.yaml dependency
of the train stage), so that editing it retrains the model; the train stage refuses otherwise.

What is accepted: a class whose instance is a scikit-learn classifier (``is_classifier``,
i.e. ``ClassifierMixin`` or the classifier tag) and has ``predict_proba`` (with the given
params: ``SVC`` needs ``probability: true``). ``train.estimator_params`` are checked against
the class's ``get_params()`` (with a did-you-mean) and scikit-learn's own value constraints;
``random_state`` comes from ``train.seed`` when the class has one. ``models/model.json``
records the path, the params, the version of the package it comes from and, for a module of
your own, its file and sha256; loading the model refuses a changed module file or package
version, like a changed scikit-learn.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import inspect
import sys
from collections.abc import Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from sklearn.base import is_classifier

from mlgate.errors import ArtifactError, ParamsError

__all__ = [
    "build_estimator",
    "check_provenance",
    "is_import_path",
    "provenance",
    "resolve",
    "user_module_file",
]


def is_import_path(name: str) -> bool:
    """True for ``module.ClassName`` (a dot, identifiers only); built-in names have no dot."""
    parts = name.split(".")
    return len(parts) >= 2 and all(p.isidentifier() for p in parts)


def _repo_root() -> Path:
    return Path.cwd().resolve()


def allow_repo_modules() -> None:
    """Make modules at the repository root importable, after every installed package."""
    root = str(_repo_root())
    if root not in sys.path:
        sys.path.append(root)


def resolve(path: str) -> type:
    """The class named by ``path``; ParamsError naming ``train.estimator`` if it is not one."""
    if not is_import_path(path):
        raise ParamsError(
            f"train.estimator: {path!r} is not an import path; expected module.ClassName, "
            "e.g. sklearn.ensemble.RandomForestClassifier"
        )
    module_name, _, class_name = path.rpartition(".")
    allow_repo_modules()
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ParamsError(
            f"train.estimator: cannot import module '{module_name}' ({exc}); a module of your "
            "own must be a .py file under the repository root"
        ) from None
    except Exception as exc:  # the user's module raised while being imported
        raise ParamsError(
            f"train.estimator: importing module '{module_name}' failed: {exc!r}"
        ) from None
    cls = getattr(module, class_name, None)
    if cls is None:
        names = [n for n, v in vars(module).items() if inspect.isclass(v)]
        close = difflib.get_close_matches(class_name, names, n=1)
        hint = f"; did you mean '{module_name}.{close[0]}'?" if close else ""
        raise ParamsError(f"train.estimator: module '{module_name}' has no '{class_name}'{hint}")
    if not inspect.isclass(cls):
        raise ParamsError(f"train.estimator: '{path}' is not a class")
    return cls


def build_estimator(path: str, params: Mapping[str, Any], *, seed: int) -> Any:
    """An unfitted instance of the class at ``path`` with ``params`` and the seed.

    Refuses, naming the key: unknown params (did-you-mean), ``random_state`` (train.seed sets
    it), invalid values, and classes that are not probabilistic classifiers.
    """
    cls = resolve(path)
    if not isinstance(params, Mapping):
        raise ParamsError(
            f"train.estimator_params: expected a mapping, got {type(params).__name__}"
        )
    try:
        defaults = cls().get_params(deep=False)
    except Exception as exc:
        raise ParamsError(
            f"train.estimator: {path} cannot be created with its defaults or has no "
            f"get_params() ({exc!r}); expected a scikit-learn compatible classifier"
        ) from None
    for name in params:
        if name == "random_state":
            raise ParamsError(
                "train.estimator_params.random_state: set train.seed instead (it is passed as "
                "random_state)"
            )
        if name not in defaults:
            close = difflib.get_close_matches(str(name), list(defaults), n=1)
            hint = (
                f"; did you mean '{close[0]}'?"
                if close
                else f"; expected one of {sorted(defaults)}"
            )
            raise ParamsError(f"train.estimator_params.{name}: not a parameter of {path}{hint}")
    kwargs = dict(params)
    if "random_state" in defaults:
        kwargs["random_state"] = int(seed)
    try:
        model = cls(**kwargs)
    except Exception as exc:
        raise ParamsError(f"train.estimator_params: invalid for {path}: {exc}") from None
    _check_classifier(model, path)
    _check_values(model, path, params)
    return model


def _check_classifier(model: Any, path: str) -> None:
    try:
        classifier = is_classifier(model)
    except (AttributeError, TypeError):  # no scikit-learn tags at all (not a BaseEstimator)
        classifier = False
    if not classifier:
        raise ParamsError(
            f"train.estimator: {path} is not a classifier (not a scikit-learn ClassifierMixin "
            "or classifier-tagged estimator); the gate needs class probabilities"
        )
    if not hasattr(model, "predict_proba"):
        raise ParamsError(
            f"train.estimator: {path} has no predict_proba with these train.estimator_params "
            "(e.g. SVC needs probability: true); the gate needs class probabilities"
        )


def _check_values(model: Any, path: str, params: Mapping[str, Any]) -> None:
    # scikit-learn's own constraint check, now rather than at fit time (private, stable
    # since 1.2); third-party classes without it are checked by their fit.
    validate = getattr(model, "_validate_params", None)
    if validate is None or not hasattr(model, "_parameter_constraints"):
        return  # a BaseEstimator subclass declares no constraints unless it says so
    try:
        validate()
    except (TypeError, ValueError) as exc:
        message = str(exc)
        culprit = next((n for n in params if f"'{n}' parameter" in message), None)
        key = f"train.estimator_params.{culprit}" if culprit else "train.estimator_params"
        raise ParamsError(f"{key}: invalid for {path}: {message}") from None


# --------------------------------------------------------------------------- provenance


def user_module_file(cls: type) -> Path | None:
    """The repository file defining ``cls`` (relative to the root), or None if installed."""
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    root = _repo_root()
    if not path.is_relative_to(root) or _is_installed(path):
        return None
    return path.relative_to(root)


def _is_installed(path: Path) -> bool:
    # A virtualenv inside the repository (.venv) holds installed packages, not user code.
    return "site-packages" in path.parts or "dist-packages" in path.parts


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def provenance(path: str) -> dict[str, Any]:
    """What model.json records about the class at ``path``: where it comes from and versions."""
    cls = resolve(path)
    record: dict[str, Any] = {"import_path": path}
    own = user_module_file(cls)
    if own is not None:
        record["module_file"] = own.as_posix()
        record["module_sha256"] = _sha256(_repo_root() / own)
        return record
    top = cls.__module__.split(".")[0]
    dists = importlib_metadata.packages_distributions().get(top, [])
    if dists:
        record["package"] = dists[0]
        record["package_version"] = importlib_metadata.version(dists[0])
    return record


def check_provenance(record: Any, model_path: Path) -> None:
    """Before unpickling: the estimator's module file or package is the one it was fitted
    with. ArtifactError otherwise, naming both values (as for a changed scikit-learn)."""
    if not isinstance(record, Mapping):
        return
    allow_repo_modules()
    if "module_file" in record:
        file = _repo_root() / str(record["module_file"])
        if not file.is_file():
            raise ArtifactError(
                f"model file {model_path} needs {record['module_file']} (defines "
                f"{record.get('import_path')}), which does not exist here"
            )
        actual = _sha256(file)
        if actual != record.get("module_sha256"):
            raise ArtifactError(
                f"model file {model_path} was fitted with {record['module_file']} sha256 "
                f"{record.get('module_sha256')}, this file has {actual}: its classes may "
                "differ; retrain (dvc repro), or restore the module it was fitted with"
            )
    elif "package" in record:
        try:
            running = importlib_metadata.version(str(record["package"]))
        except importlib_metadata.PackageNotFoundError:
            running = None
        if running != record.get("package_version"):
            raise ArtifactError(
                f"model file {model_path} was saved with {record['package']} "
                f"{record.get('package_version')}, this is {running or 'not installed'} "
                "(must match exactly)"
            )
