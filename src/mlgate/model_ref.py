"""One way to read a model name, for every command that takes one.

``mlgate serve --model``, ``mlgate shadow`` / ``canary`` ``--champion`` / ``--candidate`` and
the API servers they start all call :func:`resolve_model`. A name is read in this order, the
first rule that applies deciding:

1. ``champion``: the keyword. The model the gate compares against, found as the gate finds it
   (``gate.champion``: explicit ref, else the GTO stage holder, else the branch). A file or
   folder called ``champion`` (the repository has one: the champion stage's dvc.yaml) never
   takes its place; write ``./champion`` for a folder of that name.
2. Explicit path syntax (``./x``, ``../x``, ``/x``, ``~/x``, ``x/``, ``*.joblib``): a path
   only, never a git ref.
3. ``ARTIFACT#STAGE`` (one ``#``, e.g. ``churn-model#prod``): the version GTO has in that
   stage now.
4. Anything else is read both as a path holding a model and as a git ref (a GTO version tag
   such as ``churn-model@v0.0.2``, a GTO event tag, a branch, a commit): exactly one reading
   must exist. Both existing is an error naming both, so a folder can never silently shadow a
   ref (or the reverse).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlgate.champion import Champion, gto_champion, resolve_champion
from mlgate.errors import ArtifactError, GateError
from mlgate.params import ChampionParams
from mlgate.repo.git import rev_parse

__all__ = ["KEYWORD", "ModelRef", "has_model_files", "resolve_model"]

KEYWORD = "champion"
MODEL_NAME, META_NAME = "model.joblib", "model.json"
_PATH_PREFIXES = ("./", "../", "/", "~")


@dataclass(frozen=True)
class ModelRef:
    """A resolved model name: a local path, or a commit whose committed model is meant."""

    name: str  # what the user wrote
    kind: str  # "path" | "champion" | "stage" | "ref"
    path: Path | None = None  # kind == "path"
    champion: Champion | None = None  # every other kind: the commit and how it was found

    @property
    def concrete(self) -> str:
        """A name that resolves to the same model anywhere (for server processes): an
        explicit absolute path, or the full commit hash."""
        if self.path is not None:
            return str(self.path.resolve())
        assert self.champion is not None
        return self.champion.commit


def has_model_files(path: Path) -> bool:
    """A model directory (model.joblib + model.json) or a .joblib file with its .json."""
    if path.is_dir():
        return (path / MODEL_NAME).is_file() and (path / META_NAME).is_file()
    return path.suffix == ".joblib" and path.is_file() and path.with_suffix(".json").is_file()


def _explicit_path(name: str) -> bool:
    return name.startswith(_PATH_PREFIXES) or name.endswith(("/", ".joblib"))


def _local(name: str, root: Path) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else root / path


def _as_path(name: str, root: Path) -> ModelRef:
    path = _local(name, root)
    if not has_model_files(path):
        what = "does not exist" if not path.exists() else "holds no model"
        raise ArtifactError(
            f"model '{name}': {path} {what}; expected a directory with {MODEL_NAME} and "
            f"{META_NAME} (e.g. models/) or a .joblib file with its .json beside it"
        )
    return ModelRef(name, "path", path=path)


def _champion(name: str, root: Path, cfg: ChampionParams) -> ModelRef:
    try:
        found = resolve_champion(root, cfg)
    except GateError as exc:
        raise ArtifactError(f"model 'champion': {exc}") from None
    if found is None:
        raise ArtifactError(
            f"model 'champion': there is no champion yet: no GTO stage '{cfg.stage}' for "
            f"'{cfg.artifact}' and no gate.champion.ref or branch in params.yaml "
            "(`mlgate promote` assigns the stage)"
        )
    return ModelRef(name, "champion", champion=found)


def _stage(name: str, root: Path) -> ModelRef:
    artifact, stage = name.split("#")
    try:
        found = gto_champion(root, artifact=artifact, stage=stage)
    except GateError as exc:
        raise ArtifactError(f"model '{name}': {exc}") from None
    if found is None:
        raise ArtifactError(
            f"model '{name}': no version of '{artifact}' is in GTO stage '{stage}'"
        )
    return ModelRef(name, "stage", champion=found)


def resolve_model(
    name: str, *, root: str | Path = ".", champion: ChampionParams | None = None
) -> ModelRef:
    """Read ``name`` by the rules in the module docstring; ArtifactError says why not."""
    root = Path(root)
    name = name.strip()
    if not name:
        raise ArtifactError("model name is empty; expected 'champion', a git ref or a path")
    if name == KEYWORD:
        return _champion(name, root, champion or ChampionParams())
    if _explicit_path(name):
        return _as_path(name, root)
    if name.count("#") == 1 and all(name.split("#")):
        return _stage(name, root)
    path = _local(name, root)
    is_model = has_model_files(path)
    commit = rev_parse(root, name)
    if is_model and commit is not None:
        raise ArtifactError(
            f"model '{name}' is ambiguous: it is both the model at {path} and the git ref "
            f"'{name}' (commit {commit[:10]}); write './{name}' for the path, or the full "
            "commit hash for the ref"
        )
    if is_model:
        return ModelRef(name, "path", path=path)
    if commit is not None:
        return ModelRef(name, "ref", champion=Champion(ref=name, commit=commit, source="ref"))
    hint = f" ({path} exists but holds no model)" if path.exists() else ""
    raise ArtifactError(
        f"model '{name}' is neither a model path nor a git ref in {root}{hint}; expected "
        "'champion', a GTO ref (churn-model#prod, churn-model@v0.0.2), a commit, or a "
        "directory with model.joblib and model.json (e.g. models)"
    )
