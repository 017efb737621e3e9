"""The drift stage's comparison: the candidate's training data against the champion's, read at
the champion's commit through DVC. Without a champion (or its data) the result says so
instead of inventing a reference."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from mlgate.champion import Champion, RevisionReader
from mlgate.drift.report import drift_report
from mlgate.errors import MlgateError
from mlgate.params import ComputeParams, DriftParams, FeaturesParams


def as_drift_frame(
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


def no_reference(reason: str) -> dict[str, Any]:
    """The drift record when there is nothing to compare with, and why."""
    return {
        "has_reference": False,
        "reason": reason,
        "retrain_recommended": False,
        "max_psi": None,
        "drifted_features": [],
    }


def champion_drift(
    record: dict[str, Any],
    train_path: str,
    features: FeaturesParams,
    cfg: DriftParams,
    compute: ComputeParams | None = None,
) -> tuple[dict[str, Any], str]:
    """The drift record of ``train_path`` against the champion of ``record``, and a log line.

    The champion's training data (a file, or a Parquet dataset directory when the spark
    engine wrote it) is copied from its commit into a temporary directory first; under
    ``compute.engine: spark`` both sides are then read by Spark (mlgate.spark.drift), which
    needs that directory to be visible to the executors (true for a local master).
    """
    if not record.get("found"):
        why = record.get("error") or "no champion to compare with"
        return no_reference(why), f"drift: skipped, {why}"
    champion = Champion(record["ref"], record["commit"], record["source"], record.get("version"))
    with tempfile.TemporaryDirectory(prefix="mlgate-drift-") as scratch:
        try:
            ref_path = RevisionReader(".", champion).download(
                train_path, Path(scratch) / "reference.parquet"
            )
        except MlgateError as exc:
            return no_reference(str(exc)), f"drift: no reference, {exc}"
        if compute is not None and compute.engine == "spark":
            report = _spark_report(compute, str(ref_path), train_path, features, cfg)
        else:
            report = _local_report(str(ref_path), train_path, features, cfg)
    report = {"has_reference": True, "reference": champion.to_dict(), **report}
    return report, _summary(report, champion)


def _local_report(
    ref_path: str, train_path: str, features: FeaturesParams, cfg: DriftParams
) -> dict[str, Any]:
    current, numeric, categorical = as_drift_frame(pd.read_parquet(train_path), features)
    reference, _, _ = as_drift_frame(pd.read_parquet(ref_path), features)
    return drift_report(
        reference,
        current,
        numeric=[c for c in numeric if c in reference],
        categorical=[c for c in categorical if c in reference],
        n_bins=cfg.n_bins,
        threshold=cfg.threshold,
        epsilon=cfg.epsilon,
    )


def _spark_report(
    compute: ComputeParams,
    ref_path: str,
    train_path: str,
    features: FeaturesParams,
    cfg: DriftParams,
) -> dict[str, Any]:
    from mlgate.spark.compat import spark_readable
    from mlgate.spark.drift import spark_drift_report
    from mlgate.spark.session import spark_session

    spark = spark_session(compute, app="drift")
    # Either side may come from the local engine (ns timestamps Spark cannot read).
    scratch = Path(ref_path).parent
    ref_path = spark_readable(ref_path, scratch / "reference-us")
    train_path = spark_readable(train_path, scratch / "current-us")
    return spark_drift_report(spark, ref_path, train_path, features, cfg)


def _summary(report: dict[str, Any], champion: Champion) -> str:
    flagged = report["drifted_features"]
    return (
        f"drift: max PSI {report['max_psi']:.4f} ({report['max_psi_feature']}) vs "
        f"{champion.ref}; "
        + (
            f"drifted: {', '.join(flagged)}; retrain recommended"
            if flagged
            else "no feature over threshold"
        )
    )
