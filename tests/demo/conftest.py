"""One small demo generated once per session (and a second, identical one to check determinism)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from pipelines.demo import generate

ENTITIES = 4000


@dataclass(frozen=True)
class Demo:
    landing: Path
    truth: Path
    summary: dict

    def read(self, name: str) -> pl.DataFrame:
        return pl.read_parquet(self.truth / f"{name}.parquet")

    @property
    def deliveries(self) -> dict:
        return json.loads((self.truth / "deliveries.json").read_text(encoding="utf-8"))


def _generate(root: Path, **kwargs: object) -> Demo:
    summary = generate(root / "landing", root / "truth", **kwargs)  # type: ignore[arg-type]
    return Demo(root / "landing", root / "truth", summary)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return _generate(tmp_path_factory.mktemp("demo"), entities=ENTITIES)


@pytest.fixture(scope="session")
def demo_again(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return _generate(tmp_path_factory.mktemp("demo_again"), entities=ENTITIES)
