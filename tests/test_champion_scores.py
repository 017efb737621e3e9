"""Reuse of the champion's committed holdout scores: every link of the proof is checked.

The end-to-end tests (tests/e2e/test_gate_scenarios.py) show reuse and re-scoring agree in a
real repository; these cover each way the proof can break, with a reader stub in place of
DVC's file system.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pandas as pd
import pytest
import yaml

from mlgate.errors import ArtifactError
from mlgate.gate.champion_scores import HOLDOUT, MODEL, PREDICTIONS, committed_scores

IDS = np.array([11, 12, 13, 14, 15])
SCORES = np.array([0.1, 0.9, 0.35, 0.5, 0.0])


class StubReader:
    """Files as committed at the champion: path -> bytes."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def read_bytes(self, path: str) -> bytes:
        if path not in self.files:
            raise ArtifactError(f"{path} at champion x: not committed at that revision")
        return self.files[path]


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _champion(holdout: bytes, predictions: bytes, **overrides) -> dict[str, bytes]:
    md5 = {
        "holdout_in": _md5(holdout),
        "model_in": "aa",
        "model_out": "aa",
        "preds": _md5(predictions),
    }
    md5.update(overrides)
    lock = {
        "schema": "2.0",
        "stages": {
            "train": {"outs": [{"path": MODEL, "md5": md5["model_out"]}]},
            "evaluate": {
                "deps": [
                    {"path": HOLDOUT, "md5": md5["holdout_in"]},
                    {"path": MODEL, "md5": md5["model_in"]},
                ],
                "outs": [{"path": PREDICTIONS, "md5": md5["preds"]}],
            },
        },
    }
    return {"dvc.lock": yaml.safe_dump(lock).encode(), PREDICTIONS: predictions}


@pytest.fixture
def holdout(tmp_path, monkeypatch) -> bytes:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    data = _parquet(pd.DataFrame({"customer_id": IDS, "churned": [0, 1, 0, 1, 0]}))
    (tmp_path / HOLDOUT).write_bytes(data)
    return data


PREDS = _parquet(pd.DataFrame({"customer_id": IDS, "score": SCORES}))


def test_scores_are_reused_when_every_link_holds(holdout):
    scores = committed_scores(StubReader(_champion(holdout, PREDS)), IDS, "customer_id")
    assert isinstance(scores, np.ndarray)
    np.testing.assert_array_equal(scores, SCORES)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"holdout_in": "0" * 32}, "data/holdout.parquet differs from the one the champion was"),
        ({"model_in": "bb"}, "did not score the models/model.joblib its train stage wrote"),
        ({"preds": "0" * 32}, "does not match the md5 in its dvc.lock"),
    ],
)
def test_a_broken_link_means_rescore(holdout, overrides, reason):
    found = committed_scores(
        StubReader(_champion(holdout, PREDS, **overrides)), IDS, "customer_id"
    )
    assert isinstance(found, str) and reason in found


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (pd.DataFrame({"customer_id": IDS[::-1], "score": SCORES}), "in order"),
        (pd.DataFrame({"customer_id": IDS[:4], "score": SCORES[:4]}), "in order"),
        (pd.DataFrame({"customer_id": IDS, "score": SCORES + 0.5}), "outside [0, 1]"),
        (pd.DataFrame({"customer_id": IDS, "proba": SCORES}), "cannot be read as"),
    ],
)
def test_predictions_that_do_not_fit_the_holdout_mean_rescore(holdout, frame, reason):
    preds = _parquet(frame)
    found = committed_scores(StubReader(_champion(holdout, preds)), IDS, "customer_id")
    assert isinstance(found, str) and reason in found


def test_unreadable_or_incomplete_champion_means_rescore(holdout):
    files = _champion(holdout, PREDS)
    no_lock = {PREDICTIONS: PREDS}
    assert "dvc.lock cannot be read" in str(
        committed_scores(StubReader(no_lock), IDS, "customer_id")
    )
    garbage = {**files, "dvc.lock": b"stages: [unclosed"}
    assert "dvc.lock cannot be read" in str(
        committed_scores(StubReader(garbage), IDS, "customer_id")
    )
    no_evaluate = {**files, "dvc.lock": yaml.safe_dump({"stages": {}}).encode()}
    found = committed_scores(StubReader(no_evaluate), IDS, "customer_id")
    assert "does not record which data/holdout.parquet" in str(found)
    no_preds = {"dvc.lock": files["dvc.lock"]}
    assert "not committed" in str(committed_scores(StubReader(no_preds), IDS, "customer_id"))


def test_a_dataset_directory_holdout_means_rescore(holdout, tmp_path):
    """Spark's split writes data/holdout.parquet as a directory: re-score, never crash."""
    (tmp_path / HOLDOUT).unlink()
    (tmp_path / HOLDOUT).mkdir()
    (tmp_path / HOLDOUT / "part-00000.parquet").write_bytes(holdout)
    found = committed_scores(StubReader(_champion(holdout, PREDS)), IDS, "customer_id")
    assert isinstance(found, str) and "dataset directory" in found


class DirectoryReader(StubReader):
    def read_bytes(self, path: str) -> bytes:
        if path == PREDICTIONS:
            raise IsADirectoryError(21, "Is a directory", path)
        return super().read_bytes(path)


def test_committed_predictions_as_a_directory_mean_rescore(holdout):
    found = committed_scores(DirectoryReader(_champion(holdout, PREDS)), IDS, "customer_id")
    assert isinstance(found, str) and "Is a directory" in found
