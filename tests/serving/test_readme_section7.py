"""README section 7 ("Serve, shadow and canary"), run verbatim after sections 1-2.

The fenced ``bash`` blocks of the section are extracted from README.md and run with
``bash -e`` in a copy of the reproduced reliability pipeline whose first commit was promoted
with `mlgate promote` (a real GTO ``prod`` stage), so the ``champion`` keyword is resolved as
a user's would be, next to the repository's ``champion/`` folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO_ROOT, VENV_BIN, PipelineRepo
from tests.reliability.conftest import reliability_repo  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e
PORT = 8000  # the README's port


def section_commands(readme: Path, heading: str = "### 7. ") -> str:
    text = readme.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.index("\n### ", start + 1)
    blocks = re.findall(r"```bash\n(.*?)```", text[start:end], flags=re.S)
    assert blocks, f"no bash block under {heading!r}"
    return "".join(blocks)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_readme_section_7_runs_verbatim(
    reliability_repo: PipelineRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    assert _port_free(PORT), f"port {PORT} is taken; the README's commands need it"
    repo = reliability_repo.clone(tmp_path / "repo")
    mlgate = str(VENV_BIN / "mlgate")
    first = repo.git("rev-parse", "HEAD~1").stdout.strip()  # its gate promoted, no champion
    repo.run(mlgate, "promote", "--rev", first)
    repo.set_params({"gate.champion.ref": ""})  # the champion is now the GTO prod holder
    assert (repo.path / "champion").is_dir()  # the folder that used to shadow the keyword

    script = section_commands(REPO_ROOT / "README.md")
    proc = subprocess.Popen(
        ["bash", "-e", "-c", script],
        cwd=repo.path,
        env=repo.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the background server goes with the group if we fail
    )
    try:
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    shown = f"exit {proc.returncode}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    assert proc.returncode == 0, shown
    assert "Traceback" not in stderr, shown
    assert '"status":"ok","model_version":"v0.0.1"' in stdout, shown
    assert '"n":1,"probabilities":[' in stdout, shown
    shadow = repo.metrics("shadow")
    assert shadow["evidence"] is True and shadow["n_records_compared"] == 500
    assert shadow["models"]["champion"]["registry_version"] == "v0.0.1"
    assert shadow["models"]["champion"]["source"] == "champion"
    canary = repo.metrics("canary")
    assert canary["decision"] == "completed" and canary["final_share"] == 1.0
    lines = (repo.path / "requests.jsonl").read_text().splitlines()
    assert len(lines) == 500 and "churned" not in json.loads(lines[0])["body"]
    assert _port_free(PORT), "the server outlived the README's `kill`"
