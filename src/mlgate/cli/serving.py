"""``mlgate serve``, ``shadow``, ``canary`` and ``requests``: the model behind an API."""

from __future__ import annotations

import argparse
from typing import Any

from mlgate import log, paths
from mlgate.cli.console import out


def cmd_serve(args: argparse.Namespace) -> int:
    from mlgate.serving.cli_entry import serve

    return serve(
        args.model,
        host=args.host,
        port=args.port,
        workers=args.workers,
        allow_remote=args.allow_remote,
        params_path=args.params,
    )


def cmd_shadow(args: argparse.Namespace) -> int:
    from mlgate.serving.cli_entry import shadow

    result = shadow(
        args.requests,
        champion=args.champion,
        candidate=args.candidate,
        out=args.out,
        markdown=args.markdown,
        mode=args.mode,
        params_path=args.params,
    )
    out.print(
        f"shadow: {result.get('n_requests', '?')} requests replayed -> {args.out}, {args.markdown}"
    )
    return 0


CANARY_EXIT = {"completed": 0, "rolled_back": 1, "rollback_failed": 2, "no_evidence": 3}


def cmd_canary(args: argparse.Namespace) -> int:
    from mlgate.serving.cli_entry import canary

    result = canary(
        args.requests,
        champion=args.champion,
        candidate=args.candidate,
        out=args.out,
        markdown=args.markdown,
        rollback=not args.no_rollback,
        mode=args.mode,
        params_path=args.params,
    )
    decision = str(result.get("decision"))
    if decision == "no_evidence":
        log.error(f"canary: {result.get('no_evidence')}; wrote {args.out}, {args.markdown}")
    else:
        out.print(f"canary: {decision} -> {args.out}, {args.markdown}")
    return CANARY_EXIT.get(decision, 2)


def cmd_requests(args: argparse.Namespace) -> int:
    from mlgate.serving.cli_entry import make_requests

    path = make_requests(
        args.out,
        n_requests=args.n,
        records_per_request=args.records,
        seed=args.seed,
        synthetic=args.synthetic,
        data=args.data,
        params_path=args.params,
    )
    out.print(f"wrote {args.n} requests to {path}")
    return 0


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the prediction API (FastAPI + uvicorn)",
        description="Serve a model behind POST /predict, GET /health and GET /version. MODEL is "
        "'champion' (the GTO stage holder), a GTO ref (churn-model#prod, churn-model@v0.0.2), "
        "a commit, or a model directory (models; ./NAME forces a path). The request schema "
        "comes from the data contract. Loopback only unless --allow-remote.",
    )
    p.add_argument(
        "--model",
        default="models",
        help="'champion', a GTO ref, a commit or a model dir (%(default)s)",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (%(default)s)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the API has no authentication or TLS)",
    )
    p.add_argument("--port", type=int, default=8000, help="port (%(default)s)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers (%(default)s)")
    p.add_argument("--params", default=paths.PARAMS, help="params file (%(default)s)")
    p.set_defaults(func=cmd_serve)


def add_shadow_and_canary_parsers(sub: Any) -> None:
    for name, helptext in (
        ("shadow", "replay a request log to champion and candidate, compare their scores"),
        ("canary", "simulate a staged rollout; roll the GTO stage back on a guard breach"),
    ):
        p = sub.add_parser(
            name,
            help=helptext,
            description=helptext[0].upper()
            + helptext[1:]
            + ". Requests are JSON lines (see `mlgate requests`).",
        )
        p.add_argument("--requests", required=True, help="JSON-lines request log")
        p.add_argument(
            "--champion",
            default="champion",
            help="'champion' (GTO stage), a GTO ref, a commit or a model dir (%(default)s)",
        )
        p.add_argument("--candidate", default="models", help="candidate model (%(default)s)")
        json_out, markdown_out = paths.REPLAY_OUTPUTS[name]
        p.add_argument("--out", default=json_out, help="JSON (%(default)s)")
        p.add_argument("--markdown", default=markdown_out, help="Markdown (%(default)s)")
        p.add_argument(
            "--mode",
            choices=("inprocess", "servers"),
            default="inprocess",
            help="score in this process or through two local servers (%(default)s)",
        )
        p.add_argument("--params", default=paths.PARAMS, help="params file (%(default)s)")
        if name == "canary":
            p.add_argument(
                "--no-rollback",
                action="store_true",
                help="record a breach without moving the GTO stage",
            )
            p.set_defaults(func=cmd_canary)
        else:
            p.set_defaults(func=cmd_shadow)


def add_requests_parser(sub: Any) -> None:
    p = sub.add_parser(
        "requests",
        help="write a request log (JSON lines) for shadow/canary from the holdout rows",
        description="Write a JSON-lines request log of rows drawn (seeded) from the holdout "
        "(data/holdout.parquet: your data, as validated), without the label and checked "
        "against the contract's request schema. --synthetic draws generated churn rows.",
    )
    p.add_argument("--out", required=True, help="file to write")
    p.add_argument("-n", type=int, default=1000, help="number of requests (%(default)s)")
    p.add_argument("--records", type=int, default=1, help="records per request (%(default)s)")
    p.add_argument("--data", default=paths.HOLDOUT, help="rows to draw (%(default)s)")
    p.add_argument(
        "--synthetic", action="store_true", help="draw from the synthetic churn generator"
    )
    p.add_argument(
        "--seed", type=int, help="draw seed (default: serving.seed; generate.seed if synthetic)"
    )
    p.add_argument("--params", default=paths.PARAMS, help="params file (%(default)s)")
    p.set_defaults(func=cmd_requests)
