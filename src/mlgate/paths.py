"""Every file the pipeline and the CLI read or write by default, in one table.

Library functions take paths as arguments; stages and the CLI pass these. dvc.yaml lists the
same files as deps and outs (tests/test_pipeline_deps.py checks the code side of dvc.yaml).
"""

from __future__ import annotations

PARAMS = "params.yaml"
CONTRACT = "contracts/churn.yaml"  # default of params.yaml contract.path
BEHAVIORAL_SPEC = "contracts/behavioral.yaml"  # default of params.yaml behavioral.spec
SYNTHETIC = "data/raw/synthetic.parquet"  # generate's output, default of data.source
VALIDATED = "data/validated.parquet"
TRAIN = "data/train.parquet"
HOLDOUT = "data/holdout.parquet"
HOLDOUT_PREDICTIONS = "data/holdout_predictions.parquet"
MODEL_DIR = "models"
MODEL = "models/model.joblib"
MODEL_META = "models/model.json"
REPORT = "report.md"

# metrics/ (DVC metrics, committed to git)
VALIDATION = "metrics/validation.json"
VALIDATION_FAILURES = "metrics/validation_failures.csv"
SPLIT = "metrics/split.json"
TRAIN_METRICS = "metrics/train.json"
HOLDOUT_METRICS = "metrics/holdout.json"
SLICES = "metrics/slices.json"
BEHAVIORAL = "metrics/behavioral.json"
BEHAVIORAL_FAILURES = "metrics/behavioral_failures.csv"
SERVING = "metrics/serving.json"
DRIFT = "metrics/drift.json"
CHAMPION = "metrics/champion.json"
GATE = "metrics/gate.json"
SUMMARY = "metrics/summary.json"  # the one DVC metric: headline numbers (mlgate.summary)

# plots/
ROC_PNG = "plots/roc.png"
CALIBRATION_PNG = "plots/calibration.png"
SLICES_PNG = "plots/slices.png"


# `mlgate shadow` / `mlgate canary` outputs: command -> (JSON, Markdown)
REPLAY_OUTPUTS = {
    "shadow": ("metrics/shadow.json", "reports/shadow.md"),
    "canary": ("metrics/canary.json", "reports/canary.md"),
}
