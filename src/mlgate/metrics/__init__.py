"""Statistics the evaluation and the promotion gate rely on (see STATISTICS.md).

* :mod:`mlgate.metrics.auc` - ROC AUC with DeLong CI, and the paired DeLong test;
* :mod:`mlgate.metrics.calibration` - Brier loss, log loss, ECE, reliability table;
* :mod:`mlgate.metrics.multiple` - Holm's step-down correction over slices.
"""

from mlgate.metrics.auc import (
    AucResult,
    PairedAucResult,
    UndefinedAucError,
    canonical_rows,
    delong_paired,
    midrank_components,
    roc_auc_delong,
    subset_order,
)
from mlgate.metrics.calibration import (
    brier_loss,
    calibration_table,
    expected_calibration_error,
    log_loss,
)
from mlgate.metrics.multiple import holm, holm_adjusted

__all__ = [
    "AucResult",
    "PairedAucResult",
    "UndefinedAucError",
    "brier_loss",
    "calibration_table",
    "canonical_rows",
    "delong_paired",
    "expected_calibration_error",
    "holm",
    "holm_adjusted",
    "log_loss",
    "midrank_components",
    "roc_auc_delong",
    "subset_order",
]
