"""Several server processes (`entity-lakehouse serve --workers N`): how each is made, and its share of a rate.

uvicorn starts each worker by importing a factory, so the command passes the warehouse, keys file and worker
count through the environment (`app_from_environment`). Every worker opens its own read-only snapshot and
appends to the same access log (one O_APPEND write per record, access_log.py).

Rate limits are counted per process (slowapi's memory storage; the stack has no shared store such as Redis).
Each worker therefore allows 1/N of a rate (at least 1 per period): a caller never exceeds its configured rate
in total, however the kernel spreads its connections, unless the rate is below N per period. The price: a caller whose requests all reach one worker (one keep-alive
connection) is refused at 1/N of its rate. With one worker (the default) rates are exact.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from fastapi import FastAPI

FACTORY = "pipelines.service.workers:app_from_environment"
WAREHOUSE_ENV = "ENTITY_SERVICE_WAREHOUSE"
KEYS_ENV = "ENTITY_SERVICE_KEYS_FILE"
WORKERS_ENV = "ENTITY_SERVICE_WORKERS"
# One limit of a `limits` rate string: "100/minute", "100 per minute", "5/2 seconds"...
LIMIT = re.compile(r"^\s*(\d+)\s*(/|per\b)\s*(.+?)\s*$")


def per_worker(rate: str, workers: int) -> str:
    """Each worker's share of a rate (at least 1 per period), for every `;`- or `,`-separated limit in it."""
    if workers <= 1:
        return rate
    shares = []
    for limit in re.split(r"[;,]", rate):
        match = LIMIT.match(limit)
        if match is None:
            raise ValueError(f"rate limit {limit!r}: expected '<count>/<period>'")
        count, separator, period = match.groups()
        shares.append(f"{max(1, int(count) // workers)}{separator if separator == '/' else ' per '}{period}")
    return ";".join(shares)


def environment(warehouse: Path, keys: Path | None, workers: int) -> dict[str, str]:
    """What `app_from_environment` reads, for the serve command to set before uvicorn starts the workers."""
    return {WAREHOUSE_ENV: str(warehouse), KEYS_ENV: str(keys or ""), WORKERS_ENV: str(workers)}


def app_from_environment() -> FastAPI:
    """uvicorn's factory in each worker process."""
    from pipelines.domain import settings
    from pipelines.service.app import create_app

    keys = os.environ.get(KEYS_ENV) or None
    return create_app(
        Path(os.environ[WAREHOUSE_ENV]),
        Path(keys) if keys else None,
        settings.load().service,
        workers=int(os.environ.get(WORKERS_ENV, "1")),
    )
