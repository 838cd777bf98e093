"""One small published warehouse, keys for every kind of caller, and the real server on a loopback port."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx
import pytest
import uvicorn

from pipelines.domain import settings as settings_module
from pipelines.service import keys as keys_module
from pipelines.service.app import create_app
from tests.conftest import Run, generate_demo, run_pipeline

# The tests read the whole warehouse as the public, far beyond the public's production rate; the rate limit
# itself is tested with a caller whose own rate is tiny.
SETTINGS = dataclasses.replace(
    settings_module.load().service,
    open_rate="100000/minute",
    partner_rate="100000/minute",
    internal_rate="100000/minute",
)
DISTRICT = "330203"


@dataclass(frozen=True)
class Keys:
    path: Path
    internal: str
    partner: str
    district: str
    slow: str
    toggled: str


@dataclass(frozen=True)
class Server:
    url: str
    warehouse: Path
    keys: Keys

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def sql(self, query: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(":memory:") as connection:
            connection.execute("attach ? as w (read_only)", [str(self.warehouse)])
            connection.execute("use w")
            return connection.execute(query, params or []).fetchall()


@pytest.fixture(scope="session")
def service_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A small warehouse of its own (another seed than the shared run's; its tests read every entity over
    HTTP), built while another worker builds the shared run."""
    folder = tmp_path_factory.mktemp("service")
    return run_pipeline(folder, generate_demo(folder, entities=600, days=2, seed=5))


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    path = tmp_path_factory.mktemp("keys") / "keys.toml"
    return Keys(
        path=path,
        internal=keys_module.issue(path, "officer", "internal"),
        partner=keys_module.issue(path, "tax-bureau", "partner"),
        district=keys_module.issue(path, "haishu-officer", "internal", (DISTRICT,)),
        slow=keys_module.issue(path, "slow-partner", "partner", rate="3/minute"),
        toggled=keys_module.issue(path, "toggled", "partner"),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(warehouse: Path, keys_path: Path) -> Iterator[str]:
    """uvicorn in a thread on a free loopback port, stopped at the end."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(warehouse, keys_path, SETTINGS), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def server(service_run: Run, keys: Keys) -> Iterator[Server]:
    with serving(service_run.paths.warehouse, keys.path) as url:
        yield Server(url, service_run.paths.warehouse, keys)
