"""The FastAPI app in-process: parity with offline scores, health, version, error codes."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlgate.errors import ArtifactError
from mlgate.serving.app import create_app
from mlgate.serving.checks import check_parity
from mlgate.serving.client import InProcessBackend
from mlgate.serving.loading import load_service
from mlgate.serving.service import ScoringService

from .conftest import CONTRACT, api_client, git

Client = Any


@pytest.fixture(scope="module")
def client(service: ScoringService) -> Client:
    return api_client(create_app(service, max_body_bytes=200_000))


def test_single_and_batch_scores_equal_offline(
    client: Client, records: list[dict[str, Any]], offline: np.ndarray
) -> None:
    one = client.post("/predict", json=records[0])
    assert one.status_code == 200
    assert one.json()["probabilities"] == [pytest.approx(offline[0], abs=1e-12)]
    batch = client.post("/predict", json=records[:200])
    got = np.asarray(batch.json()["probabilities"])
    assert batch.json()["n"] == 200
    assert np.max(np.abs(got - offline[:200])) <= 1e-9


def test_parity_check_over_many_rows(
    service: ScoringService, records: list[dict[str, Any]], offline: np.ndarray
) -> None:
    result = check_parity(
        InProcessBackend(service), records[:300], offline[:300], n_single=20, batch_size=64
    )
    assert result["passed"] and result["n_scored"] == 300
    assert result["max_abs_diff"] <= 1e-9
    assert (result["n_single_requests"], result["n_batch_requests"]) == (20, 5)


def test_parity_check_fails_on_a_different_model(
    shifted: Any, service: ScoringService, records: list[dict[str, Any]], offline: np.ndarray
) -> None:
    other = shifted(service, 1.0, 1e-6)
    result = check_parity(
        InProcessBackend(other), records[:30], offline[:30], n_single=5, batch_size=10
    )
    assert not result["passed"]
    assert result["max_abs_diff"] == pytest.approx(1e-6, rel=1e-3)


def test_parity_check_fails_when_requests_fail(
    service: ScoringService, records: list[dict[str, Any]], offline: np.ndarray
) -> None:
    rows = [*records[:3], {**records[3], "tenure_months": -5}]
    result = check_parity(InProcessBackend(service), rows, offline[:4], n_single=4, batch_size=2)
    assert not result["passed"]
    assert result["n_failed_requests"] == 1 and "422" in result["first_failure"]
    assert result["n_scored"] == 3


def test_health_and_version(client: Client, service: ScoringService, model_dir: Path) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model_version"] == service.identity.version
    version = client.get("/version").json()
    meta_sha = service.meta["sha256"]
    assert version["sha256"] == meta_sha and version["model_version"] == f"sha256:{meta_sha[:12]}"
    assert version["source"] == "path" and version["ref"] == str(model_dir)
    assert version["libraries"]["scikit-learn"] == service.meta["sklearn_version"]
    assert version["trained_with"]["sklearn_version"] == service.meta["sklearn_version"]
    assert "tenure_months" in version["input_columns"]
    assert version["unchecked_contract_rules"] == ["customer_id: unique_values"]


def test_openapi_documents_the_contract(client: Client) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    record = body["schema"]["anyOf"][0]
    assert record["properties"]["region"]["enum"] == ["north", "south", "east", "west"]
    assert record["additionalProperties"] is False


def test_bad_payload_gets_422_naming_the_field(
    client: Client, records: list[dict[str, Any]]
) -> None:
    response = client.post("/predict", json={**records[0], "contract_type": "weekly"})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["field"] == "contract_type" and "monthly" in error["expected"]
    response = client.post("/predict", content=b'{"tenure_months": NaN}')
    assert response.status_code == 422
    assert "tenure_months" in {e["field"] for e in response.json()["detail"]}


def test_oversized_body_is_413(client: Client) -> None:
    response = client.post("/predict", content=b"[" + b" " * 300_000 + b"]")
    assert response.status_code == 413
    assert response.json()["detail"][0]["field"] == "body"


def test_a_scoring_failure_is_a_500_not_a_crash(
    service: ScoringService, records: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        classes_ = np.array([0, 1])

        def predict_proba(self, X: Any) -> Any:
            raise RuntimeError("boom")

    client = api_client(create_app(replace(service, pipeline=Broken())))
    with caplog.at_level(logging.ERROR, logger="mlgate.serving"):
        response = client.post("/predict", json=records[0])
    assert response.status_code == 500
    assert "RuntimeError" in response.json()["detail"]
    assert "boom" in caplog.text  # the traceback is logged for whoever fixes the bug
    assert client.get("/health").status_code == 200


def test_loading_refuses_a_tampered_model(tmp_path: Path, model_dir: Path) -> None:
    bad = tmp_path / "models"
    bad.mkdir()
    (bad / "model.json").write_bytes((model_dir / "model.json").read_bytes())
    data = bytearray((model_dir / "model.joblib").read_bytes())
    data[100] ^= 0xFF
    (bad / "model.joblib").write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256"):
        load_service(str(bad), root=tmp_path, contract=str(CONTRACT))
    with pytest.raises(ArtifactError, match="neither a model path"):
        load_service("no-such-ref", root=tmp_path, contract=str(CONTRACT))


def test_loading_from_a_registered_git_ref(
    tmp_path: Path, model_dir: Path, service: ScoringService
) -> None:
    import gto.api

    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    (repo / "contracts").mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    for name in ("model.joblib", "model.json"):
        (repo / "models" / name).write_bytes((model_dir / name).read_bytes())
    (repo / "contracts" / "churn.yaml").write_bytes(CONTRACT.read_bytes())
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "model")
    gto.api.register(str(repo), "churn-model", "HEAD", version="v0.0.1")
    loaded = load_service("churn-model@v0.0.1", root=repo, contract="contracts/churn.yaml")
    ident = loaded.identity
    assert (ident.version, ident.registry_version, ident.source) == ("v0.0.1", "v0.0.1", "ref")
    assert ident.commit == git(repo, "rev-parse", "HEAD")
    assert ident.contract.startswith("contracts/churn.yaml@")
    assert ident.sha256 == service.identity.sha256
