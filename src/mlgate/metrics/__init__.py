"""Statistics the evaluation and the promotion gate rely on (see STATISTICS.md).

* :mod:`mlgate.metrics.score_table` - per-score label counts, the sufficient statistics every
  holdout metric is computed from (the same on the local and the Spark engine);
* :mod:`mlgate.metrics.auc` - ROC AUC with DeLong CI, and the paired DeLong test (also from
  exact sums over rows);
* :mod:`mlgate.metrics.calibration` - Brier loss, log loss, ECE, reliability table;
* :mod:`mlgate.metrics.multiple` - Holm's step-down correction over slices.
"""

from mlgate.metrics.auc import (
    AucResult,
    PairedAucResult,
    PairedSums,
    UndefinedAucError,
    delong_paired,
    midrank_components,
    paired_from_sums,
    paired_sums,
    roc_auc_delong,
    roc_auc_from_table,
    subset_order,
    sums_from_components,
)
from mlgate.metrics.calibration import (
    brier_loss,
    calibration_table,
    expected_calibration_error,
    log_loss,
)
from mlgate.metrics.multiple import holm, holm_adjusted
from mlgate.metrics.score_table import (
    ScoreTable,
    score_table,
    table_from_counts,
    table_k_values,
)

__all__ = [
    "AucResult",
    "PairedAucResult",
    "PairedSums",
    "ScoreTable",
    "UndefinedAucError",
    "brier_loss",
    "calibration_table",
    "delong_paired",
    "expected_calibration_error",
    "holm",
    "holm_adjusted",
    "log_loss",
    "midrank_components",
    "paired_from_sums",
    "paired_sums",
    "roc_auc_delong",
    "roc_auc_from_table",
    "score_table",
    "subset_order",
    "sums_from_components",
    "table_from_counts",
    "table_k_values",
]
