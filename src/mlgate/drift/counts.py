"""A numeric feature's drift from its table of distinct values: (value, reference count,
current count) in ascending value order, read once, block by block.

Both engines compute through this table, so they agree bit for bit: the local engine builds it
with ``np.unique`` on the sorted columns, the Spark engine with a ``groupBy`` streamed to the
driver in value order. Everything is exact or summed in a fixed order:

* cut points: the reference's inverted-CDF order statistics (:func:`.binning.quantile_cuts`),
  found where the cumulative reference count reaches rank ``ceil(k n / B)``;
* bin counts: the cumulative counts (integers) at the cuts;
* Wasserstein-1: ``sum_i |F_i - G_i| (x_{i+1} - x_i)`` over consecutive distinct values, with
  ``|F_i - G_i| = |cum_ref_i m - cum_cur_i n| / (n m)`` in int64 (exact while n m < 9.2e18);
* the reference standard deviation (ddof 0): per block count, mean and squared deviations,
  merged in order (Chan et al.).

Float sums run over blocks of exactly ``BLOCK`` rows of the table, whatever sizes the
caller's chunks have, so the same table gives the same bits however it arrives.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np

from mlgate.drift.psi import PsiResult, numeric_from_bin_counts

BLOCK = 1 << 16

Chunk = tuple[np.ndarray, np.ndarray, np.ndarray]  # values (float64), ref counts, cur counts


def local_table(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> Iterator[Chunk]:
    """The distinct-value table of two sorted NaN-free arrays (-0.0 counted as 0.0)."""
    ref_values, ref_counts = np.unique(ref_sorted + 0.0, return_counts=True)
    cur_values, cur_counts = np.unique(cur_sorted + 0.0, return_counts=True)
    values = np.union1d(ref_values, cur_values)
    ref = np.zeros(values.size, dtype=np.int64)
    cur = np.zeros(values.size, dtype=np.int64)
    ref[np.searchsorted(values, ref_values)] = ref_counts
    cur[np.searchsorted(values, cur_values)] = cur_counts
    yield values, ref, cur


def _blocks(chunks: Iterable[Chunk]) -> Iterator[Chunk]:
    """Re-cut a stream of chunks into blocks of exactly BLOCK rows (the last may be short)."""
    pending: list[Chunk] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += chunk[0].size
        while size >= BLOCK:
            joined = [np.concatenate([p[i] for p in pending]) for i in range(3)]
            yield joined[0][:BLOCK], joined[1][:BLOCK], joined[2][:BLOCK]
            pending = [(joined[0][BLOCK:], joined[1][BLOCK:], joined[2][BLOCK:])]
            size -= BLOCK
    if size:
        joined = [np.concatenate([p[i] for p in pending]) for i in range(3)]
        yield joined[0], joined[1], joined[2]


class _Sweep:
    """One ascending pass over the table: cuts, counts at the cuts, W1 area, reference moments."""

    def __init__(self, n_ref: int, n_cur: int, n_bins: int) -> None:
        self.n_ref, self.n_cur = n_ref, n_cur
        k = np.arange(1, n_bins, dtype=np.int64)
        self.ranks = (k * n_ref + n_bins - 1) // n_bins if n_ref else np.empty(0, np.int64)
        self.found = 0
        self.cuts: list[tuple[float, int, int]] = []  # (value, cum ref, cum cur) per rank
        self.cum_ref = self.cum_cur = 0
        self.last: tuple[float, float] | None = None  # previous value and its |F - G| term
        self.area = 0.0
        self.count, self.mean, self.m2 = 0, 0.0, 0.0
        self.ref_distinct, self.ref_max = 0, -math.inf

    def block(self, values: np.ndarray, ref: np.ndarray, cur: np.ndarray) -> None:
        cum_ref = self.cum_ref + np.cumsum(ref)
        cum_cur = self.cum_cur + np.cumsum(cur)
        upto = int(np.searchsorted(self.ranks, cum_ref[-1], side="right"))
        if upto > self.found:
            at = np.searchsorted(cum_ref, self.ranks[self.found : upto], side="left")
            self.cuts += zip(
                values[at].tolist(), cum_ref[at].tolist(), cum_cur[at].tolist(), strict=True
            )
            self.found = upto
        gap = np.abs(cum_ref * self.n_cur - cum_cur * self.n_ref).astype(np.float64)
        if self.last is not None:
            self.area += self.last[1] * (float(values[0]) - self.last[0])
        self.area += float(np.dot(gap[:-1], np.diff(values)))
        self.last = (float(values[-1]), float(gap[-1]))
        self.cum_ref, self.cum_cur = int(cum_ref[-1]), int(cum_cur[-1])
        self._moments(values, ref)

    def _moments(self, values: np.ndarray, ref: np.ndarray) -> None:
        present = ref > 0
        n_block = int(ref.sum())
        if not n_block:
            return
        self.ref_distinct += int(present.sum())
        self.ref_max = float(values[present][-1])
        weights = ref.astype(np.float64)
        mean_block = float(np.dot(values, weights)) / n_block
        deviation = values - mean_block
        m2_block = float(np.dot(weights, deviation * deviation))
        total = self.count + n_block
        delta = mean_block - self.mean
        self.mean += delta * n_block / total
        self.m2 += m2_block + delta * delta * self.count * n_block / total
        self.count = total


def _distance(sweep: _Sweep) -> float | None:
    """Normed Wasserstein; None without values on a side or with a constant reference."""
    if not sweep.n_ref or not sweep.n_cur or sweep.ref_distinct < 2:
        return None
    std = math.sqrt(sweep.m2 / sweep.n_ref)
    if std == 0.0:
        return None
    return sweep.area / (float(sweep.n_ref) * float(sweep.n_cur)) / std


def numeric_drift(
    table: Iterable[Chunk],
    *,
    missing: tuple[int, int],
    valid: tuple[int, int],
    n_bins: int,
    epsilon: float,
) -> tuple[PsiResult, float | None]:
    """PSI and normed Wasserstein of one numeric feature from its distinct-value table.

    ``valid`` / ``missing``: non-missing and missing row counts (reference, current); the
    table must hold exactly the non-missing rows, in strictly ascending value order.
    """
    sweep = _Sweep(valid[0], valid[1], n_bins)
    for values, ref, cur in _blocks(table):
        if np.isinf(values[0]) or np.isinf(values[-1]):
            raise ValueError("contains infinite values; expected finite numbers or NaN")
        sweep.block(values, ref, cur)
    if (sweep.cum_ref, sweep.cum_cur) != valid:
        raise ValueError(f"value counts sum to {(sweep.cum_ref, sweep.cum_cur)}, not {valid}")
    seen: dict[float, tuple[int, int]] = {}
    for value, cum_ref, cum_cur in sweep.cuts:
        # Equal cuts merge (np.unique); a cut at the reference maximum would leave an empty
        # top bin in the reference: dropped, as in quantile_cuts.
        if value < sweep.ref_max:
            seen.setdefault(value, (cum_ref, cum_cur))
    cuts = np.array(list(seen), dtype=np.float64)
    at = np.array(list(seen.values()), dtype=np.int64).reshape(-1, 2)
    ref_counts = np.diff(at[:, 0], prepend=0, append=valid[0]).astype(np.int64)
    cur_counts = np.diff(at[:, 1], prepend=0, append=valid[1]).astype(np.int64)
    result = numeric_from_bin_counts(cuts, ref_counts, cur_counts, missing, epsilon)
    return result, _distance(sweep)
