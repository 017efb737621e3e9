"""Write a Spark DataFrame as a Parquet dataset directory, atomically and reproducibly named."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def write_dataset(frame: DataFrame, target: str | os.PathLike[str]) -> None:
    """``frame`` as ``target/part-NNNNN.parquet``, replacing whatever ``target`` was.

    Spark names part files with a per-job UUID and adds _SUCCESS and .crc files; renaming them
    in partition order keeps the directory's content (and so DVC's md5 of it) the same on a
    rerun, and readers (pandas, Spark) still see the rows in partition order.
    """
    target = Path(target)
    staging = target.with_name(f".{target.name}.spark-tmp")
    shutil.rmtree(staging, ignore_errors=True)
    frame.write.mode("overwrite").parquet(str(staging))
    parts = sorted(p for p in staging.iterdir() if p.name.startswith("part-"))
    for path in staging.iterdir():
        if path not in parts:
            path.unlink()
    for i, path in enumerate(parts):
        path.rename(staging / f"part-{i:05d}.parquet")
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    staging.rename(target)
