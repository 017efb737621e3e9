"""Input checks shared by the metrics: 1-D arrays, binary labels, finite scores, a sort order.

Malformed input is a bug upstream, so every check raises ``ValueError`` naming the argument,
what was expected and the first offending value with its index.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "as_1d",
    "as_binary_labels",
    "as_finite_scores",
    "check_same_length",
    "checked_order",
]


def as_1d(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; expected at least one value")
    return arr


def as_binary_labels(y_true: ArrayLike, name: str = "y_true") -> NDArray[np.bool_]:
    """Labels as a bool array; accepts bool or numbers that are all 0 or 1 (1 = positive)."""
    arr = as_1d(y_true, name)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf":
        # object arrays (e.g. pandas nullable columns) are fine if they convert cleanly
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must hold binary labels (bool or 0/1), got dtype {arr.dtype}"
            ) from None
    bad = ~((arr == 0) | (arr == 1))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must hold binary labels (bool or 0/1); found {int(bad.sum())} other "
            f"value(s), first {arr[first].item()!r} at index {first}"
        )
    return arr == 1


def as_finite_scores(y_score: ArrayLike, name: str = "y_score") -> NDArray[np.float64]:
    """Scores as float64; NaN/inf are refused because they have no place in a ranking."""
    arr = as_1d(y_score, name)
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}") from None
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must be finite; found {int(bad.sum())} NaN/inf value(s), first "
            f"{arr[first].item()!r} at index {first}"
        )
    return arr


def check_same_length(y: np.ndarray, other: np.ndarray, name: str) -> None:
    if y.shape[0] != other.shape[0]:
        raise ValueError(
            f"y_true and {name} must have the same length, got {y.shape[0]} and {other.shape[0]}"
        )


def checked_order(score: NDArray[np.float64], order: ArrayLike | None) -> NDArray[np.intp]:
    """``order`` if it sorts ``score`` (checked, O(N)), else a fresh ``np.argsort(score)``."""
    if order is None:
        return np.argsort(score)  # stability is irrelevant: tied values share one midrank
    order = np.asarray(order)
    if order.shape != score.shape or not np.all(np.diff(score[order]) >= 0):
        raise ValueError("presorted order does not sort the scores; expected np.argsort(score)")
    return order
