"""What every handler of the API and the page shares: the service's parts and one snapshot per request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from pipelines.domain.settings import ServiceSettings
from pipelines.service.access_log import AccessLog
from pipelines.service.keys import Registry
from pipelines.service.warehouse import Snapshot, Warehouse

COOKIE = "elk_key"


@dataclass(frozen=True)
class Service:
    warehouse: Warehouse
    registry: Registry
    log: AccessLog
    settings: ServiceSettings
    workers: int = 1  # server processes sharing the callers' rates (workers.py)


@contextmanager
def reading(service: Service) -> Iterator[tuple[duckdb.DuckDBPyConnection, Snapshot]]:
    """One snapshot and the thread's connection to it for the whole request, so it never mixes two publishes.
    The connection stays open for the thread's next request on the same snapshot."""
    snapshot = service.warehouse.snapshot()
    yield snapshot.cursor(), snapshot
