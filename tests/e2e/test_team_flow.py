"""CI rehearsal: a team with a bare git origin and a real (local directory) DVC remote.

A maintainer runs the pipeline, promotes the model, pushes the tags and the DVC cache.
Contributors push two branches: a better model, and a worse model with forged evidence:
params changed, dvc.lock rewritten to match them and the champion record, the champion's
own promote decision left in metrics/gate.json, so a plain `dvc repro` reruns nothing and
reads "promote". For each, a fresh clone runs exactly the pull-request steps of
.github/workflows/mlgate.yml (read from the file; the install step aside, this venv is used,
and the CML steps need the npm package): pull/fetch from the DVC remote, reproduce, check,
fail unless promote. The job must pass for the better model only, and its reject of the
forged branch is the worse model's own decision. Three pipeline runs in all, on 4,000 rows.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import REPO_ROOT, VENV_BIN, PipelineRepo, _env

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

WORKFLOW = REPO_ROOT / ".github/workflows/mlgate.yml"
# A deliberately weak champion (strong regularisation): holdout AUC ~0.858 on these 4,000
# rows, over every floor and behavioral test. C=1 gains ~0.008 (> gate.min_delta 0.005);
# dropping support_tickets loses ~0.05.
CHAMPION = {
    "train.estimator": "logistic_regression",
    "train.hyperparams.logistic_regression": {"C": 0.01, "max_iter": 1000},
    "behavioral.max_rows": 1000,
}
BETTER = {"train.hyperparams.logistic_regression": {"C": 1.0, "max_iter": 1000}}
WORSE = {"features.numeric": ["tenure_months", "monthly_spend", "is_enterprise"]}


def mlgate(repo: PipelineRepo, *args: str) -> subprocess.CompletedProcess[str]:
    proc = repo.run(VENV_BIN / "mlgate", *args, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def clone(origin: Path, dest: Path, branch: str = "main") -> PipelineRepo:
    subprocess.run(
        ["git", "clone", "--quiet", "--branch", branch, str(origin), str(dest)],
        check=True,
        capture_output=True,
        env=_env(dest),
    )
    return PipelineRepo(dest, _env(dest))


def pull_request_job(repo: PipelineRepo) -> tuple[bool, str, str]:
    """Run the workflow's `gate` job steps in ``repo``: (job passed, exit_code output, log)."""
    steps = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["gate"]["steps"]
    outputs: dict[str, dict[str, str]] = {}
    log = []
    for step in steps:
        script = str(step.get("run", ""))
        if not script or "make .venv" in script or re.search(r"\bcml\b", script):
            continue  # actions (checkout, setup-python), the install step, CML
        condition = step.get("if")
        if condition is not None:
            assert condition == "steps.gate.outputs.exit_code != '0'", condition
            if outputs["gate"]["exit_code"] == "0":
                continue
        github_output = repo.path.parent / f"{repo.path.name}-github-output"
        github_output.write_text("")
        proc = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=repo.path,
            env={**repo.env, "GITHUB_OUTPUT": str(github_output)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        log.append(f"$ {step['name']}\n{proc.stdout}{proc.stderr}")
        if "id" in step:
            lines = github_output.read_text().splitlines()
            outputs[step["id"]] = dict(line.split("=", 1) for line in lines)
        if proc.returncode != 0:
            return False, outputs.get("gate", {}).get("exit_code", "?"), "\n".join(log)
    return True, outputs["gate"]["exit_code"], "\n".join(log)


def forge_worse(repo: PipelineRepo) -> None:
    """A worse model's params, with dvc.lock claiming they were run and the gate promoted.

    The forger records the real champion (`dvc repro` of that cheap stage), makes the old
    decision name it, and rewrites, as DVC's own YAML, the params and both files' md5s in
    dvc.lock so that nothing looks changed.
    """
    from ruamel.yaml import YAML

    repo.set_params(WORSE)
    repo.repro("champion/dvc.yaml")
    record = (repo.path / "metrics/champion.json").read_bytes()
    # The decision claims to be against that champion, so `promote` finds nothing stale.
    gate = repo.metrics("gate")
    gate["champion"] = {k: v for k, v in json.loads(record).items() if k != "found"}
    decision = json.dumps(gate, indent=2).encode()
    (repo.path / "metrics/gate.json").write_bytes(decision)
    features = YAML(typ="safe", pure=True).load(repo.path / "params.yaml")["features"]
    rt = YAML()
    lock = rt.load(repo.path / "dvc.lock")
    files = {"metrics/champion.json": record, "metrics/gate.json": decision}
    for stage in lock["stages"].values():
        params = (stage.get("params") or {}).get("params.yaml") or {}
        for key in params:  # `features` whole, or key by key (`features.numeric`, ...)
            if key == "features":
                params[key] = features
            elif key.startswith("features."):
                params[key] = features[key.split(".", 1)[1]]
        for item in [*(stage.get("deps") or []), *(stage.get("outs") or [])]:
            if item["path"] in files:
                data = files[item["path"]]
                item["md5"] = hashlib.md5(data, usedforsecurity=False).hexdigest()
                item["size"] = len(data)
    rt.dump(lock, repo.path / "dvc.lock")


def test_team_flow_in_ci_decides_against_the_fetched_champion(
    foundation_repo: PipelineRepo, tmp_path: Path
) -> None:
    origin, storage = tmp_path / "origin.git", tmp_path / "dvc-storage"
    subprocess.run(["git", "init", "--quiet", "--bare", str(origin)], check=True)

    # ---- the maintainer: run, promote, push code + tags, push the DVC cache
    maintainer = foundation_repo.clone(tmp_path / "maintainer")
    maintainer.dvc("remote", "add", "-d", "storage", str(storage))
    maintainer.set_params(CHAMPION)
    maintainer.repro()
    champion = maintainer.commit("champion: regularised logistic regression")
    checked = mlgate(maintainer, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "(metrics/gate.json, verified)" in checked.stdout
    (maintainer.path / "NOTES.md").write_text("release notes\n")
    maintainer.commit("notes")  # promote the run's commit, not HEAD: a temporary worktree
    promoted = mlgate(maintainer, "promote", "--rev", champion)
    assert promoted.returncode == 0, promoted.stderr
    assert maintainer.git("worktree", "list").stdout.count("\n") == 1
    maintainer.git("remote", "add", "origin", str(origin))
    maintainer.git("push", "--quiet", "origin", "main", "--tags")
    maintainer.dvc("push")

    # ---- contributors: each pushes a branch (the CI run reproduces it)
    contributor = clone(origin, tmp_path / "contributor")
    # A fresh clone holds the decision but none of its evidence: not verified, and says why.
    fresh = mlgate(contributor, "check")
    assert fresh.returncode == 2, fresh.stdout + fresh.stderr
    assert "read, NOT verified" in fresh.stdout and "next: `dvc pull" in fresh.stderr
    contributor.git("checkout", "--quiet", "-b", "better")
    contributor.set_params(BETTER)
    contributor.commit("C=1")
    contributor.git("checkout", "--quiet", "-b", "forged", "main")
    contributor.dvc("pull", "--quiet")
    forge_worse(contributor)
    contributor.commit("without support_tickets (forged run)")
    plain = contributor.repro().stdout  # what CI ran before: nothing but the champion record
    assert "Running stage 'train'" not in plain and "Running stage 'gate'" not in plain, plain
    assert contributor.metrics("gate")["promote"] is True
    local = mlgate(contributor, "check")  # the gate, rerun on this evidence, disagrees
    assert local.returncode == 2 and "stored 'promote', recomputed 'reject'" in local.stderr
    refused = mlgate(contributor, "promote")
    assert refused.returncode == 2 and "recomputed 'reject'" in refused.stderr
    contributor.git("push", "--quiet", "origin", "better", "forged")

    # ---- CI: a fresh clone per pull request runs the workflow's steps
    for branch, expected in (("better", "0"), ("forged", "1")):
        ci = clone(origin, tmp_path / f"ci-{branch}", branch)
        passed, code, log = pull_request_job(ci)
        assert (passed, code) == (expected == "0", expected), log
        assert "Running stage 'train'" in log  # forced: never the PR's dvc.lock
        gate = ci.metrics("gate")
        assert gate["champion"]["commit"] == champion, log  # the champion it fetched
        if branch == "better":
            assert gate["comparison"]["auc_delta"] > 0.005, gate["summary"]
        else:
            assert "auc_improvement" in gate["failed"], gate["summary"]  # the worse model
