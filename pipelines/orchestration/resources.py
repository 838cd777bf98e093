"""The one resource every asset uses: where things live, and the lake's writer lock for the run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.domain import landing
from pipelines.domain import settings as settings_module
from pipelines.storage import catalog
from pipelines.storage.lake import Lake, exclusive
from pipelines.storage.paths import Paths


class LakehouseResource(dg.ConfigurableResource):
    """Landing zone, Delta lake and curated warehouse of one installation."""

    landing_dir: str
    lake_dir: str
    warehouse_path: str
    lock_wait_seconds: float
    settings_file: str = str(settings_module.DEFAULT_FILE)

    @classmethod
    def from_paths(cls, paths: Paths, lock_wait_seconds: float) -> LakehouseResource:
        return cls(
            landing_dir=str(paths.landing),
            lake_dir=str(paths.lake),
            warehouse_path=str(paths.warehouse),
            lock_wait_seconds=lock_wait_seconds,
        )

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def warehouse(self) -> Path:
        return Path(self.warehouse_path)

    @property
    def reports(self) -> Path:
        return self.warehouse.parent / "reports"

    @property
    def cache(self) -> Path:
        """Answers that only change with the code or the schemas (column lineage): safe to delete."""
        return self.warehouse.parent / ".cache"

    def lake(
        self, context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext | dg.OpExecutionContext
    ) -> Lake:
        return Lake(Path(self.lake_dir), run_id=context.run_id)

    def inventory(self, lake: Lake) -> pl.DataFrame:
        """The landing zone now, hashing only files the last inventory has not seen."""
        return landing.scan(self.landing, digest_cache=lake.read(catalog.LANDING_INVENTORY))

    def settings(self) -> settings_module.Settings:
        return settings_module.load(Path(self.settings_file))

    def as_of(self, lake: Lake) -> dt.date:
        """The rules' "today": the latest delivery date in the landing zone, never the wall clock."""
        return landing.as_of(lake.read(catalog.LANDING_INVENTORY))

    @contextmanager
    def yield_for_execution(
        self, context: dg.InitResourceContext
    ) -> Generator[LakehouseResource, None, None]:
        # One writer per lake: a second run fails fast with the holder's pid (or waits lock_wait_seconds).
        # Sensors and schedules only read, and have no run: they do not take the lock.
        if context.dagster_run is None:
            yield self
            return
        with exclusive(Path(self.lake_dir), self.lock_wait_seconds):
            yield self
