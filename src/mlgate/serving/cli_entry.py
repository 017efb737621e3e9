"""One function per CLI command (`mlgate serve`, `shadow`, `canary`, `requests`).

Each reads params.yaml for its defaults (contract path, champion lookup, decision threshold,
canary steps and guards), does the file I/O, and calls the library; the CLI only parses
arguments and calls one of these. Arguments left as None take their value from params.yaml.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlgate import log, paths
from mlgate.config import validate
from mlgate.errors import DataError, NoEvidence, ParamsError
from mlgate.io import write_json, write_text
from mlgate.model_ref import resolve_model
from mlgate.params import DriftKnobs, Params
from mlgate.serving.canary import CanaryGuards, canary_markdown, registry_rollback, run_canary
from mlgate.serving.client import Backend, HttpBackend, InProcessBackend
from mlgate.serving.config import ServingParams, load_with_serving
from mlgate.serving.evidence import shadow_gap
from mlgate.serving.loading import load_service
from mlgate.serving.server import running_server
from mlgate.serving.service import ScoringService
from mlgate.serving.shadow import (
    ShadowRouter,
    parse_request_log,
    replay,
    shadow_markdown,
    summarise_shadow,
    synthetic_request_log,
)

__all__ = ["HOLDOUT", "canary", "make_requests", "serve", "shadow"]

HOLDOUT = paths.HOLDOUT


def _params(params_path: str | Path) -> tuple[Params, ServingParams]:
    return load_with_serving(params_path)


def serve(
    model: str = "models",
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    allow_remote: bool = False,
    root: str | Path = ".",
    params_path: str | Path = paths.PARAMS,
) -> int:
    """`mlgate serve`: run the API in the foreground until interrupted (Ctrl-C).

    A non-loopback ``host`` publishes the API to the network; it needs ``allow_remote``.
    """
    import uvicorn

    from mlgate.serving.app import create_app
    from mlgate.serving.nodelay import PROTOCOL as NODELAY_PROTOCOL
    from mlgate.serving.server import is_loopback

    if not is_loopback(host) and not allow_remote:
        raise ParamsError(
            f"--host {host} is not a loopback address: the API has no authentication or TLS "
            "and would be reachable from other machines; pass --allow-remote to serve on it "
            "anyway (put it behind a proxy that adds both)"
        )
    params, cfg = _params(params_path)
    contract = params.contract.path
    if workers > 1:
        # Each worker process loads the model itself, from these options.
        from mlgate.serving.process import run

        target = _concrete_ref(model, root, params)
        options: dict[str, Any] = {"model": target, "root": str(root), "contract": contract}
        options["max_records"] = cfg.max_records
        return run(options, host=host, port=port, workers=workers, http=NODELAY_PROTOCOL)
    service = load_service(
        model,
        root=root,
        contract=contract,
        champion=params.gate.champion,
        max_records=cfg.max_records,
    )
    log.info(
        f"serve: model {service.identity.version} (sha256 {service.identity.sha256[:12]}) "
        f"on http://{host}:{port}"
    )
    uvicorn.run(create_app(service), host=host, port=port, http=NODELAY_PROTOCOL)
    return 0


def _concrete_ref(model: str, root: str | Path, params: Params) -> str:
    """``model`` as a name every server process resolves to the same model: the commit a ref
    (or 'champion') points at now, or an absolute path."""
    return resolve_model(model, root=root, champion=params.gate.champion).concrete


@contextlib.contextmanager
def _backends(
    champion: str,
    candidate: str,
    *,
    mode: str,
    root: str | Path,
    params: Params,
    cfg: ServingParams,
) -> Iterator[tuple[Backend, Backend, ScoringService, ScoringService]]:
    """Both models as backends: in-process services, or two local uvicorn servers."""
    if mode not in ("inprocess", "servers"):
        raise ParamsError(f"mode: expected 'inprocess' or 'servers', got {mode!r}")
    contract = params.contract.path
    services = [
        load_service(
            m,
            root=root,
            contract=contract,
            champion=params.gate.champion,
            max_records=cfg.max_records,
        )
        for m in (champion, candidate)
    ]
    if mode == "inprocess":
        yield (
            InProcessBackend(services[0], "champion"),
            InProcessBackend(services[1], "candidate"),
            services[0],
            services[1],
        )
        return
    refs = [_concrete_ref(m, root, params) for m in (champion, candidate)]
    with contextlib.ExitStack() as stack:
        backends: list[Backend] = []
        for name, ref in zip(("champion", "candidate"), refs, strict=True):
            server = stack.enter_context(
                running_server(
                    ref,
                    root=root,
                    contract=contract,
                    host=cfg.host,
                    max_records=cfg.max_records,
                    startup_timeout=cfg.startup_timeout_s,
                )
            )
            backends.append(
                stack.enter_context(
                    HttpBackend(server.base_url, timeout=cfg.request_timeout_s, name=name)
                )
            )
        yield backends[0], backends[1], services[0], services[1]


def _read_log(requests: str | Path) -> list[bytes]:
    path = Path(requests)
    if not path.is_file():
        raise DataError(
            f"request log {path} does not exist; expected JSON lines "
            "(write one with `mlgate requests`)"
        )
    with open(path, encoding="utf-8") as fh:
        return parse_request_log(fh, source=str(path))


def _write_run(
    out: str | Path,
    markdown: str | Path,
    outcome: dict[str, Any],
    render: Callable[..., str],
    *,
    services: tuple[Any, Any],
    mode: str,
    requests: str | Path,
) -> dict[str, Any]:
    """Write a shadow or canary run: the outcome plus which models ran, as JSON and Markdown.

    The models' identities sit under ``models``: the outcome has per-model sections named
    ``champion`` and ``candidate`` of its own (traffic, latencies).
    """
    champion, candidate = (service.identity for service in services)
    result = {
        "models": {"champion": champion.to_dict(), "candidate": candidate.to_dict()},
        "mode": mode,
        "requests": str(requests),
        **outcome,
    }
    write_json(out, result)
    write_text(markdown, render(outcome, champion=champion.version, candidate=candidate.version))
    return result


def shadow(
    requests: str | Path,
    *,
    champion: str = "champion",
    candidate: str = "models",
    out: str | Path = paths.REPLAY_OUTPUTS["shadow"][0],
    markdown: str | Path = paths.REPLAY_OUTPUTS["shadow"][1],
    threshold: float | None = None,
    mode: str = "inprocess",
    root: str | Path = ".",
    params_path: str | Path = paths.PARAMS,
) -> dict[str, Any]:
    """`mlgate shadow`: replay a request log to both models; the callers get the champion's."""
    params, cfg = _params(params_path)
    bodies = _read_log(requests)
    cut = params.evaluate.threshold if threshold is None else threshold
    with _backends(champion, candidate, mode=mode, root=root, params=params, cfg=cfg) as (
        champ,
        cand,
        champ_service,
        cand_service,
    ):
        router = ShadowRouter(champ, cand)
        replay(bodies, router)
        summary = summarise_shadow(router.observations, threshold=cut)
    gap = shadow_gap(summary)
    summary = {"evidence": gap is None, "no_evidence": gap, **summary}
    result = _write_run(
        out,
        markdown,
        summary,
        shadow_markdown,
        services=(champ_service, cand_service),
        mode=mode,
        requests=requests,
    )
    if gap is not None:
        raise NoEvidence(f"shadow: {gap}; wrote {out} and {markdown}")
    refused = summary["champion"]["n_4xx"]
    if refused:  # evidence, but from fewer requests than the log holds: say so
        log.info(f"shadow: note: the champion refused {refused} of {len(bodies)} requests (4xx)")
    rate = summary["disagreement_rate"]
    log.info(
        f"shadow: {summary['n_records_compared']} records compared; decisions differ on "
        f"{'n/a' if rate is None else f'{rate:.2%}'}; wrote {out} and {markdown}"
    )
    return result


