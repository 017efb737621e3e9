"""Stage `serving`: serve the candidate from a real uvicorn process and check what it answers.

Starts the API on a free loopback port, then: holdout rows (single and batched) must score as
data/holdout_predictions.parquet to serving.tolerance; a catalog of bad payloads must each get
a 4xx naming the field; single-record and batch latency are measured. The server is stopped
whatever happens. Exits 0 whatever the results (the gate judges metrics/serving.json);
non-zero only when the checks cannot run (missing inputs, a server that never comes up) or
produced no evidence (an empty holdout, or not one holdout row scored by the API: every
request refused), which would otherwise reach the gate as a parity failure with no numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlgate import log, paths
from mlgate.data.contract import load_contract
from mlgate.data.sample import read_sample, sample_salt
from mlgate.errors import DataError, NoEvidence
from mlgate.io import read_json, write_json
from mlgate.serving.client import frame_to_records
from mlgate.serving.config import load_with_serving
from mlgate.serving.suite import run_against_server
from mlgate.stage import run

IN_HOLDOUT = paths.HOLDOUT
IN_PREDICTIONS = paths.HOLDOUT_PREDICTIONS
# "./": a path by model_ref's rules, even if a git ref is also called "models".
IN_MODEL_DIR, IN_META = "./models", paths.MODEL_META
OUT = paths.SERVING


def _offline_scores(id_col: str, ids: pd.Series) -> pd.Series:
    """The offline score of each of ``ids`` (only their rows of the predictions are kept)."""
    try:
        table = pq.read_table(
            IN_PREDICTIONS, columns=[id_col, "score"], filters=[(id_col, "in", ids.tolist())]
        )
    except (KeyError, pa.ArrowInvalid) as exc:
        raise DataError(
            f"{IN_PREDICTIONS}: lacks column(s) {id_col!r} or 'score' ({exc})"
        ) from exc
    frame = table.to_pandas()
    return frame.drop_duplicates(id_col).set_index(id_col)["score"]


def main() -> None:
    params, cfg = load_with_serving()
    id_col, target = params.data.id_column, params.data.target
    # Bounded memory: only the sampled holdout rows and their offline scores are read.
    sample = read_sample(
        IN_HOLDOUT,
        id_column=id_col,
        n=cfg.parity_rows,
        salt=f"{sample_salt(params.split.salt)}/serving/{cfg.seed}",
    ).frame
    if len(sample) == 0:
        raise NoEvidence(
            f"no evidence: {IN_HOLDOUT} has 0 rows and serving.parity_rows is "
            f"{cfg.parity_rows}; the API cannot be checked on zero rows"
        )
    offline = _offline_scores(id_col, sample[id_col])
    unknown = ~sample[id_col].isin(offline.index)
    if unknown.any():
        raise DataError(
            f"{IN_PREDICTIONS}: no offline score for {int(unknown.sum())} sampled "
            f"holdout row(s), e.g. {id_col}={sample[id_col][unknown].iloc[0]}; "
            "rerun the evaluate stage"
        )
    expected = offline.loc[sample[id_col]].to_numpy(dtype=np.float64)
    # What a client sends: the row without its label.
    records = frame_to_records(sample.drop(columns=[target], errors="ignore"))
    summary = run_against_server(
        IN_MODEL_DIR,
        root=".",
        contract=params.contract.path,
        contract_schema=load_contract(params.contract.path),
        records=records,
        expected=expected,
        cfg=cfg,
    )
    parity = summary["parity"]
    if parity["n_scored"] == 0:
        raise NoEvidence(
            f"no evidence: the API scored 0 of {parity['n_rows']} holdout rows "
            f"({parity['n_failed_requests']} requests failed; first: {parity['first_failure']}); "
            f"{OUT} was not written"
        )
    summary["served_sha256_matches"] = (
        summary["model_sha256"] == read_json(IN_META, what="model metadata")["sha256"]
    )
    write_json(OUT, summary)
    single, batch = summary["latency_ms"]["single"], summary["latency_ms"]["batch"]
    bad = summary["bad_payloads"]
    log.info(
        f"serving: parity {'ok' if summary['parity_passed'] else 'FAILED'} on {len(sample)} rows "
        f"(max |diff| {summary['parity_max_abs_diff']}); bad payloads "
        f"{bad['n_passed']}/{bad['n_cases']} refused with the field named; "
        f"{summary['n_5xx']} 5xx in {summary['n_requests']} requests; p95 single "
        f"{single['p95']} ms, batch of {batch['batch_size']} {batch['p95']} ms"
    )


if __name__ == "__main__":
    run(main)
