"""Every GTO call mlgate makes, with GTO's many exception types turned into RegistryError.

GTO keeps the registry in plain git tags (``churn-model@v0.0.2`` registers a version,
``churn-model#prod#3`` assigns the stage, ``churn-model#prod!#4`` unassigns it). GTO is
imported inside the functions: importing it costs most of a second.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate.errors import RegistryError
from mlgate.repo import git

_STAGE_TAG = re.compile(r"#(?P<stage>[^#!]+)(?P<un>!?)#(?P<n>\d+)$")


@dataclass(frozen=True)
class StageEvent:
    """One assignment or unassignment of the stage, as GTO records it in a tag."""

    number: int  # GTO's per-stage counter in the tag name: the order of events
    event: str  # "assignment" | "unassignment"
    version: str
    commit: str
    timestamp: dt.datetime
    message: str
    tag: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "event": self.event,
            "version": self.version,
            "commit": self.commit,
            "timestamp": self.timestamp.isoformat(),
            "message": self.message,
            "tag": self.tag,
        }


@dataclass(frozen=True)
class ChampionVersion:
    version: str
    commit: str
    tag: str  # the assignment tag that made it the champion
    promoted_at: dt.datetime
    commit_date: str | None


def call(what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` (a ``gto.api`` function); RegistryError saying ``what`` failed."""
    from gto.exceptions import GTOException

    try:
        return func(*args, **kwargs)
    except GTOException as exc:
        raise RegistryError(f"GTO could not {what}: {exc}") from exc
    except Exception as exc:  # git failures surface as GitPython / scmrepo errors
        raise RegistryError(f"GTO could not {what}: {type(exc).__name__}: {exc}") from exc


def find_in_stage(root: str | Path, artifact: str, stage: str) -> Any:
    """GTO's version record holding ``stage`` for ``artifact``, or None (none registered)."""
    import gto.api
    from gto.exceptions import ArtifactNotFound

    try:
        found = gto.api.find_versions_in_stage(str(root), artifact, stage)
    except ArtifactNotFound:
        return None  # nothing registered yet: no champion, not an error
    except Exception as exc:  # gto raises many types for a repo without tags or a bad name
        raise RegistryError(f"GTO could not read stage '{stage}' of '{artifact}': {exc}") from exc
    if not found:
        return None
    return found[0] if isinstance(found, list) else found


def current_champion(root: str | Path, *, artifact: str, stage: str) -> ChampionVersion | None:
    """The version GTO reports in ``stage`` (what the pipeline's champion stage resolves)."""
    head = find_in_stage(root, artifact, stage)
    if head is None:
        return None
    last = head.assignments[-1] if head.assignments else None
    return ChampionVersion(
        version=head.version,
        commit=head.commit_hexsha,
        tag=last.tag if last else f"{artifact}#{stage}",
        promoted_at=last.created_at if last else dt.datetime.fromtimestamp(0, dt.UTC),
        commit_date=git.commit_date(root, head.commit_hexsha),
    )


def registered_versions(root: str | Path, artifact: str) -> list[dict[str, Any]]:
    """GTO's registered versions of ``artifact`` (those with a registration tag)."""
    import gto.api
    from gto.exceptions import ArtifactNotFound

    try:
        versions = gto.api.show(str(root), artifact)
    except ArtifactNotFound:
        return []
    except Exception as exc:
        raise RegistryError(f"GTO could not list versions of '{artifact}': {exc}") from exc
    return [v for v in versions if v.get("registrations")]


def stage_history(root: str | Path, *, artifact: str, stage: str) -> list[StageEvent]:
    """Assignments and unassignments of ``stage``, oldest first (ordered by GTO's counter)."""
    import gto.api

    events = call("read the registry history", gto.api.history, str(root), artifact)
    out = []
    for e in events:
        if e.get("stage") != stage or e.get("event") not in ("assignment", "unassignment"):
            continue
        match = _STAGE_TAG.search(str(e.get("ref", "")))
        out.append(
            StageEvent(
                number=int(match["n"]) if match else 0,
                event=str(e["event"]),
                version=str(e.get("version")),
                commit=str(e.get("commit")),
                timestamp=e["timestamp"],
                message=str(e.get("message") or "").strip(),
                tag=str(e.get("ref", "")),
            )
        )
    return sorted(out, key=lambda e: (e.number, e.timestamp))


def register(root: str | Path, artifact: str, commit: str, *, bump: bool, message: str) -> str:
    """Register a new version of ``artifact`` at ``commit``; its version name."""
    import gto.api

    event = call(
        f"register a version of '{artifact}' at {commit[:10]}",
        gto.api.register,
        str(root),
        artifact,
        commit,
        bump_patch=bump,
        message=message,
    )
    return str(event.version)


def assign(root: str | Path, artifact: str, stage: str, version: str, message: str) -> str:
    """Assign ``stage`` to ``version``; the tag GTO wrote."""
    import gto.api

    event = call(
        f"assign '{stage}' to {artifact} {version}",
        gto.api.assign,
        str(root),
        artifact,
        stage,
        version=version,
        message=message,
    )
    return str(event.tag)


def unassign(root: str | Path, artifact: str, stage: str, version: str, message: str) -> None:
    """Take ``stage`` from ``version``."""
    import gto.api

    call(
        f"unassign '{stage}' from {artifact} {version}",
        gto.api.unassign,
        str(root),
        artifact,
        stage=stage,
        version=version,
        message=message,
    )
