"""Request logs drawn from rows the pipeline actually has (by default, the holdout).

`mlgate requests` used to draw synthetic churn rows only; on a user's own data every such
request was refused and shadow/canary compared nothing. Drawing from ``data/holdout.parquet``
works for any contract: the rows passed ``validate``, the label is dropped, and each record is
checked against the request schema derived from the same contract, so the log holds requests
the API accepts.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from mlgate.errors import DataError
from mlgate.serving.client import frame_to_records
from mlgate.serving.derive import derive_request_schema
from mlgate.serving.schema import PayloadError

__all__ = ["table_request_log"]


def table_request_log(
    frame: pd.DataFrame,
    contract: pa.DataFrameSchema,
    *,
    n_requests: int,
    records_per_request: int = 1,
    seed: int = 0,
    drop: tuple[str, ...] = (),
    source: str = "table",
) -> tuple[list[str], int]:
    """(JSON lines, records skipped): ``n_requests`` requests of rows drawn from ``frame``.

    Rows are drawn with a seeded generator, without replacement unless more records are asked
    for than there are rows. Records the contract's request schema refuses are skipped and
    counted; the rest are cycled to fill the log. DataError when none is left.
    """
    if n_requests < 1 or records_per_request < 1:
        raise ValueError(
            f"n_requests and records_per_request must be >= 1, got "
            f"{n_requests} and {records_per_request}"
        )
    if frame.empty:
        raise DataError(f"{source} has no rows to draw requests from")
    columns = [c for c in frame.columns if c in contract.columns and c not in drop]
    total = n_requests * records_per_request
    rows = np.random.default_rng(seed).choice(len(frame), total, replace=total > len(frame))
    schema = derive_request_schema(contract, (), max_records=max(records_per_request, 1))
    kept: list[dict[str, Any]] = []
    first_error = None
    for record in frame_to_records(frame.iloc[rows], columns):
        try:
            schema.validate(record)
        except PayloadError as exc:
            first_error = first_error or str(exc)
            continue
        kept.append(record)
    if not kept:
        raise DataError(
            f"no evidence possible: none of the {total} rows drawn from {source} fits the "
            f"contract's request schema (first: {first_error})"
        )
    lines = []
    per = records_per_request
    for i in range(n_requests):
        chunk = [kept[(i * per + j) % len(kept)] for j in range(per)]
        body: Any = chunk[0] if per == 1 else chunk
        lines.append(json.dumps({"request_id": i, "body": body}, separators=(",", ":")))
    return lines, total - len(kept)
