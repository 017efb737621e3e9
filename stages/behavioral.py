"""Stage `behavioral`: run the declarative model tests on the holdout with the candidate.

Exits 0 whatever the results (the gate decides); a broken spec or a model that cannot score
exits non-zero with a clear error.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlgate import log
from mlgate.behavioral import load_spec, run_suite
from mlgate.behavioral.contract import check_spec
from mlgate.data.sample import read_sample, sample_salt
from mlgate.errors import ParamsError
from mlgate.io import atomic_write, read_yaml, write_json
from mlgate.model import load_model
from mlgate.params import load_params
from mlgate.stage import run

# pandera (for the contract) imports hypothesis when installed; this stage never synthesises
# data (see stages/validate.py).
sys.modules.setdefault("hypothesis", None)

IN_HOLDOUT = "data/holdout.parquet"
IN_MODEL, IN_META = "models/model.joblib", "models/model.json"
OUT_METRICS = "metrics/behavioral.json"
OUT_EXAMPLES = "metrics/behavioral_failures.csv"


def main() -> None:
    params = load_params()
    cfg = params.behavioral
    path = Path(cfg.spec)
    raw = read_yaml(
        path,
        what="behavioral spec",
        error=ParamsError,
        missing=" does not exist (params.yaml: behavioral.spec)",
    )
    spec = load_spec(raw, source=str(path))
    from mlgate.data.contract import load_contract  # imports pandera: after the guard above

    # Every column and category the spec names must be the contract's: a misspelt category
    # would otherwise perturb nothing the model knows and pass for the wrong reason.
    check_spec(spec, load_contract(params.contract.path), contract=params.contract.path)
    model, _ = load_model(IN_MODEL, IN_META)
    # Bounded memory at any holdout size: the whole holdout up to max_holdout_rows (in file
    # order, as before), else the ids with the smallest salted hash (same rows on any engine).
    sample = read_sample(
        IN_HOLDOUT,
        id_column=params.data.id_column,
        n=cfg.max_holdout_rows,
        salt=f"{sample_salt(params.split.salt)}/behavioral",
    )
    results, examples = run_suite(
        model,
        sample.frame,
        spec,
        seed=cfg.seed,
        max_examples=cfg.max_examples,
        id_column=params.data.id_column,
        max_rows=cfg.max_rows,
    )
    results["holdout_rows"] = {"available": sample.n_available, "used": len(sample.frame)}
    atomic_write(OUT_EXAMPLES, lambda p: examples.to_csv(p, index=False))
    write_json(OUT_METRICS, results)
    failed = [t["name"] for t in results["tests"] if t.get("passed") is False]
    log.info(
        f"behavioral: {results['n_tests']} tests, {results['n_failed']} failed, "
        f"{results['n_skipped']} skipped -> {OUT_METRICS}"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )


if __name__ == "__main__":
    run(main)
