"""Matplotlib PNGs for people (DVC plots cover the interactive side).

* ROC curve with a 95 % pointwise band: at each false-positive rate the true-positive rate is
  a binomial proportion over the positives, so the band is its Wilson interval (vertical,
  pointwise; not a simultaneous band). The legend carries the DeLong CI of the AUC.
* Reliability diagram with the bin counts.
* Forest plot of per-slice AUC with DeLong CIs; skipped slices are listed, not hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on CI machines; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mlgate.io import atomic_write  # noqa: E402

# Fixed metadata keeps PNG bytes identical between runs (matplotlib stamps its version/date).
_PNG_META = {"Software": None}


def _save(fig: Any, target: str | Path) -> None:
    atomic_write(target, lambda p: fig.savefig(p, format="png", dpi=110, metadata=_PNG_META))
    plt.close(fig)


def _wilson(p: np.ndarray, n: int, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def roc_png(roc: pd.DataFrame, metrics: Mapping[str, Any], target: str | Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    low, high = _wilson(roc["tpr"].to_numpy(), int(metrics["n_positive"]))
    ax.fill_between(roc["fpr"], low, high, step="post", alpha=0.25, label="95% pointwise band")
    label = (
        f"ROC AUC {metrics['roc_auc']:.3f} "
        f"[{metrics['roc_auc_ci_low']:.3f}, {metrics['roc_auc_ci_high']:.3f}] (DeLong)"
    )
    ax.step(roc["fpr"], roc["tpr"], where="post", label=label)
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        xlim=(0, 1),
        ylim=(0, 1),
        title=f"ROC on holdout (n={metrics['n']:,})",
    )
    ax.legend(loc="lower right", fontsize=8)
    _save(fig, target)


def calibration_png(table: pd.DataFrame, metrics: Mapping[str, Any], target: str | Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8, label="perfect calibration")
    ax.plot(
        table["mean_pred"],
        table["frac_pos"],
        marker="o",
        label=f"model (ECE {metrics['calibration_error']:.3f})",
    )
    for _, row in table.iterrows():
        ax.annotate(
            f"{int(row['n'])}",
            (row["mean_pred"], row["frac_pos"]),
            fontsize=6,
            xytext=(3, -8),
            textcoords="offset points",
        )
    ax.set(
        xlabel="mean predicted probability",
        ylabel="observed churn rate",
        xlim=(0, 1),
        ylim=(0, 1),
        title="Calibration (equal-width bins, n per bin)",
    )
    ax.legend(loc="upper left", fontsize=8)
    _save(fig, target)


def slices_png(
    slices: Mapping[str, Mapping[str, Any]], overall: Mapping[str, Any], target: str | Path
) -> None:
    evaluated = [(k, v) for k, v in slices.items() if not v["skipped"]]
    skipped = [(k, v) for k, v in slices.items() if v["skipped"]]
    height = 1.2 + 0.4 * max(1, len(evaluated)) + 0.25 * len(skipped)
    fig, ax = plt.subplots(figsize=(6.5, height))
    ys = np.arange(len(evaluated))[::-1]
    for y, (_, m) in zip(ys, evaluated, strict=True):
        ax.errorbar(
            m["roc_auc"],
            y,
            xerr=[[m["roc_auc"] - m["roc_auc_ci_low"]], [m["roc_auc_ci_high"] - m["roc_auc"]]],
            fmt="o",
            capsize=3,
            c="tab:blue",
        )
    ax.axvline(overall["roc_auc"], ls="--", c="grey", lw=0.8, label="overall")
    ax.set_yticks(ys, [f"{k} (n={v['n']:,})" for k, v in evaluated])
    ax.set(xlabel="ROC AUC with 95% DeLong CI", title="ROC AUC by slice")
    ax.legend(loc="lower left", fontsize=8)
    if skipped:
        note = "skipped: " + "; ".join(f"{k} ({v['skip_reason']})" for k, v in skipped)
        fig.text(0.01, 0.005, note, fontsize=6, wrap=True)
    fig.tight_layout(rect=(0, 0.04 if skipped else 0, 1, 1))
    _save(fig, target)
