"""One reader of model names: the keyword, GTO refs, commits and paths, with their precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.errors import ArtifactError
from mlgate.model_ref import resolve_model
from mlgate.params import ChampionParams
from mlgate.serving.loading import load_service

from .conftest import CONTRACT, git


def _copy_model(source: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("model.joblib", "model.json"):
        (dest / name).write_bytes((source / name).read_bytes())


@pytest.fixture
def repo(tmp_path: Path, model_dir: Path) -> Path:
    """A git repo with models/ committed, v0.0.1 registered and in 'prod', and a champion/
    folder like the project's (the champion stage's dvc.yaml, no model)."""
    import gto.api

    root = tmp_path / "repo"
    _copy_model(model_dir, root / "models")
    (root / "contracts").mkdir()
    (root / "contracts" / "churn.yaml").write_bytes(CONTRACT.read_bytes())
    (root / "champion").mkdir()
    (root / "champion" / "dvc.yaml").write_text("stages: {}\n")
    git(root, "init", "-q")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    git(root, "add", ".")
    git(root, "commit", "-qm", "model")
    gto.api.register(str(root), "churn-model", "HEAD", version="v0.0.1")
    gto.api.assign(str(root), "churn-model", "prod", version="v0.0.1")
    return root


def test_champion_is_the_keyword_even_with_a_champion_folder(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    ref = resolve_model("champion", root=repo)
    assert ref.kind == "champion" and ref.champion is not None
    assert ref.champion.commit == head and ref.champion.version == "v0.0.1"
    # Even a champion/ folder that holds a model does not take the keyword's place ...
    _copy_model(repo / "models", repo / "champion")
    assert resolve_model("champion", root=repo).kind == "champion"
    # ... it is reached with explicit path syntax.
    for name in ("./champion", "champion/"):
        assert resolve_model(name, root=repo).path == repo / name.strip("./")


def test_gto_refs_commits_and_paths(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    by_stage = resolve_model("churn-model#prod", root=repo)
    assert by_stage.kind == "stage" and by_stage.champion is not None
    assert by_stage.champion.commit == head
    for name in ("churn-model@v0.0.1", head, head[:10], "HEAD", "churn-model#prod#1"):
        ref = resolve_model(name, root=repo)
        assert ref.kind == "ref" and ref.champion is not None and ref.champion.commit == head
    assert resolve_model("models", root=repo).path == repo / "models"
    assert resolve_model(str(repo / "models"), root=repo).concrete == str(repo / "models")
    assert resolve_model("churn-model#prod", root=repo).concrete == head


def test_ambiguous_name_names_both_readings(repo: Path) -> None:
    git(repo, "branch", "models")
    with pytest.raises(ArtifactError) as info:
        resolve_model("models", root=repo)
    message = str(info.value)
    assert "ambiguous" in message and str(repo / "models") in message
    assert "git ref 'models'" in message and "'./models'" in message
    assert resolve_model("./models", root=repo).kind == "path"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("no-such-thing", ["neither a model path nor a git ref"]),
        ("contracts", ["holds no model"]),
        ("./missing", ["does not exist"]),
        ("churn-model#staging", ["no version of 'churn-model'", "'staging'"]),
        ("other-model#prod", ["no version of 'other-model'"]),
        ("", ["empty"]),
    ],
)
def test_unresolvable_names_say_why(repo: Path, name: str, words: list[str]) -> None:
    with pytest.raises(ArtifactError) as info:
        resolve_model(name, root=repo)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_champion_without_a_champion_is_an_error(repo: Path) -> None:
    cfg = ChampionParams(artifact="never-registered")
    with pytest.raises(ArtifactError, match="no champion yet"):
        resolve_model("champion", root=repo, champion=cfg)


def test_services_load_the_champion_by_keyword_and_by_stage(repo: Path) -> None:
    for name, source in (("champion", "champion"), ("churn-model#prod", "stage")):
        identity = load_service(name, root=repo, contract="contracts/churn.yaml").identity
        assert (identity.source, identity.registry_version) == (source, "v0.0.1")
