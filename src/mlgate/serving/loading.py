"""Load the model to serve from a path or a git ref, always through the integrity check.

``model`` is read by :func:`mlgate.model_ref.resolve_model` (the one reader of model names):
``champion`` (the gate's champion), ``ARTIFACT#STAGE``, a git ref or commit, or a path. A model
from a ref is read as committed there, from git and the DVC cache, never from the work tree.

A model from a ref is validated with the contract committed at that ref (its own contract in
production), falling back to the work tree's contract when the ref has none.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandera.pandas as pa

from mlgate import paths
from mlgate.champion import Champion, RevisionReader
from mlgate.data.contract import load_contract
from mlgate.errors import ArtifactError
from mlgate.model import load_model, required_columns
from mlgate.model_ref import resolve_model
from mlgate.params import ChampionParams
from mlgate.repo import git
from mlgate.serving.derive import derive_request_schema
from mlgate.serving.service import ModelIdentity, ScoringService

__all__ = ["MODEL_FILE", "META_FILE", "load_service", "model_files"]

MODEL_FILE, META_FILE = paths.MODEL, paths.MODEL_META


def model_files(path: str | Path) -> tuple[Path, Path]:
    """(model, metadata) paths for a model directory or a ``.joblib`` file."""
    path = Path(path)
    if path.is_dir():
        return path / Path(MODEL_FILE).name, path / Path(META_FILE).name
    return path, path.with_suffix(".json")


def load_service(
    model: str,
    *,
    root: str | Path = ".",
    contract: str = paths.CONTRACT,
    champion: ChampionParams | None = None,
    max_records: int = 1000,
    threads: int = 1,
) -> ScoringService:
    """Resolve ``model`` (path, ``champion`` or git ref), verify and load it, derive its schema."""
    root = Path(root)
    cfg = champion or ChampionParams()
    ref = resolve_model(model, root=root, champion=cfg)
    if ref.path is not None:
        model_path, meta_path = model_files(ref.path)
        pipeline, meta = load_model(model_path, meta_path)
        contract_path = Path(contract) if Path(contract).is_absolute() else root / contract
        identity = ModelIdentity(
            version=f"sha256:{meta['sha256'][:12]}",
            sha256=meta["sha256"],
            source="path",
            ref=str(ref.path),
            commit=git.rev_parse(root, "HEAD"),
            contract=str(contract_path),
        )
        schema_source = load_contract(contract_path)
    else:
        assert ref.champion is not None
        resolved = ref.champion
        pipeline, meta, schema_source, contract_from = _load_at(root, resolved, contract)
        version = resolved.version or _gto_version(root, resolved.commit, cfg.artifact)
        identity = ModelIdentity(
            version=version or resolved.ref,
            sha256=meta["sha256"],
            source=ref.kind,
            ref=resolved.ref,
            commit=resolved.commit,
            contract=contract_from,
            registry_version=version,
        )
    schema = derive_request_schema(
        schema_source, required_columns(pipeline), max_records=max_records
    )
    return ScoringService(pipeline, meta, schema, identity, threads=threads)


def _load_at(
    root: Path, resolved: Champion, contract: str
) -> tuple[Any, dict[str, Any], pa.DataFrameSchema, str]:
    reader = RevisionReader(root, resolved)
    with tempfile.TemporaryDirectory(prefix="mlgate-serve-") as tmp:
        model_path, meta_path = Path(tmp, "model.joblib"), Path(tmp, "model.json")
        model_path.write_bytes(reader.read_bytes(MODEL_FILE))
        meta_path.write_bytes(reader.read_bytes(META_FILE))
        pipeline, meta = load_model(model_path, meta_path)
        try:
            contract_path = Path(tmp, "contract.yaml")
            contract_path.write_bytes(reader.read_bytes(contract))
            contract_from = f"{contract}@{resolved.commit[:10]}"
        except ArtifactError:
            contract_path = Path(contract) if Path(contract).is_absolute() else root / contract
            contract_from = str(contract_path)
        schema_source = load_contract(contract_path)
    return pipeline, meta, schema_source, contract_from


def _gto_version(root: Path, commit: str, artifact: str) -> str | None:
    """The newest GTO version tag (``artifact@vX.Y.Z``) on ``commit``, if any."""
    proc = git.run(root, "tag", "--points-at", commit, "--sort=-creatordate", f"{artifact}@*")
    tags = [t for t in proc.stdout.decode().split() if t.startswith(f"{artifact}@")]
    return tags[0].split("@", 1)[1] if tags else None
