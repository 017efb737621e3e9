"""Find the champion (a git ref) and read its committed evidence through DVC.

Resolution order: an explicit ref from params; the commit GTO marks with the configured
stage for the model artifact (tags ``churn-model#prod#N``); a configured branch; otherwise
there is no champion. Files are read at the champion's commit with ``DVCFileSystem``: git for
git-tracked metrics, the local DVC cache (or a remote) for DVC outputs, never the work tree.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate.errors import ArtifactError, GateError, RegistryError
from mlgate.io import write_json
from mlgate.params import ChampionParams
from mlgate.repo import git, gto


@dataclass(frozen=True)
class Champion:
    ref: str  # what was resolved: the explicit ref, the GTO tag, or the branch
    commit: str  # full hexsha
    source: str  # "param" | "gto" | "branch"
    version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "commit": self.commit,
            "source": self.source,
            "version": self.version,
        }


def _gto_tags(root: str | Path, artifact: str) -> str:
    """GTO's tags for ``artifact`` (``name@version...``, ``name#stage#N``...) with the objects
    they point at, one per line; everything GTO's stage answer is computed from."""
    try:
        return git.tag_refs(root, f"refs/tags/{artifact}@*", f"refs/tags/{artifact}#*")
    except RegistryError as exc:
        raise GateError(f"git cannot list the tags of {root}: {exc}") from exc


def _memo_path(root: str | Path) -> Path:
    return Path(root) / ".dvc" / "tmp" / "mlgate-champion.json"


def gto_champion(root: str | Path, *, artifact: str, stage: str) -> Champion | None:
    """The commit currently holding ``stage`` for ``artifact`` in GTO, if any.

    The champion stage runs on every `dvc repro`, and importing GTO costs most of a second.
    GTO's answer is a function of the artifact's tags (names and the objects they point at),
    its config file and its version, so: no tags at all means no stage assigned (GTO is not
    even imported), and otherwise the last answer is reused while that input is unchanged.
    The memo lives in .dvc/tmp (never committed); an unreadable memo is recomputed.
    """
    tags = _gto_tags(root, artifact)
    if not tags:
        return None
    from importlib import metadata as importlib_metadata

    gto_config = Path(root, ".gto")
    key = hashlib.sha256(
        "\0".join(
            [
                artifact,
                stage,
                tags,
                gto_config.read_text(encoding="utf-8") if gto_config.is_file() else "",
                importlib_metadata.version("gto"),
            ]
        ).encode()
    ).hexdigest()
    memo = _memo_path(root)
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        cached = json.loads(memo.read_text(encoding="utf-8"))
        if cached["key"] == key:
            return None if cached["champion"] is None else Champion(**cached["champion"])
    found = _ask_gto(root, artifact=artifact, stage=stage)
    if memo.parent.parent.is_dir():  # only inside a DVC repo, whose .dvc/.gitignore has tmp
        with contextlib.suppress(OSError):
            write_json(memo, {"key": key, "champion": None if found is None else found.to_dict()})
    return found


def _ask_gto(root: str | Path, *, artifact: str, stage: str) -> Champion | None:
    try:
        head = gto.find_in_stage(root, artifact, stage)
    except RegistryError as exc:
        raise GateError(str(exc)) from exc
    if head is None:
        return None
    tag = head.assignments[-1].tag if head.assignments else f"{artifact}#{stage}"
    return Champion(ref=tag, commit=head.commit_hexsha, source="gto", version=head.version)


def resolve_champion(root: str | Path, cfg: ChampionParams) -> Champion | None:
    """Apply the resolution order; an explicit ref or branch that does not exist is an error."""
    if cfg.ref:
        commit = git.rev_parse(root, cfg.ref)
        if commit is None:
            raise GateError(f"gate.champion.ref '{cfg.ref}' is not a commit in this repository")
        return Champion(ref=cfg.ref, commit=commit, source="param")
    found = gto_champion(root, artifact=cfg.artifact, stage=cfg.stage)
    if found is not None:
        return found
    if cfg.branch:
        commit = git.rev_parse(root, cfg.branch)
        if commit is None:
            raise GateError(f"gate.champion.branch '{cfg.branch}' does not exist")
        return Champion(ref=cfg.branch, commit=commit, source="branch")
    return None


class RevisionReader:
    """Read files as committed at one revision (git or DVC cache), with actionable errors."""

    def __init__(self, root: str | Path, champion: Champion) -> None:
        from dvc.api import DVCFileSystem

        self.root = str(root)
        self.champion = champion
        try:
            self.fs = DVCFileSystem(self.root, rev=champion.commit)
        except Exception as exc:
            raise ArtifactError(
                f"cannot open champion {champion.ref} ({champion.commit[:10]}): {exc}"
            ) from exc

    def _not_retrieved(self, where: str, exc: Exception) -> ArtifactError:
        return ArtifactError(
            f"{where}: cannot be retrieved from the DVC cache ({type(exc).__name__}: {exc}). "
            f"Fetch it with `git checkout {self.champion.commit[:10]} && dvc pull` "
            "(or `dvc fetch --all-tags -r <remote>`), then rerun"
        )

    def download(self, path: str, dest: Path) -> Path:
        """Copy ``path`` (a file, or a directory such as a Spark-written Parquet dataset) as
        committed at the champion to ``dest``; errors as :meth:`read_bytes`."""
        where = f"{path} at champion {self.champion.ref} ({self.champion.commit[:10]})"
        try:
            if not self.fs.exists(path):
                raise ArtifactError(f"{where}: not committed at that revision")
            if not self.fs.isdir(path):
                dest.write_bytes(self.read_bytes(path))
                return dest
            self.fs.get(path, str(dest), recursive=True)
            return dest
        except ArtifactError:
            raise
        except Exception as exc:  # DVC raises its own types for a missing cache entry
            raise self._not_retrieved(where, exc) from exc

    def read_bytes(self, path: str) -> bytes:
        where = f"{path} at champion {self.champion.ref} ({self.champion.commit[:10]})"
        try:
            if not self.fs.exists(path):
                raise ArtifactError(f"{where}: not committed at that revision")
            return bytes(self.fs.read_bytes(path))
        except ArtifactError:
            raise
        except Exception as exc:  # DVC raises its own types for a missing cache entry
            raise self._not_retrieved(where, exc) from exc
