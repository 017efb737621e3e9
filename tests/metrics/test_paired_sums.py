"""The paired DeLong test from exact sums over rows: sums of partitions add up to the test on
all rows, bit for bit; the sums -> variance algebra is exact at 1e9-row counts; the integer
helpers are exact where int64 would overflow."""

from __future__ import annotations

from dataclasses import astuple, fields
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.metrics import (
    PairedSums,
    UndefinedAucError,
    delong_paired,
    paired_from_sums,
    paired_sums,
    score_table,
    sums_from_components,
    table_from_counts,
    table_k_values,
)
from mlgate.metrics.exact import exact_dot, exact_sum, weighted_sum_squares


def partition_sums(
    y: np.ndarray, a: np.ndarray, b: np.ndarray, rng: np.random.Generator, parts: int = 3
) -> PairedSums:
    """What a cluster computes: k values per distinct score from the tables of all rows,
    joined to each row by its score, summed per random partition, partitions added up."""
    tables = score_table(y, a), score_table(y, b)
    k = [table_k_values(t) for t in tables]

    def components(rows: np.ndarray, model: int, scores: np.ndarray) -> tuple:
        at = np.searchsorted(tables[model].scores, scores[rows])  # the join by score
        pos = y[rows]
        return k[model][0][at[pos]], k[model][1][at[~pos]]

    total = None
    perm = rng.permutation(y.size)
    for rows in np.split(perm, np.sort(rng.integers(0, y.size + 1, size=parts - 1))):
        k10_a, k01_a = components(rows, 0, a)
        k10_b, k01_b = components(rows, 1, b)
        part = sums_from_components(k10_a, k10_b, k01_a, k01_b)
        total = part if total is None else total + part
    assert total is not None
    return total