def canary(
    requests: str | Path,
    *,
    champion: str = "champion",
    candidate: str = "models",
    out: str | Path = paths.REPLAY_OUTPUTS["canary"][0],
    markdown: str | Path = paths.REPLAY_OUTPUTS["canary"][1],
    steps: Sequence[float] | None = None,
    requests_per_step: int | None = None,
    rollback: bool = True,
    mode: str = "inprocess",
    root: str | Path = ".",
    params_path: str | Path = paths.PARAMS,
) -> dict[str, Any]:
    """`mlgate canary`: simulate a rollout under guards; on a breach, roll the GTO stage back.

    The rollback target is the champion's GTO version (when the champion is a registered
    version); with ``rollback=False`` or an unregistered champion only routing is reverted.
    """
    params, cfg = _params(params_path)
    c = cfg.canary
    bodies = _read_log(requests)
    guards = _guards(c)
    with _backends(champion, candidate, mode=mode, root=root, params=params, cfg=cfg) as (
        champ,
        cand,
        champ_service,
        cand_service,
    ):
        target = champ_service.identity.registry_version
        action = _rollback_action(root, params, target) if rollback and target else None
        result = run_canary(
            bodies,
            champ,
            cand,
            steps=steps or c.steps,
            requests_per_step=requests_per_step or c.requests_per_step,
            guards=guards,
            threshold=params.evaluate.threshold,
            seed=c.seed,
            rollback=action,
        )
    if result["rollback"] is not None and action is None:
        result["rollback"]["registry"] = _no_registry_rollback(champion, rollback)
    result = _write_run(
        out,
        markdown,
        result,
        canary_markdown,
        services=(champ_service, cand_service),
        mode=mode,
        requests=requests,
    )
    log.info(
        f"canary: {result['decision']} (final share {result['final_share']:.0%}); "
        f"wrote {out} and {markdown}"
    )
    return result


