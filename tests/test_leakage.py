"""The leakage guard: no champion training row may sit in the candidate's holdout."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import yaml

from mlgate.champion import Champion
from mlgate.data.split import holdout_mask
from mlgate.errors import ArtifactError
from mlgate.gate.leakage import leakage_check, overlap_count, split_definition

CHAMP = Champion(ref="churn-model#prod#1", commit="c" * 40, source="gto", version="v0.0.1")


def _lock(salt: str = "s1", fraction: float = 0.3, split_code: str = "abc") -> dict:
    return {
        "schema": "2.0",
        "stages": {
            "split": {
                "cmd": "python stages/split.py",
                "deps": [
                    {"path": "data/validated.parquet", "md5": "data-md5"},
                    {"path": "src/mlgate/data/split.py", "md5": split_code},
                    {"path": "stages/split.py", "md5": "stage-md5"},
                ],
                "params": {
                    "params.yaml": {
                        "data.id_column": "customer_id",
                        "data.target": "churned",
                        "split": {"holdout_fraction": fraction, "salt": salt},
                    }
                },
            }
        },
    }


class FakeReader:
    """The champion's committed files, as RevisionReader gives them; records what was read."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.champion = CHAMP
        self.files = files
        self.read: list[str] = []

    def read_bytes(self, path: str) -> bytes:
        self.read.append(path)
        if path not in self.files:
            raise ArtifactError(f"{path} at champion: cannot be retrieved from the DVC cache")
        return self.files[path]


def _parquet(ids) -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"customer_id": ids, "x": 1.0}).to_parquet(buffer, index=False)
    return buffer.getvalue()


IDS = pd.Series(np.arange(2000), name="customer_id")


def _split(salt: str, fraction: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    mask = holdout_mask(IDS, fraction=fraction, salt=salt)
    return IDS[~mask].to_numpy(), IDS[mask].to_numpy()  # train, holdout


def _unread() -> np.ndarray:
    raise AssertionError("the holdout's ids were read")


def test_same_split_definition_passes_without_reading_either_sides_ids():
    reader = FakeReader({"dvc.lock": yaml.safe_dump(_lock()).encode()})
    check = leakage_check(reader, _lock(), _unread, "customer_id")
    assert check.passed and check.value == 0
    assert "split definition" in check.reason and "churn-model#prod#1" in check.reason
    assert reader.read == ["dvc.lock"]


def test_changed_salt_with_overlap_fails_naming_the_count():
    champion_train, _ = _split("s1")
    _, holdout = _split("s2")
    expected = len(set(champion_train) & set(holdout))
    assert expected > 0
    reader = FakeReader(
        {
            "dvc.lock": yaml.safe_dump(_lock("s1")).encode(),
            "data/train.parquet": _parquet(champion_train),
        }
    )
    check = leakage_check(reader, _lock("s2"), lambda: holdout, "customer_id")
    assert not check.passed and check.value == expected
    assert f"{expected} of the {len(holdout)} holdout rows" in check.reason
    assert "params split" in check.reason  # what changed


def test_changed_definition_without_overlap_passes_by_the_ids():
    champion_train, holdout = _split("s1")
    reader = FakeReader(
        {
            "dvc.lock": yaml.safe_dump(_lock("s1", split_code="old")).encode(),
            "data/train.parquet": _parquet(champion_train),
        }
    )
    check = leakage_check(reader, _lock("s1", split_code="new"), lambda: holdout, "customer_id")
    assert check.passed and check.value == 0
    assert "code src/mlgate/data/split.py" in check.reason and "none of the" in check.reason


def test_one_shared_row_is_enough_to_fail():
    champion_train, holdout = _split("s1")
    leaked = np.append(champion_train, holdout[:1])
    reader = FakeReader(
        {"dvc.lock": yaml.safe_dump(_lock("s0")).encode(), "data/train.parquet": _parquet(leaked)}
    )
    check = leakage_check(reader, _lock("s1"), lambda: holdout, "customer_id")
    assert not check.passed and check.value == 1


@pytest.mark.parametrize("files", [{}, {"dvc.lock": b"stages: [oops"}])
def test_unreadable_training_ids_fail_closed_with_the_reason(files):
    _, holdout = _split("s2")
    check = leakage_check(FakeReader(files), _lock("s2"), lambda: holdout, "customer_id")
    assert not check.passed and check.value is None
    assert "cannot be read" in check.reason and "data/train.parquet" in check.reason


def test_unreadable_holdout_ids_fail_closed_with_the_reason():
    champion_train, _ = _split("s1")
    reader = FakeReader(
        {
            "dvc.lock": yaml.safe_dump(_lock("s1")).encode(),
            "data/train.parquet": _parquet(champion_train),
        }
    )

    def broken() -> np.ndarray:
        raise OSError("data/holdout.parquet: truncated file")

    check = leakage_check(reader, _lock("s2"), broken, "customer_id")
    assert not check.passed and check.value is None
    assert "holdout's ids cannot be read" in check.reason and "truncated" in check.reason


def test_unreadable_workspace_lock_falls_back_to_the_ids():
    champion_train, holdout = _split("s1")
    reader = FakeReader(
        {
            "dvc.lock": yaml.safe_dump(_lock("s1")).encode(),
            "data/train.parquet": _parquet(champion_train),
        }
    )
    check = leakage_check(reader, None, lambda: holdout, "customer_id")
    assert check.passed and "not recorded" in check.reason
    assert "data/train.parquet" in reader.read


def test_split_definition_ignores_the_target_but_not_the_id_column():
    a, b = _lock(), _lock()
    b["stages"]["split"]["params"]["params.yaml"]["data.target"] = "other"
    assert split_definition(a) == split_definition(b)
    b["stages"]["split"]["params"]["params.yaml"]["data.id_column"] = "account"
    assert split_definition(a) != split_definition(b)
    assert split_definition({"stages": {}}) is None and split_definition("text") is None


def test_overlap_compares_ids_of_different_kinds_as_text():
    assert overlap_count(np.array([1, 2, 3]), np.array(["3", "4"], dtype=object)) == 1
    assert overlap_count(np.array([1, 2, 3]), np.array([4, 5])) == 0
    assert (
        overlap_count(np.array(["a", "b", "b"], dtype=object), np.array(["b"], dtype=object)) == 2
    )
