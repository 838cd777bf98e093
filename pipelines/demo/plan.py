"""The run's fixed parameters: population size, delivery dates, planted-case counts, random streams."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

MIN_ENTITIES = 500  # below this the fixed bad-input and hostile cases dominate the data


@dataclass(frozen=True)
class Plan:
    """What `generate` was asked for, plus the counts derived from it."""

    entities: int
    seed: int
    days: int
    start: date
    noise: float = 1.0  # multiplies the rates of formatting and code noise in licence and inspection records

    def __post_init__(self) -> None:
        if self.entities < MIN_ENTITIES:
            raise ValueError(f"entities must be at least {MIN_ENTITIES}")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.noise < 0:
            raise ValueError("noise must be at least 0")

    @property
    def dates(self) -> tuple[date, ...]:
        return tuple(self.start + timedelta(days=i) for i in range(self.days))

    @property
    def as_of(self) -> date:
        """The latest delivery date: the Rule semantics' as-of date."""
        return self.dates[-1]

    @property
    def planted(self) -> int:
        """Cases planted per issue type: ~20 at 20k entities, scaling with N."""
        return max(6, self.entities // 1000)

    @property
    def new_per_day(self) -> int:
        """New registrations in each incremental delivery."""
        return max(3, self.entities // 2000)

    @property
    def events_per_day(self) -> int:
        """Status, address, legal-rep changes per incremental delivery (each kind)."""
        return max(2, self.entities // 6000)

    def rng(self, stream: str) -> np.random.Generator:
        """An independent generator per named stream, so one module's draws never shift another's."""
        return np.random.Generator(
            np.random.PCG64(np.random.SeedSequence([self.seed, zlib.crc32(stream.encode())]))
        )


def mask(size: int, rows: np.ndarray) -> np.ndarray:
    """A boolean array of `size` that is True at `rows` (cheaper than np.isin over an arange)."""
    out = np.zeros(size, dtype=bool)
    out[np.asarray(rows, dtype=np.int64)] = True
    return out
