"""Exact integer sums of products, as Python ints, at any row count.

DeLong's variance is a difference of large sums of squares (``m * sum(k^2) - sum(k)^2``) that
cancel to a small number, so its terms must be exact: at 1e9 rows a component ``k`` reaches
2e9, ``k^2`` 4e18 and ``count * k^2`` leaves int64. A Python loop over the rows is exact but
slow; these functions sum int64 products in chunks small enough never to overflow and add the
chunk totals as Python ints, and split the factors into 21-bit limbs where even one product
would overflow.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["exact_dot", "exact_sum", "weighted_sum_squares"]

_INT64_MAX = int(np.iinfo(np.int64).max)
_LIMB_BITS = 21  # three limbs hold 63 bits; a limb product is < 2**42, 2**21 of them < 2**63
_LIMB_MASK = (1 << _LIMB_BITS) - 1
_LIMB_CHUNK = 1 << _LIMB_BITS

IntArray = NDArray[np.int64]


def _chunk_len(biggest: int) -> int:
    """How many terms no bigger than ``biggest`` (in magnitude) int64 can sum safely."""
    return max(1, _INT64_MAX // max(biggest, 1))


def exact_sum(values: IntArray) -> int:
    """``sum(values)`` of an int64 array, exactly."""
    if values.size == 0:
        return 0
    step = _chunk_len(int(np.abs(values).max()))
    return sum(int(values[i : i + step].sum()) for i in range(0, values.shape[0], step))


def _limb_dot(a: IntArray, b: IntArray) -> int:
    """``sum(a * b)`` for non-negative int64 arrays whose products may overflow int64."""
    limbs_a = [(a >> (_LIMB_BITS * i)) & _LIMB_MASK for i in range(3)]
    limbs_b = [(b >> (_LIMB_BITS * i)) & _LIMB_MASK for i in range(3)]
    total = 0
    for i, la in enumerate(limbs_a):
        for j, lb in enumerate(limbs_b):
            part = sum(
                int(np.dot(la[c : c + _LIMB_CHUNK], lb[c : c + _LIMB_CHUNK]))
                for c in range(0, a.shape[0], _LIMB_CHUNK)
            )
            total += part << (_LIMB_BITS * (i + j))
    return total


def exact_dot(a: IntArray, b: IntArray) -> int:
    """``sum(a * b)`` of two int64 arrays of equal length, exactly, whatever the magnitudes."""
    if a.shape != b.shape:
        raise ValueError(f"exact_dot needs arrays of one shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0
    biggest = int(np.abs(a).max()) * int(np.abs(b).max())
    if biggest <= _INT64_MAX:  # every product fits: chunked int64 dot products
        step = _chunk_len(biggest)
        return sum(
            int(np.dot(a[i : i + step], b[i : i + step])) for i in range(0, a.shape[0], step)
        )
    # a product overflows: limbs of |a| and |b|, the terms of negative sign subtracted
    negative = (a < 0) != (b < 0)
    abs_a, abs_b = np.abs(a), np.abs(b)
    return _limb_dot(abs_a[~negative], abs_b[~negative]) - _limb_dot(
        abs_a[negative], abs_b[negative]
    )


def weighted_sum_squares(weights: IntArray, k: IntArray) -> int:
    """``sum(weights * k**2)`` exactly, for non-negative int64 ``weights`` and ``k``.

    ``weights * k`` fits int64 whenever the table behind it has fewer than ~4.3e9 rows (it is
    at most twice the pairs of a class's rows); beyond that the terms are Python ints.
    """
    if weights.size == 0:
        return 0
    if int(weights.max()) * int(k.max()) <= _INT64_MAX:
        return exact_dot(weights * k, k)
    return sum(w * v * v for w, v in zip(weights.tolist(), k.tolist(), strict=True))
