"""Where the landing zone, lake, warehouse and Dagster instance live (contract defaults, env overrides)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULTS = {
    "landing": ("ENTITY_LANDING_DIR", "data/landing"),
    "lake": ("ENTITY_LAKE_DIR", "data/lake"),
    "warehouse": ("ENTITY_WAREHOUSE", "data/warehouse/curated.duckdb"),
    "dagster_home": ("DAGSTER_HOME", "data/dagster_home"),
}


@dataclass(frozen=True)
class Paths:
    landing: Path
    lake: Path
    warehouse: Path
    dagster_home: Path

    @property
    def reports(self) -> Path:
        """Data Docs, quality and run reports: beside the warehouse, where stewards look."""
        return self.warehouse.parent / "reports"

    def export_env(self) -> None:
        """Make these paths what code locations and `dagster dev` started from here resolve."""
        for field, (variable, _) in DEFAULTS.items():
            os.environ[variable] = str(getattr(self, field))


def resolve(**overrides: str | Path | None) -> Paths:
    """Paths from explicit values, else the environment, else the contract's defaults; made absolute."""
    values = {}
    for field, (variable, default) in DEFAULTS.items():
        chosen = overrides.get(field) or os.environ.get(variable) or default
        values[field] = Path(chosen).expanduser().resolve()
    return Paths(**values)
