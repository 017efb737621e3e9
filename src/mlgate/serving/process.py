"""The API server process, configured by its command line only.

``python -m mlgate.serving.process OPTIONS --host H --port P --workers N``: OPTIONS is one JSON
object of :func:`mlgate.serving.loading.load_service` arguments (``model``, ``root``,
``contract``, ``max_records``, ``threads``) that the caller builds from params.yaml (the
serving stage, ``mlgate serve --workers``, shadow/canary servers). Each uvicorn worker gets
them inside the uvicorn ``Config`` it receives from the supervisor (pickled), and loads the
model once, at start-up; nothing is read from the environment.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from mlgate.serving.app import app_from_options

__all__ = ["ServeConfig", "main", "run"]

STARTUP_FAILURE = 3  # uvicorn's exit code when the app cannot start


class ServeConfig(uvicorn.Config):
    """A uvicorn Config that builds the app from ``options`` when a worker loads it."""

    def __init__(self, options: Mapping[str, Any], **kwargs: Any) -> None:
        # The import string is never imported: load() replaces it with the app object.
        super().__init__(app=f"{__name__}:ServeConfig", **kwargs)
        self.options = dict(options)

    def load(self) -> None:
        if not self.loaded:
            self.app = app_from_options(self.options)
        super().load()


def run(options: Mapping[str, Any], *, workers: int = 1, **uvicorn_options: Any) -> int:
    """Serve until interrupted, in ``workers`` processes (what ``uvicorn.run`` does for an
    import string, with the options carried by the Config instead)."""
    config = ServeConfig(options, workers=workers, **uvicorn_options)
    server = uvicorn.Server(config)
    try:
        if workers > 1:
            sockets = [config.bind_socket()]
            # uvicorn < 0.36 also takes the worker's target; later ones build it themselves.
            extra = (
                {"target": server.run}
                if "target" in inspect.signature(Multiprocess).parameters
                else {}
            )
            Multiprocess(config, sockets=sockets, **extra).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    return 0 if workers > 1 or server.started else STARTUP_FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlgate.serving.process")
    parser.add_argument("options", type=json.loads, help="load_service arguments as JSON")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--http", default="auto")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv)
    return run(
        args.options,
        host=args.host,
        port=args.port,
        workers=args.workers,
        http=args.http,
        log_level=args.log_level,
        access_log=not args.no_access_log,
    )


if __name__ == "__main__":
    sys.exit(main())
