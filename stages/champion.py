"""Stage `champion`: resolve which commit is the champion and record it.

It runs on every `dvc repro` (always_changed) because the champion lives in git tags, which
DVC cannot watch; drift and gate depend on the file it writes, so they rerun only when the
champion actually moved. It is declared in champion/dvc.yaml, which says why.
"""

from __future__ import annotations

from mlgate import log, paths
from mlgate.champion import resolve_champion
from mlgate.errors import GateError
from mlgate.io import write_json
from mlgate.params import load_params
from mlgate.stage import run

OUT = paths.CHAMPION


def main() -> None:
    cfg = load_params().gate.champion
    try:
        champion = resolve_champion(".", cfg)
    except GateError as exc:
        # Recorded, not raised: the gate turns an unresolvable champion into a rejection.
        write_json(OUT, {"found": False, "error": str(exc)})
        log.info(f"champion: {exc}")
        return
    if champion is None:
        write_json(OUT, {"found": False, "error": None})
        log.info(
            "champion: none (no explicit ref, no GTO stage "
            f"'{cfg.stage}' for '{cfg.artifact}', no branch configured)"
        )
        return
    write_json(OUT, {"found": True, **champion.to_dict()})
    log.info(f"champion: {champion.ref} at {champion.commit[:10]} (via {champion.source})")


if __name__ == "__main__":
    run(main)
