"""Failure tables: pandera's failure cases normalised, and summarised per (column, check)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def normalise(cases: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "column": cases["column"].astype(object).where(cases["column"].notna(), "<table>"),
            "check": cases["check"].astype(str),
            "failure_case": cases["failure_case"].map(show_value),
            "index": cases["index"].astype(object).where(cases["index"].notna(), None),
        }
    )
    # Table-level "column missing/extra" failures name the column in failure_case.
    structural = out["check"].isin(["column_in_dataframe", "column_in_schema"])
    out.loc[structural, "column"] = out.loc[structural, "failure_case"]
    return out.reset_index(drop=True)


def show_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "null"
    text = str(value)
    # A blank or space-padded cell would print as nothing, or look like its neighbour: quote it.
    if isinstance(value, str) and (not text.strip() or text != text.strip()):
        return repr(text)
    return text


_CHECK_TEXT = {
    "column_in_dataframe": "column missing from the data",
    "column_in_schema": "column not in the contract (strict)",
    "not_nullable": "null values where the contract forbids them",
}


def _meaning(check: str, values: pd.Series) -> str:
    if check.startswith(("coerce_dtype", "dtype")) and values.map(_quoted_blank).any():
        return "blank cells: list them in params.yaml data.na_values to read them as nulls"
    return _CHECK_TEXT.get(check, "")


def _quoted_blank(shown: Any) -> bool:
    # show_value quotes blank and padded texts: "' '", "''".
    return isinstance(shown, str) and len(shown) >= 2 and shown[0] == shown[-1] == "'"


def summarise(cases: pd.DataFrame, max_examples: int = 5) -> list[dict[str, Any]]:
    """Group failure cases by (column, check): count and a few examples with row indices."""
    summary = []
    for (column, check), group in cases.groupby(["column", "check"], sort=True, dropna=False):
        examples = [
            {
                "row": None
                if row is None
                else int(row)
                if str(row).lstrip("-").isdigit()
                else str(row),
                "value": value,
            }
            for value, row in zip(
                group["failure_case"][:max_examples], group["index"][:max_examples], strict=True
            )
        ]
        summary.append(
            {
                "column": str(column),
                "check": str(check),
                "meaning": _meaning(str(check), group["failure_case"]),
                "failing_rows": int(group["index"].notna().sum()) or len(group),
                "examples": examples,
            }
        )
    return summary
