"""Draft a data contract from a sample: dtypes, widened observed ranges, observed sets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from mlgate.data.contract_checks import register

register()  # the draft uses the named checks (min_rows, unique_values)

# Cell texts (compared stripped and lower-cased) that usually mean "no value" in exports.
NA_LIKE = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "?", "#n/a"})


@dataclass(frozen=True)
class ContractDraft:
    text: str  # the pandera YAML
    notes: tuple[str, ...]  # what the inference saw and decided, for the user to review
    na_values: tuple[str, ...]  # cell texts drafted as missing: put them in data.na_values


def infer_contract(
    frame: pd.DataFrame,
    *,
    id_column: str | None = None,
    max_categories: int = 50,
    slack: float = 0.1,
) -> str:
    """Draft a contract from a sample: dtypes, observed ranges widened by ``slack``, observed sets.

    A draft to review, not a verdict: ranges seen in a sample are not the true bounds.
    """
    return draft_contract(
        frame, id_column=id_column, max_categories=max_categories, slack=slack
    ).text


def draft_contract(
    frame: pd.DataFrame,
    *,
    id_column: str | None = None,
    max_categories: int = 50,
    slack: float = 0.1,
) -> ContractDraft:
    """:func:`infer_contract` with what it noticed: blank or NA-like cells (``" "``, ``"?"``,
    ``"null"``...) in a text column are drafted as missing; when every other value is a number
    the column is drafted as a nullable ``float64`` with ``coerce: true``. Those cell texts are
    returned as ``na_values`` (they must be in params.yaml ``data.na_values`` to read as nulls).
    """
    columns: dict[str, pa.Column] = {}
    notes: list[str] = []
    na_found: dict[str, None] = {}
    for name in frame.columns:
        series = frame[name]
        tokens = _na_like_tokens(series)
        converted = False
        if tokens:
            na_found.update(dict.fromkeys(tokens))
            series, note = _without_na_like(series, tokens, str(name))
            notes.append(note)
            # Text turned into numbers: the contract must coerce the column as read.
            converted = series.dtype.kind == "f"
        columns[str(name)] = _draft_column(
            series,
            is_id=name == id_column,
            max_categories=max_categories,
            slack=slack,
            coerce=converted,
        )
    schema = pa.DataFrameSchema(
        columns, checks=[pa.Check.min_rows(min_value=max(1, len(frame) // 10))], strict=True
    )
    return ContractDraft(str(schema.to_yaml()), tuple(notes), tuple(na_found))


def _is_text(series: pd.Series) -> bool:
    return series.dtype.kind in "OTU" or isinstance(series.dtype, pd.StringDtype)


def _na_like_tokens(series: pd.Series) -> list[str]:
    if not _is_text(series):
        return []
    distinct = pd.Series(series.dropna().unique())
    distinct = distinct[distinct.map(lambda v: isinstance(v, str))]
    hit = distinct[distinct.str.strip().str.lower().isin(NA_LIKE)]
    return sorted(str(v) for v in hit)


def _without_na_like(series: pd.Series, tokens: list[str], name: str) -> tuple[pd.Series, str]:
    is_na = series.isin(tokens)
    count = int(is_na.sum())
    shown = ", ".join(repr(t) for t in tokens)
    rest = series.mask(is_na)
    numbers = pd.to_numeric(rest.dropna(), errors="coerce")
    if len(numbers) and numbers.notna().all():
        note = (
            f"column '{name}': {count} blank/NA-like cell(s) ({shown}) in an otherwise numeric "
            "column: drafted as float64, nullable, coerce: true"
        )
        return pd.to_numeric(rest, errors="coerce").astype("float64"), note
    note = (
        f"column '{name}': {count} blank/NA-like cell(s) ({shown}): drafted as missing "
        "(nullable), not as a category"
    )
    return rest, note


def _draft_column(
    series: pd.Series, *, is_id: bool, max_categories: int, slack: float, coerce: bool
) -> pa.Column:
    checks: list[pa.Check] = []
    kind = series.dtype.kind
    if kind in "iuf" and series.notna().any():
        lo, hi = float(series.min()), float(series.max())
        pad = (hi - lo) * slack
        low: float = lo - pad if lo < 0 or lo - pad >= 0 else 0.0
        high: float = hi + pad
        if kind in "iu":
            low, high = int(np.floor(low)), int(np.ceil(high))
        checks.append(pa.Check.in_range(low, high))
    elif _is_text(series):
        values = series.dropna().unique()
        if 0 < len(values) <= max_categories:
            checks.append(pa.Check.isin(sorted(map(str, values))))
    if is_id:
        checks.append(pa.Check.unique_values())
    dtype = "str" if isinstance(series.dtype, pd.StringDtype) else str(series.dtype)
    return pa.Column(dtype, checks, nullable=bool(series.isna().any()), coerce=coerce)
