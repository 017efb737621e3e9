"""Serving the gated model: a contract-checked scoring API and the checks run against it.

Modules, each with one job:

* ``schema``: the request model derived from the data contract, records -> model frame;
* ``service``: validation + scoring without HTTP (what every route and replay calls);
* ``loading``: the model to serve, from a path or a git ref, through the integrity check;
* ``app``: the FastAPI app; ``server``: a uvicorn process on a loopback port, always stopped;
* ``client``: backends (HTTP or in-process) and payload helpers;
* ``checks`` / ``suite``: parity, bad payloads, latency (the `serving` stage's logic);
* ``shadow`` / ``canary``: replaying traffic to champion and candidate;
* ``config``: the ``serving`` params section; ``cli_entry``: one function per CLI command.

Nothing is imported here, so ``import mlgate.serving.config`` does not pull in FastAPI.
"""
