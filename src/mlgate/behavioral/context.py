"""What one test run shares: the model scorer (one place for model calls), the row selection
with its seeded sampling, and the outcome every runner fills in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlgate import scoring
from mlgate.behavioral.perturbations import py
from mlgate.behavioral.spec import BehavioralSpec, BehavioralTest
from mlgate.errors import ArtifactError, MlgateError
from mlgate.slices import describe_rows


@dataclass
class Outcome:
    rows_selected: int
    rows_sampled: int = 0
    rows_tested: int = 0
    failures: int = 0
    skip_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)


class Scorer:
    """All model calls go through here: one place to check the output and to cache."""

    def __init__(self, model: Any, holdout: pd.DataFrame) -> None:
        if not callable(getattr(model, "predict_proba", None)):
            raise ArtifactError(
                f"the model ({type(model).__name__}) has no predict_proba method; "
                f"expected a fitted classifier or pipeline"
            )
        self.model = model
        self.holdout = holdout
        self._holdout_scores: np.ndarray | None = None

    def holdout_scores(self) -> np.ndarray:
        if self._holdout_scores is None:
            self._holdout_scores = self.score(self.holdout, what="the holdout")
        return self._holdout_scores

    def score(self, frame: pd.DataFrame, *, what: str) -> np.ndarray:
        try:
            # The model's predict_proba, bit for bit, without sklearn's per-call overhead and
            # with a boosted model's trees as tables on large frames (mlgate.scoring).
            proba = scoring.predict_proba(self.model, frame)
        except MlgateError:
            raise  # mlgate's own (e.g. a bad MLGATE_FAST_SCORING), not the model's failure
        except Exception as exc:
            raise ArtifactError(
                f"the model cannot score {what} ({len(frame)} rows): predict_proba raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        try:
            arr = np.asarray(proba, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ArtifactError(
                f"predict_proba on {what} returned {type(proba).__name__}, not numbers: {exc}"
            ) from exc
        if arr.ndim != 2 or arr.shape[0] != len(frame) or arr.shape[1] < 2:
            raise ArtifactError(
                f"predict_proba on {what} returned shape {arr.shape}; expected "
                f"({len(frame)}, 2) with column 1 the positive-class probability"
            )
        return arr[:, 1].copy()


@dataclass
class Context:
    holdout: pd.DataFrame
    scorer: Scorer
    spec: BehavioralSpec
    test: BehavioralTest
    rng: np.random.Generator
    max_examples: int
    id_column: str | None
    max_rows: int

    @property
    def min_rows(self) -> int:
        return self.test.min_rows if self.test.min_rows is not None else self.spec.min_rows

    def select(self) -> tuple[np.ndarray | None, pd.DataFrame, int]:
        """Positions of the rows to test (None = all), their frame, and how many rows matched.

        More matches than ``max_rows``: a seeded sample of ``max_rows``, in holdout order.
        """
        n = len(self.holdout)
        pos = None if self.test.rows is None else np.flatnonzero(self.test.rows.mask(self.holdout))
        matched = n if pos is None else len(pos)
        if self.max_rows and matched > self.max_rows:
            pool = np.arange(n) if pos is None else pos
            pos = np.sort(self.rng.choice(pool, self.max_rows, replace=False))
        return pos, (self.holdout if pos is None else self.holdout.iloc[pos]), matched

    def example(
        self, *, row: Any, row_id: Any, changes: str, before: float, after: float, expected: str
    ) -> dict[str, Any]:
        return {
            "test": self.test.name,
            "type": self.test.type,
            "row": row,
            "row_id": row_id,
            "changes": changes,
            "score_before": before,
            "score_after": after,
            "delta": after - before,
            "expected": expected,
        }

    def row_ids(self, frame: pd.DataFrame, take: np.ndarray) -> list[Any]:
        if self.id_column is None:
            return [None] * len(take)
        return [py(v) for v in frame[self.id_column].to_numpy()[take]]


def too_few(ctx: Context, n: int, verb: str) -> str:
    rows = describe_rows(ctx.test.rows)
    if verb == "selects":
        return (
            f"rows ({rows}) select {n} of {len(ctx.holdout)} holdout rows; "
            f"min_rows is {ctx.min_rows}"
        )
    return (
        f"the perturbation changes {n} of the selected rows ({rows}); min_rows is {ctx.min_rows}"
    )


def worst(fail: np.ndarray, violation: np.ndarray, limit: int) -> np.ndarray:
    """Positions of up to ``limit`` failing rows, largest violation first (stable)."""
    idx = np.flatnonzero(fail)
    if limit <= 0 or idx.size == 0:
        return idx[:0]
    order = np.argsort(-violation[idx], kind="stable")
    return idx[order[:limit]]
