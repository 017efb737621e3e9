"""Stable train/holdout assignment by a keyed hash of the entity id.

A customer lands in the same split whatever the row order or the size of the table, so
holdouts stay comparable between champion and candidate as data grows. Python's ``hash()`` is
salted per process and is never used. Integer ids go through the SplitMix64 finaliser of
``id XOR key``; other ids are hashed as strings with SipHash-2-4
(``pandas.util.hash_pandas_object`` with a 16-byte key). Both keys derive from the salt, so a
new salt reshuffles everyone and the same salt reproduces on any machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from mlgate.errors import DataError

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _key(salt: str) -> bytes:
    return hashlib.blake2b(salt.encode("utf-8"), digest_size=16).digest()


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def id_hash(ids: pd.Series, *, salt: str) -> np.ndarray:
    """A uint64 per id, stable across processes, machines and row order."""
    key = _key(salt)
    if ids.dtype.kind in "iu":
        salt64 = np.frombuffer(key[:8], dtype="<u8")[0]
        return _splitmix64(ids.to_numpy().astype(np.uint64) ^ salt64)
    # 16 hex characters = the 16-byte key pandas expects; SipHash on the UTF-8 text.
    as_text = ids.astype("object").map(str) if ids.dtype.kind != "O" else ids.map(str)
    return pd.util.hash_pandas_object(as_text, index=False, hash_key=key.hex()[:16]).to_numpy()


def require_columns(names: Collection[str], columns: Mapping[str, str], where: str) -> None:
    """DataError naming the params key of each column (key -> name) ``names`` lacks."""
    for key, column in columns.items():
        if column not in names:
            raise DataError(f"{where}: column '{column}' (params.yaml: {key}) is missing")


def check_fraction(fraction: float) -> None:
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout fraction must be strictly between 0 and 1, got {fraction!r}")


def holdout_mask(ids: pd.Series, *, fraction: float, salt: str) -> np.ndarray:
    """True where the id belongs to the holdout: hash mapped to [0, 1) is below ``fraction``."""
    check_fraction(fraction)
    if ids.isna().any():
        raise ValueError(f"id column '{ids.name}' has missing values; every row needs an id")
    unit = (id_hash(ids, salt=salt) >> np.uint64(11)).astype(np.float64) / float(2**53)
    return unit < fraction
