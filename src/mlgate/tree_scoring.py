"""Score many rows with a fitted HistGradientBoostingClassifier, bit for bit as scikit-learn.

scikit-learn walks every tree for every row, one tree at a time over the whole matrix: about
40 ns per row and tree (150 trees x 1e6 rows: 5.9 s on one core). Here each tree's decision is
computed with QuickScorer bit vectors (Lucchese et al., SIGIR 2015), in numpy, for all trees
of a block of rows at once:

* the leaves of a tree are numbered left to right, and each split node n carries a bit mask
  that clears the leaves of its left subtree;
* a row's exit leaf is the leftmost leaf that survives the AND of the masks of every node
  whose test sends the row right (the leaves left of the exit leaf all sit in the left
  subtree of a node on its path that sends it right; the exit leaf is in no such subtree);
* a node's test depends on one feature only, so per feature the AND of all its nodes' masks is
  a table indexed by where the value falls among that feature's thresholds (``searchsorted``,
  which compares exactly as the tree does: ``x <= threshold``; NaN has its own slot and
  follows ``missing_go_to_left``).

The leaf values are then added in scikit-learn's order, ``baseline + tree 1 + tree 2 + ...``
in float64, and turned into probabilities by the model's own loss, so the result equals
``predict_proba`` exactly (tests/test_tree_scoring.py compares them with ``array_equal``).
Models this does not cover (categorical splits, more than 64 leaves, multiclass, a
preprocessor inside the estimator) return None, and the caller uses scikit-learn.
"""

from __future__ import annotations

import functools
import operator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

__all__ = ["MIN_ROWS", "predict_proba"]

# Below this many rows scikit-learn's own walk is fast enough and building the tables
# (about 15 ms for 150 trees) would not pay off.
MIN_ROWS = 20_000
# Rows per block: the per-feature gathers of a block (rows x trees masks) stay in L2 cache.
BLOCK_ROWS = 1024
_LOWEST_BIT_16 = None  # built on first use: index of the lowest set bit of every uint16


class _Tables:
    """The fitted trees as per-feature QuickScorer tables."""

    def __init__(self, predictors: list[Any], mask_dtype: np.dtype, n_leaves: int) -> None:
        n_trees = len(predictors)
        self.mask_dtype = mask_dtype
        self.leaf_width = n_leaves
        self.values = np.zeros((n_trees, n_leaves), dtype=np.float64)
        splits: dict[int, list[tuple[int, float, bool, int]]] = {}
        for tree, predictor in enumerate(predictors):
            nodes = predictor.nodes
            leaves, left_leaves = _leaf_layout(nodes)
            self.values[tree, : len(leaves)] = nodes["value"][leaves]
            for node, (first, stop) in left_leaves.items():
                clear = ((1 << (stop - first)) - 1) << first
                splits.setdefault(int(nodes["feature_idx"][node]), []).append(
                    (
                        tree,
                        float(nodes["num_threshold"][node]),
                        bool(nodes["missing_go_to_left"][node]),
                        clear,
                    )
                )
        all_ones = np.iinfo(mask_dtype).max
        self.features: list[tuple[int, np.ndarray, np.ndarray]] = []
        for feature, feature_splits in sorted(splits.items()):
            thresholds = np.unique([s[1] for s in feature_splits])
            nan_slot = len(thresholds) + 1
            # Row p: the AND of the masks of the nodes that send a value at position p right.
            table = np.full((nan_slot + 1, n_trees), all_ones, dtype=mask_dtype)
            for tree, threshold, missing_left, clear in feature_splits:
                keep = mask_dtype.type(all_ones ^ clear)
                j = int(np.searchsorted(thresholds, threshold))
                table[j + 1 : nan_slot, tree] &= keep  # x > threshold
                if not missing_left:
                    table[nan_slot, tree] &= keep
            self.features.append((feature, thresholds, table))
        self.offsets = np.arange(n_trees, dtype=np.intp) * n_leaves

    def raw_block(
        self, columns: list[np.ndarray], start: int, baseline: float, out: np.ndarray
    ) -> None:
        """Sum of the leaf values (plus the baseline) for rows ``start:start + len(out)``."""
        n = len(out)
        mask = None
        for feature, thresholds, table in self.features:
            column = columns[feature][start : start + n]
            position = np.searchsorted(thresholds, column)
            position += np.isnan(column)  # NaN sorts last: len(thresholds) + 1, its own slot
            rows = table[position]
            if mask is None:
                mask = rows
            else:
                mask &= rows
        if mask is None:  # no tree has a split: each is its single leaf, number 0
            leaves = np.zeros((n, len(self.offsets)), dtype=np.intp)
        else:
            leaves = _lowest_set_bit(mask)
        terms = np.empty((len(self.offsets) + 1, n), dtype=np.float64)
        terms[0] = baseline
        terms[1:] = self.values.ravel()[leaves + self.offsets].T
        # A running total down the tree axis, one tree after another, as scikit-learn adds
        # them. numpy sums pairwise (rounding differently) only along the fast axis in memory,
        # which the tree axis is not, unless the block is a single row: then sum in Python.
        if n == 1:
            out[0] = functools.reduce(operator.add, terms[:, 0].tolist())
        else:
            np.add.reduce(terms, axis=0, out=out)


