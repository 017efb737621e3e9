"""Every read of scikit-learn's private state that mlgate.scoring makes, in one guarded place.

The shortcuts replay what scikit-learn computes, so they depend on state scikit-learn does not
promise to keep: private attributes (``_baseline_prediction``, ``_loss``, ``_predictors``,
``_fit_dtype``, ...), the field names of a tree's node records, and the arithmetic of the
release they were written against. Each function here either returns what was asked for or
raises :class:`Unsupported` with the reason (which attribute, which field, which version);
never an ``AttributeError`` from deep inside a shortcut. :func:`mlgate.scoring.predict_proba`
catches ``Unsupported`` (and only that) in one place, scores with the model's own
``predict_proba`` instead and says why. An exception rather than a returned sentinel because
the reads happen several calls deep (a step inside a pipeline inside a column transformer):
every level would otherwise have to pass the answer up by hand.

A scikit-learn release not in :data:`TESTED_SKLEARN` is refused as a whole, even where every
attribute is present: a renamed attribute is detectable, a changed summation order is not.
pyproject.toml requires the same release (tests/test_scoring.py checks they agree); to move
to a new one, change both and run tests/test_inference.py and tests/test_tree_scoring.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier

__all__ = [
    "NODE_FIELDS",
    "TESTED_SKLEARN",
    "Unsupported",
    "boosting_state",
    "check_version",
    "imputer_fit_dtype",
    "one_hot_infrequent_enabled",
    "openmp_threads",
    "output_container",
    "predicts_as_sklearn",
]

# The scikit-learn releases the shortcuts were checked against, bit for bit. Releases, not a
# range: the loader accepts a model only under the release it was saved with, and a patch
# release may change private state too.
TESTED_SKLEARN = ("1.9.1",)
# Our name -> the field of scikit-learn's PREDICTOR_RECORD_DTYPE the tree tables read.
NODE_FIELDS = {
    "value": "value",
    "feature": "feature_idx",
    "threshold": "num_threshold",
    "missing_left": "missing_go_to_left",
    "left": "left",
    "right": "right",
    "is_leaf": "is_leaf",
    "is_categorical": "is_categorical",
}
# HistGradientBoostingClassifier's prediction path, which the tables replay: a subclass that
# overrides any of these predicts its own way and is left to itself.
PREDICT_METHODS = ("predict_proba", "_raw_predict", "_predict_iterations")
# The private attributes read, by name (tests rename them to simulate another release).
BASELINE, LOSS, PREDICTORS, PREPROCESSOR = (
    "_baseline_prediction",
    "_loss",
    "_predictors",
    "_preprocessor",
)
FIT_DTYPE, INFREQUENT = "_fit_dtype", "_infrequent_enabled"

try:  # resolved once: scoring one row must not pay for an import statement
    from sklearn.utils._set_output import _get_output_config
except ImportError as exc:  # pragma: no cover - depends on the installed release
    _get_output_config = None
    _OUTPUT_CONFIG_MISSING = f"sklearn.utils._set_output._get_output_config: {exc}"


class Unsupported(Exception):
    """A shortcut cannot run on this scikit-learn; ``str()`` is the reason."""


def check_version() -> None:
    """Raise Unsupported unless the running scikit-learn is one of :data:`TESTED_SKLEARN`."""
    if sklearn.__version__ not in TESTED_SKLEARN:
        raise Unsupported(
            f"scikit-learn {sklearn.__version__} is not a release they were tested with "
            f"({', '.join(TESTED_SKLEARN)})"
        )


def _read(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name)
    except AttributeError:
        raise Unsupported(f"{type(obj).__name__} has no attribute {name}") from None


def output_container(est: Any) -> str:
    """The container ``est.transform`` returns ("default" = numpy), as scikit-learn decides."""
    if _get_output_config is None:  # pragma: no cover - depends on the installed release
        raise Unsupported(_OUTPUT_CONFIG_MISSING)
    try:
        return str(_get_output_config("transform", est)["dense"])
    except (KeyError, TypeError, ValueError) as exc:
        raise Unsupported(f"scikit-learn's output config of {type(est).__name__}: {exc}") from None


def imputer_fit_dtype(est: Any) -> Any:
    """A fitted SimpleImputer's ``_fit_dtype`` (the dtype transform converts to)."""
    return _read(est, FIT_DTYPE)


def one_hot_infrequent_enabled(est: Any) -> bool:
    """A fitted OneHotEncoder's ``_infrequent_enabled`` (infrequent categories grouped)."""
    return bool(_read(est, INFREQUENT))


def predicts_as_sklearn(est: Any) -> bool:
    """``est`` is a HistGradientBoostingClassifier (or subclass) predicting by the inherited
    path, the one the tree tables replay."""
    base = HistGradientBoostingClassifier
    for name in PREDICT_METHODS:
        if not hasattr(base, name):
            raise Unsupported(f"HistGradientBoostingClassifier has no method {name}")
    cls = type(est)
    return isinstance(est, base) and all(
        getattr(cls, name) is getattr(base, name) for name in PREDICT_METHODS
    )


def boosting_state(est: Any) -> tuple[Any, list[dict[str, np.ndarray]], float, Any]:
    """A fitted single-output HistGradientBoostingClassifier's ``(preprocessor, trees,
    baseline, raw_to_proba)``: each tree's node fields by our names (:data:`NODE_FIELDS`),
    the raw score every tree adds to, and the loss's link from raw scores to probabilities."""
    preprocessor = _read(est, PREPROCESSOR)
    trees = [_node_fields(iteration[0]) for iteration in _read(est, PREDICTORS)]
    baseline = np.asarray(_read(est, BASELINE))
    if baseline.shape != (1, 1) or baseline.dtype != np.float64:
        raise Unsupported(
            f"{BASELINE} has shape {baseline.shape} and dtype {baseline.dtype}; "
            "expected (1, 1) float64"
        )
    raw_to_proba = getattr(_read(est, LOSS), "predict_proba", None)
    if not callable(raw_to_proba):
        raise Unsupported(f"{type(est).__name__}.{LOSS} has no predict_proba")
    return preprocessor, trees, float(baseline[0, 0]), raw_to_proba


def _node_fields(predictor: Any) -> dict[str, np.ndarray]:
    nodes = _read(predictor, "nodes")
    names = getattr(getattr(nodes, "dtype", None), "names", None) or ()
    lacking = sorted(field for field in NODE_FIELDS.values() if field not in names)
    if lacking:
        raise Unsupported(
            f"tree nodes lack field(s) {lacking} (fields: {', '.join(names) or 'none'})"
        )
    return {ours: nodes[theirs] for ours, theirs in NODE_FIELDS.items()}


def openmp_threads() -> int:
    """Threads scikit-learn's own predict would use (OMP_NUM_THREADS, threadpoolctl limits).

    Only the speed depends on it, never the scores: if the private helper moved, one thread.
    """
    try:
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
    except ImportError:  # pragma: no cover - depends on the installed release
        return 1
    return int(_openmp_effective_n_threads())