def _guards(c: Any) -> CanaryGuards:
    """params.yaml serving.canary -> the guards a rollout step must pass."""
    return CanaryGuards(
        max_error_rate=c.max_error_rate,
        max_p95_ratio=c.max_p95_ratio,
        max_score_shift=c.max_score_shift,
        max_p95_ms=c.max_p95_ms,
    )


def _no_registry_rollback(champion: str, rollback: bool) -> str:
    if not rollback:
        return "rollback disabled"
    return f"champion {champion!r} has no GTO version; only traffic was returned to it"


def _rollback_action(root: str | Path, params: Params, to_version: str) -> Any:
    """Move the GTO stage back to the champion's version (what a canary breach calls)."""
    champion = params.gate.champion
    return functools.partial(
        registry_rollback,
        root,
        artifact=champion.artifact,
        stage=champion.stage,
        to_version=to_version,
    )


def make_requests(
    out: str | Path,
    *,
    n_requests: int = 1000,
    records_per_request: int = 1,
    seed: int | None = None,
    synthetic: bool = False,
    data: str | Path = HOLDOUT,
    drift: dict[str, Any] | None = None,
    params_path: str | Path = paths.PARAMS,
) -> Path:
    """`mlgate requests`: write a JSON-lines request log.

    By default the records are rows of ``data`` (the holdout: the pipeline's own data, which
    passed the contract), without the label, each checked against the contract's request
    schema. ``synthetic`` draws from the built-in churn generator instead; only then does
    ``drift`` (the shape of params.yaml's ``generate.drift``) apply.
    """
    params, cfg = _params(params_path)
    if drift is not None and not synthetic:
        raise ParamsError("drift applies to synthetic requests only; pass --synthetic")
    shape = {"n_requests": n_requests, "records_per_request": records_per_request}
    if synthetic:
        gen = params.generate if seed is None else replace(params.generate, seed=seed)
        if drift is not None:
            gen = replace(gen, drift=validate(DriftKnobs, drift, source="drift"))
        lines = synthetic_request_log(gen, drop=(params.data.target,), **shape)
        origin = "the synthetic churn generator"
    else:
        draw_seed = cfg.seed if seed is None else seed
        lines, origin = _table_lines(data, params, seed=draw_seed, **shape)
    write_text(out, "\n".join(lines) + "\n")
    log.info(f"requests: wrote {n_requests} requests to {out} from {origin}")
    return Path(out)


def _table_lines(
    data: str | Path, params: Params, *, seed: int, n_requests: int, records_per_request: int
) -> tuple[list[str], str]:
    """Request lines drawn from the rows of ``data`` (see traffic.table_request_log)."""
    from mlgate.data.contract import load_contract
    from mlgate.data.ingest import read_table
    from mlgate.serving.traffic import table_request_log

    if not Path(data).is_file():
        raise DataError(
            f"{data} does not exist; run `dvc repro split` (or `make repro`) first, pass "
            "--data with a table of your rows, or --synthetic for generated churn rows"
        )
    lines, skipped = table_request_log(
        read_table(data),
        load_contract(params.contract.path),
        n_requests=n_requests,
        records_per_request=records_per_request,
        seed=seed,
        drop=(params.data.target,),
        source=str(data),
    )
    note = f" ({skipped} drawn rows skipped: the contract refuses them)" if skipped else ""
    return lines, f"rows of {data}{note}"