def predict_proba(est: Any, X: np.ndarray | list[np.ndarray]) -> np.ndarray | None:
    """``est.predict_proba(X)`` for many rows, or None where not covered.

    X is a float64 matrix, or its columns as a list of equally long 1-D float64 arrays (then
    ``X[j]`` is feature j: the caller need not stack them).
    """
    columns = list(X.T) if isinstance(X, np.ndarray) and X.ndim == 2 else X
    if not (
        _predicts_as_sklearn(est)
        and isinstance(columns, list)
        and len(columns) == getattr(est, "n_features_in_", -1)
        and all(_float_column(c, len(columns[0])) for c in columns)
        and len(columns[0]) >= MIN_ROWS
        and getattr(est, "n_trees_per_iteration_", 0) == 1
        and getattr(est, "_preprocessor", None) is None
        and getattr(est, "is_categorical_", None) is None
        and hasattr(est, "_predictors")
    ):
        return None
    predictors = [iteration[0] for iteration in est._predictors]
    if not predictors or any(p.nodes["is_categorical"].any() for p in predictors):
        return None
    n_leaves = max(int(p.nodes["is_leaf"].sum()) for p in predictors)
    mask_dtype = next((np.dtype(d) for d, w in _MASKS if n_leaves <= w), None)
    if mask_dtype is None:
        return None
    tables = _Tables(predictors, mask_dtype, n_leaves)
    baseline = est._baseline_prediction
    if baseline.shape != (1, 1) or baseline.dtype != np.float64:
        return None
    raw = np.empty((len(columns[0]), 1), dtype=np.float64, order="F")
    _score_blocks(tables, columns, float(baseline[0, 0]), raw[:, 0])
    return est._loss.predict_proba(raw)


def _float_column(column: Any, n: int) -> bool:
    return isinstance(column, np.ndarray) and column.dtype == np.float64 and column.shape == (n,)


_MASKS = (("uint16", 16), ("uint32", 32), ("uint64", 64))


def _predicts_as_sklearn(est: Any) -> bool:
    """A HistGradientBoostingClassifier (or a subclass, like mlgate's reproducible one) whose
    prediction path is scikit-learn's own: the one replayed here."""
    base = HistGradientBoostingClassifier
    cls = type(est)
    return isinstance(est, base) and all(
        getattr(cls, name) is getattr(base, name)
        for name in ("predict_proba", "_raw_predict", "_predict_iterations")
    )


def _score_blocks(
    tables: _Tables, columns: list[np.ndarray], baseline: float, out: np.ndarray
) -> None:
    n = len(out)
    starts = range(0, n, BLOCK_ROWS)

    def run(part: range) -> None:
        for start in part:
            stop = min(start + BLOCK_ROWS, n)
            tables.raw_block(columns, start, baseline, out[start:stop])

    # numpy releases the GIL in every heavy step; the threads split the blocks, as
    # scikit-learn's OpenMP loop splits the rows (and obeys the same thread limits).
    n_threads = max(1, min(_openmp_effective_n_threads(), len(starts)))
    if n_threads == 1:
        run(starts)
        return
    parts = [starts[i::n_threads] for i in range(n_threads)]
    with ThreadPoolExecutor(n_threads) as pool:
        for done in [pool.submit(run, part) for part in parts]:
            done.result()


def _leaf_layout(nodes: np.ndarray) -> tuple[list[int], dict[int, tuple[int, int]]]:
    """Leaf node ids left to right, and per split node the leaf numbers of its left subtree."""
    leaves: list[int] = []
    left_leaves: dict[int, tuple[int, int]] = {}
    # Depth-first, left before right: (node, None) on the way down, (node, first) once its
    # left subtree is done and its leaves are numbered from `first`.
    stack: list[tuple[int, int | None]] = [(0, None)]
    while stack:
        node, first = stack.pop()
        if nodes["is_leaf"][node]:
            leaves.append(node)
        elif first is None:
            stack.append((node, len(leaves)))
            stack.append((int(nodes["left"][node]), None))
        else:
            left_leaves[node] = (first, len(leaves))
            stack.append((int(nodes["right"][node]), None))
    return leaves, left_leaves


def _lowest_set_bit(mask: np.ndarray) -> np.ndarray:
    """Index of the lowest set bit of each element (each has at least one: the exit leaf)."""
    global _LOWEST_BIT_16
    if mask.dtype == np.uint16:
        if _LOWEST_BIT_16 is None:
            values = np.arange(1, 1 << 16)
            table = np.zeros(1 << 16, dtype=np.uint8)
            table[1:] = np.frexp((values & -values).astype(np.float64))[1] - 1
            _LOWEST_BIT_16 = table
        return _LOWEST_BIT_16[mask]
    # Isolate the lowest bit (a power of two, exact in float64) and read its exponent.
    lowest = mask & (~mask + mask.dtype.type(1))
    return np.frexp(lowest.astype(np.float64))[1] - 1