@st.composite
def paired_rows(draw, max_size: int = 60):
    n_pos = draw(st.integers(2, max_size // 2))
    n_neg = draw(st.integers(2, max_size // 2))
    y = np.array([True] * n_pos + [False] * n_neg)
    y = y[np.array(draw(st.permutations(list(range(y.size)))))]
    levels = draw(st.integers(1, 6))
    ints = st.lists(st.integers(0, levels - 1), min_size=y.size, max_size=y.size)
    return y, np.array(draw(ints), dtype=float), np.array(draw(ints), dtype=float)


@settings(deadline=None, max_examples=80)
@given(paired_rows(), st.integers(0, 2**32 - 1))
def test_sums_of_partitions_give_the_paired_test_exactly(data, seed):
    y, a, b = data
    rng = np.random.default_rng(seed)
    sums = partition_sums(y, a, b, rng)
    assert sums == paired_sums(y, a, b)
    assert paired_from_sums(sums, confidence=0.9) == delong_paired(y, a, b, confidence=0.9)


@pytest.mark.parametrize("case", ["continuous", "ties", "identical", "all_tied_b"])
def test_partitioned_paired_test_on_larger_rows(case):
    rng = np.random.default_rng(1)
    n = 20_000
    y = rng.random(n) < 0.15
    a = rng.random(n) + 0.3 * y
    b = rng.random(n) + 0.2 * y
    if case == "ties":
        a, b = np.round(a, 1), np.round(b, 2)
    elif case == "identical":
        b = a.copy()
    elif case == "all_tied_b":
        b = np.zeros(n)
    sums = partition_sums(y, a, b, rng, parts=4)
    result = paired_from_sums(sums)
    assert result == delong_paired(y, a, b)
    if case == "identical":
        assert result.diff == 0.0 and result.p_value == 1.0


def test_paired_from_sums_refuses_one_class_and_inconsistent_sums():
    y = np.array([1, 1, 0, 0, 1, 0])
    a = np.array([0.9, 0.8, 0.1, 0.3, 0.5, 0.5])
    sums = paired_sums(y, a, a[::-1])
    with pytest.raises(UndefinedAucError, match="n_neg=1"):
        paired_from_sums(PairedSums(*(astuple(sums)[:1] + (1,) + astuple(sums)[2:])))
    broken = {f.name: getattr(sums, f.name) for f in fields(sums)}
    broken["sum_k10_b"] += 1  # a row joined to the wrong score
    with pytest.raises(ValueError, match="inconsistent PairedSums for model b"):
        paired_from_sums(PairedSums(**broken))


def test_paired_sums_fields_are_exact_ints():
    values = [np.int64(3), 4, Decimal(5), 1, 2, 3, 4, 5, 6, 7, 8, 9]
    sums = PairedSums(*values)
    assert all(type(getattr(sums, f.name)) is int for f in fields(sums))
    for bad in (2.0, Decimal("2.5"), True, "3"):
        with pytest.raises(ValueError, match="PairedSums.n_pos must be an exact integer"):
            PairedSums(bad, *values[1:])


@pytest.mark.parametrize("scale", [10**9, 10**12])
def test_paired_variance_exact_with_huge_counts(scale):
    """Groups of (score_a, score_b, label) rows with ~1e9 rows each: the sums a cluster
    would produce, against the variance of the component differences computed as fractions
    from its definition: sum (D - mean D)^2 / (m (m - 1)) + likewise over the negatives."""
    rng = np.random.default_rng(scale % 997)
    groups = 12
    score_a = rng.integers(0, 5, groups) / 4
    score_b = rng.integers(0, 5, groups) / 4
    label = np.arange(groups) % 2 == 0
    count = rng.integers(scale // 2, scale, groups)
    tables = [table_from_counts(s, label, count) for s in (score_a, score_b)]
    k = [table_k_values(t) for t in tables]
    at = [np.searchsorted(t.scores, s) for t, s in zip(tables, (score_a, score_b), strict=True)]
    k10 = [[int(k[i][0][at[i][g]]) for g in range(groups)] for i in (0, 1)]
    k01 = [[int(k[i][1][at[i][g]]) for g in range(groups)] for i in (0, 1)]
    pos, neg = [g for g in range(groups) if label[g]], [g for g in range(groups) if not label[g]]
    c = [int(v) for v in count]

    def total(rows: list[int], f) -> int:
        return sum(c[g] * f(g) for g in rows)

    sums = PairedSums(
        total(pos, lambda g: 1),
        total(neg, lambda g: 1),
        total(pos, lambda g: k10[0][g]),
        total(pos, lambda g: k10[1][g]),
        total(pos, lambda g: k10[0][g] ** 2),
        total(pos, lambda g: k10[1][g] ** 2),
        total(pos, lambda g: k10[0][g] * k10[1][g]),
        total(neg, lambda g: k01[0][g]),
        total(neg, lambda g: k01[1][g]),
        total(neg, lambda g: k01[0][g] ** 2),
        total(neg, lambda g: k01[1][g] ** 2),
        total(neg, lambda g: k01[0][g] * k01[1][g]),
    )
    m, n = sums.n_pos, sums.n_neg

    def var(rows: list[int], d: list[Fraction], size: int) -> Fraction:
        mean = sum(c[g] * d[g] for g in rows) / size
        return sum(c[g] * (d[g] - mean) ** 2 for g in rows) / (size - 1)

    d10 = [Fraction(k10[0][g] - k10[1][g], 2 * n) for g in range(groups)]
    d01 = [Fraction(k01[0][g] - k01[1][g], 2 * m) for g in range(groups)]
    expected = var(pos, d10, m) / m + var(neg, d01, n) / n
    result = paired_from_sums(sums)
    assert result.variance == float(expected)
    assert result.diff == float(Fraction(sums.sum_k10_a - sums.sum_k10_b, 2 * m * n))


# ------------------------------------------------------------------ exact integer helpers


@pytest.mark.parametrize("biggest", [3, 2**31, 3 * 10**9, 2**62, 2**63 - 1])
def test_exact_dot_and_sum_match_python_ints(biggest):
    rng = np.random.default_rng(biggest % 1000)
    a = rng.integers(-biggest, biggest, size=3000, endpoint=True)
    b = rng.integers(0, biggest, size=3000, endpoint=True)
    a[0], b[0] = biggest, biggest
    assert exact_dot(a, b) == sum(int(x) * int(y) for x, y in zip(a, b, strict=True))
    assert exact_dot(b, b) == sum(int(x) ** 2 for x in b)
    assert exact_sum(b) == sum(int(x) for x in b)


@pytest.mark.parametrize("biggest", [10, 10**9, 4 * 10**9, 10**12])
def test_weighted_sum_squares_matches_python_ints(biggest):
    rng = np.random.default_rng(biggest % 1000)
    w = rng.integers(1, biggest, size=2000, endpoint=True)
    k = rng.integers(0, 2 * biggest, size=2000, endpoint=True)
    assert weighted_sum_squares(w, k) == sum(
        int(x) * int(y) ** 2 for x, y in zip(w, k, strict=True)
    )
