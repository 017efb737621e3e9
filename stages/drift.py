"""Stage `drift`: PSI per feature between the champion's training data and the candidate's.

The reference is the champion's data/train.parquet read at the champion's commit through
DVC; without a champion the stage says so instead of inventing a reference.
"""

from __future__ import annotations

import io

import pandas as pd

from mlgate import log, paths
from mlgate.champion import Champion, RevisionReader
from mlgate.drift import drift_report
from mlgate.errors import MlgateError
from mlgate.io import read_json, write_json
from mlgate.params import FeaturesParams, load_params
from mlgate.stage import run

IN_TRAIN = paths.TRAIN
IN_CHAMPION = paths.CHAMPION
OUT = paths.DRIFT


def _as_drift_frame(
    frame: pd.DataFrame, features: FeaturesParams
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Numeric columns stay numeric, dates become days since epoch, bools are categories."""
    numeric, categorical, columns = [], [], {}
    for name in features.numeric:
        if name not in frame:
            continue
        if frame[name].dtype.kind == "b":
            columns[name] = frame[name].astype(str)
            categorical.append(name)
        else:
            columns[name] = pd.to_numeric(frame[name], errors="coerce")
            numeric.append(name)
    for name in (*features.categorical, *features.frequency):
        if name in frame:
            columns[name] = frame[name].astype(str).where(frame[name].notna(), None)
            categorical.append(name)
    for name in dict.fromkeys((*features.cyclical_dates, *features.days_since_dates)):
        if name in frame:
            days = pd.to_datetime(frame[name], errors="coerce")
            columns[name] = (days - pd.Timestamp("1970-01-01")).dt.days.astype(float)
            numeric.append(name)
    return pd.DataFrame(columns), numeric, categorical


def main() -> None:
    params = load_params()
    record = read_json(IN_CHAMPION, what="champion record")
    if not record.get("found"):
        why = record.get("error") or "no champion to compare with"
        write_json(
            OUT,
            {
                "has_reference": False,
                "reason": why,
                "retrain_recommended": False,
                "max_psi": None,
                "drifted_features": [],
            },
        )
        log.info(f"drift: skipped, {why}")
        return
    champion = Champion(record["ref"], record["commit"], record["source"], record.get("version"))
    current, numeric, categorical = _as_drift_frame(pd.read_parquet(IN_TRAIN), params.features)
    try:
        raw = RevisionReader(".", champion).read_bytes(IN_TRAIN)
        reference, _, _ = _as_drift_frame(pd.read_parquet(io.BytesIO(raw)), params.features)
    except MlgateError as exc:
        write_json(
            OUT,
            {
                "has_reference": False,
                "reason": str(exc),
                "retrain_recommended": False,
                "max_psi": None,
                "drifted_features": [],
            },
        )
        log.info(f"drift: no reference, {exc}")
        return
    shared_numeric = [c for c in numeric if c in reference]
    shared_categorical = [c for c in categorical if c in reference]
    cfg = params.drift
    report = drift_report(
        reference,
        current,
        numeric=shared_numeric,
        categorical=shared_categorical,
        n_bins=cfg.n_bins,
        threshold=cfg.threshold,
        epsilon=cfg.epsilon,
    )
    report = {"has_reference": True, "reference": champion.to_dict(), **report}
    write_json(OUT, report)
    flagged = report["drifted_features"]
    log.info(
        f"drift: max PSI {report['max_psi']:.4f} ({report['max_psi_feature']}) vs "
        f"{champion.ref}; "
        + (
            f"drifted: {', '.join(flagged)}; retrain recommended"
            if flagged
            else "no feature over threshold"
        )
    )


if __name__ == "__main__":
    run(main)
