"""Stage `split`: stable hash-of-id assignment to train and holdout."""

from __future__ import annotations

import pandas as pd

from mlgate import log, paths
from mlgate.data.split import holdout_mask
from mlgate.errors import DataError
from mlgate.io import write_json, write_parquet
from mlgate.params import load_params
from mlgate.stage import run

IN_DATA = paths.VALIDATED
OUT_TRAIN = paths.TRAIN
OUT_HOLDOUT = paths.HOLDOUT
OUT_METRICS = paths.SPLIT


def main() -> None:
    params = load_params()
    frame = pd.read_parquet(IN_DATA)
    id_column, target = params.data.id_column, params.data.target
    for column, key in ((id_column, "data.id_column"), (target, "data.target")):
        if column not in frame:
            raise DataError(f"{IN_DATA}: column '{column}' (params.yaml: {key}) is missing")
    try:
        mask = holdout_mask(
            frame[id_column], fraction=params.split.holdout_fraction, salt=params.split.salt
        )
    except ValueError as exc:
        raise DataError(f"{IN_DATA}: {exc}") from exc
    train, holdout = frame[~mask], frame[mask]
    for name, part in (("train", train), ("holdout", holdout)):
        if part[target].nunique() < 2:
            raise DataError(f"{name} split has a single class in '{target}'; need both 0 and 1")
    write_parquet(OUT_TRAIN, train)
    write_parquet(OUT_HOLDOUT, holdout)
    write_json(
        OUT_METRICS,
        {
            "holdout_fraction": params.split.holdout_fraction,
            "n_train": len(train),
            "n_holdout": len(holdout),
            "train_positive_rate": round(float(train[target].mean()), 6),
            "holdout_positive_rate": round(float(holdout[target].mean()), 6),
        },
    )
    log.info(
        f"split: {len(train):,} train / {len(holdout):,} holdout rows "
        f"(salted hash of '{id_column}') -> {OUT_TRAIN}, {OUT_HOLDOUT}"
    )


if __name__ == "__main__":
    run(main)
