"""write_parquet's encoding options change the file, never the table read back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from mlgate.io import write_parquet


def test_no_statistics_and_plain_columns_round_trip_and_are_deterministic(
    tmp_path: Path,
) -> None:
    frame = pd.DataFrame(
        {
            "id": range(1000),
            "city": [f"city_{i % 7:03d}" for i in range(1000)],
            "when": pd.date_range("2026-01-01", periods=1000, freq="h"),
        }
    )
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    for target in (first, second):
        write_parquet(target, frame, statistics=False, plain_columns=["id"])
    pd.testing.assert_frame_equal(pd.read_parquet(first), frame)
    assert first.read_bytes() == second.read_bytes()
    group = pq.ParquetFile(first).metadata.row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(3)}
    assert not any(c.is_stats_set for c in columns.values())
    assert not columns["id"].has_dictionary_page
    assert columns["city"].has_dictionary_page
