"""Stage `report`: turn the metric files and plots into report.md (posted on PRs by CML).

Every input is optional: an unreadable or missing file is shown as missing in the report, so
the reviewer always gets a report that says what it could not see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgate import log, paths
from mlgate.errors import MlgateError
from mlgate.io import read_json, write_json, write_text
from mlgate.report import INPUTS, PLOTS, build_report
from mlgate.report_format import Unavailable
from mlgate.stage import run
from mlgate.summary import SOURCES, SUMMARY, headline

OUT = paths.REPORT


def _read(path: str) -> dict[str, Any] | Unavailable:
    try:
        data = read_json(path, what="metrics file")
    except MlgateError as exc:
        return Unavailable(str(exc))
    return data if isinstance(data, dict) else Unavailable(f"{path} is not a JSON object")


def main() -> None:
    inputs = {key: _read(path) for key, path in INPUTS.items()}
    plots = {title: path if Path(path).is_file() else None for title, path in PLOTS.items()}
    write_text(OUT, build_report(inputs, plots=plots))
    # The headline numbers DVC shows (the only declared metric); see mlgate.summary.
    parsed = {k: _read(path) for k, path in SOURCES.items()}
    write_json(SUMMARY, headline({k: v for k, v in parsed.items() if isinstance(v, dict)}))
    missing = [INPUTS[k] for k, v in inputs.items() if isinstance(v, Unavailable)]
    missing += [SOURCES[k] for k, v in parsed.items() if not isinstance(v, dict)]
    missing = list(dict.fromkeys(missing))  # gate/holdout/... are read for both outputs
    missing += [p for p, link in zip(PLOTS.values(), plots.values(), strict=True) if not link]
    log.info(
        f"report: wrote {OUT} and {SUMMARY}"
        + (f"; missing: {', '.join(missing)}" if missing else "")
    )


if __name__ == "__main__":
    run(main)
