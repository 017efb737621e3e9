"""Stage `gate`: gather every piece of evidence, score the champion, write the decision.

Exits 0 on promote and on reject (so `dvc exp run` records rejected experiments); exits
non-zero only when the gate cannot run at all (e.g. params.yaml is broken). `mlgate check`
reruns this file with OUT redirected (mlgate.verify).
"""

from __future__ import annotations

from mlgate import log, paths
from mlgate.engine import ENGINE_KEY, engine_record
from mlgate.gate.decision import decide
from mlgate.gate.evidence import read_evidence
from mlgate.gate.paths import GatePaths
from mlgate.io import write_json
from mlgate.params import load_params
from mlgate.stage import run

PATHS = GatePaths(
    root=".",
    lock="dvc.lock",
    holdout=paths.HOLDOUT,
    predictions=paths.HOLDOUT_PREDICTIONS,
    champion=paths.CHAMPION,
    validation=paths.VALIDATION,
    holdout_metrics=paths.HOLDOUT_METRICS,
    slices=paths.SLICES,
    behavioral=paths.BEHAVIORAL,
    serving=paths.SERVING,
    model=paths.MODEL,
    model_meta=paths.MODEL_META,
)
OUT = paths.GATE


def main() -> None:
    params = load_params()
    decision = decide(params.gate, **read_evidence(PATHS, params).kwargs())
    decision[ENGINE_KEY] = engine_record(params.compute)
    write_json(OUT, decision)
    verdict = "PROMOTE" if decision["promote"] else "REJECT"
    log.info(
        f"gate: {verdict} ({decision['n_checks'] - decision['n_failed']}/"
        f"{decision['n_checks']} checks passed) -> {OUT}"
    )
    for check in decision["checks"]:
        if not check["passed"]:
            log.info(f"  failed {check['name']}: {check['reason']}")


if __name__ == "__main__":
    run(main)
