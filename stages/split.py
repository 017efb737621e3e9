"""Stage `split`: stable hash-of-id assignment to train and holdout.

``compute.engine: spark`` runs the same hash on Spark (mlgate.spark.split) and writes train
and holdout as Parquet dataset directories; the metrics are the same apart from the engine.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlgate import log, paths
from mlgate.data.split import holdout_mask, require_columns
from mlgate.engine import ENGINE_KEY, engine_record
from mlgate.errors import DataError
from mlgate.io import write_json, write_parquet
from mlgate.params import Params, load_params
from mlgate.stage import run

IN_DATA = paths.VALIDATED
OUT_TRAIN = paths.TRAIN
OUT_HOLDOUT = paths.HOLDOUT
OUT_METRICS = paths.SPLIT

# Per side: rows, sum of the target, whether the target takes two values.
Side = tuple[int, float, bool]


def _check_sides(target: str, train: Side, holdout: Side) -> None:
    for name, (_, _, two_classes) in (("train", train), ("holdout", holdout)):
        if not two_classes:
            raise DataError(f"{name} split has a single class in '{target}'; need both 0 and 1")


def _split_local(params: Params) -> tuple[Side, Side]:
    frame = pd.read_parquet(IN_DATA)
    id_column, target = params.data.id_column, params.data.target
    require_columns(frame.columns, {"data.id_column": id_column, "data.target": target}, IN_DATA)
    try:
        mask = holdout_mask(
            frame[id_column], fraction=params.split.holdout_fraction, salt=params.split.salt
        )
    except ValueError as exc:
        raise DataError(f"{IN_DATA}: {exc}") from exc
    train, holdout = frame[~mask], frame[mask]
    sides = tuple(
        (len(part), float(part[target].sum()), part[target].nunique() >= 2)
        for part in (train, holdout)
    )
    _check_sides(target, sides[0], sides[1])
    write_parquet(OUT_TRAIN, train)
    write_parquet(OUT_HOLDOUT, holdout)
    return sides[0], sides[1]


def _split_spark(params: Params) -> tuple[Side, Side]:
    from mlgate.spark.session import spark_session
    from mlgate.spark.split import split_source

    target = params.data.target
    return split_source(
        spark_session(params.compute, app="split"),
        IN_DATA,
        OUT_TRAIN,
        OUT_HOLDOUT,
        id_column=params.data.id_column,
        target=target,
        fraction=params.split.holdout_fraction,
        salt=params.split.salt,
        check=lambda train, holdout: _check_sides(target, train, holdout),
    )


def _rate(side: Side) -> float:
    # pandas' mean of an integer column: the float64 sum over the count.
    return round(side[1] / side[0], 6) if side[0] else float("nan")


def main() -> None:
    params = load_params()
    if params.compute.engine == "spark":
        train, holdout = _split_spark(params)
    else:
        train, holdout = _split_local(params)
    metrics: dict[str, Any] = {
        "holdout_fraction": params.split.holdout_fraction,
        "n_train": train[0],
        "n_holdout": holdout[0],
        "train_positive_rate": _rate(train),
        "holdout_positive_rate": _rate(holdout),
        ENGINE_KEY: engine_record(params.compute),
    }
    write_json(OUT_METRICS, metrics)
    log.info(
        f"split: {train[0]:,} train / {holdout[0]:,} holdout rows "
        f"(salted hash of '{params.data.id_column}', {params.compute.engine} engine) "
        f"-> {OUT_TRAIN}, {OUT_HOLDOUT}"
    )


if __name__ == "__main__":
    run(main)
