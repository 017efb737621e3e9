"""Stage `drift`: PSI per feature between the champion's training data and the candidate's.

The reference is the champion's data/train.parquet read at the champion's commit through
DVC; without a champion the stage says so instead of inventing a reference. Under
``compute.engine: spark`` both sides are aggregated on Spark (exact counts, the same report).
"""

from __future__ import annotations

from mlgate import log, paths
from mlgate.drift.reference import champion_drift
from mlgate.engine import ENGINE_KEY, engine_record
from mlgate.io import read_json, write_json
from mlgate.params import load_params
from mlgate.stage import run

IN_TRAIN = paths.TRAIN
IN_CHAMPION = paths.CHAMPION
OUT = paths.DRIFT


def main() -> None:
    params = load_params()
    record = read_json(IN_CHAMPION, what="champion record")
    report, summary = champion_drift(
        record, IN_TRAIN, params.features, params.drift, params.compute
    )
    report[ENGINE_KEY] = engine_record(params.compute)
    write_json(OUT, report)
    log.info(summary)


if __name__ == "__main__":
    run(main)
