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
    # The report and the summary share most files (same key, same path): read each once.
    files = {**INPUTS, **SOURCES}
    read = {key: _read(path) for key, path in files.items()}
    plots = {title: path if Path(path).is_file() else None for title, path in PLOTS.items()}
    write_text(OUT, build_report({k: read[k] for k in INPUTS}, plots=plots))
    # The headline numbers DVC shows (the only declared metric); see mlgate.summary.
    parsed = {k: read[k] for k in SOURCES}
    write_json(SUMMARY, headline({k: v for k, v in parsed.items() if isinstance(v, dict)}))
    missing = [files[k] for k, v in read.items() if isinstance(v, Unavailable)]
    missing += [p for p, link in zip(PLOTS.values(), plots.values(), strict=True) if not link]
    log.info(
        f"report: wrote {OUT} and {SUMMARY}"
        + (f"; missing: {', '.join(missing)}" if missing else "")
    )


if __name__ == "__main__":
    run(main)
