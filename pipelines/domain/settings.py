"""One frozen Settings object with every threshold, read from settings.toml (no magic numbers elsewhere)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "settings.toml"


@dataclass(frozen=True)
class BlockingRule:
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class PriorSettings:
    uscc_weights: dict[str, float]
    strength: float
    match_share: float
    pattern_strength: float
    rates: dict[str, dict[str, tuple[float, float]]]  # feature -> level -> (m, u)


@dataclass(frozen=True)
class MatchingSettings:
    match_probability: float
    registration_pair_probability: float
    max_block_size: int
    training_pairs: int
    near_miss_probability: float
    chunk_pairs: int
    blocking: tuple[BlockingRule, ...]
    priors: PriorSettings


@dataclass(frozen=True)
class RuleSettings:
    no_annual_report_min_age_years: int
    missing_report_years: int
    annual_report_deadline: str
    name_similarity_below: float
    address_similarity_below: float
    licence_expiry_warning_days: int
    pairs_to_review: int
    task_due_days: dict[str, int]


@dataclass(frozen=True)
class RunSettings:
    daemon_lock_wait_seconds: float
    transient_retries: int
    transient_retry_seconds: float


@dataclass(frozen=True)
class HistorySettings:
    asof_days: int


@dataclass(frozen=True)
class MaintenanceSettings:
    retention_days: int
    target_file_mib: int
    data_docs_days: int = 31


@dataclass(frozen=True)
class ServiceSettings:
    open_rate: str
    partner_rate: str
    internal_rate: str
    default_page_size: int
    max_page_size: int
    cookie_max_age_seconds: int

    def rate(self, scope: str) -> str:
        """The default rate limit of a scope (open, partner, internal)."""
        return getattr(self, f"{scope}_rate")


@dataclass(frozen=True)
class Settings:
    matching: MatchingSettings
    rules: RuleSettings
    run: RunSettings
    history: HistorySettings
    maintenance: MaintenanceSettings
    service: ServiceSettings


def load(path: Path = DEFAULT_FILE) -> Settings:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    matching = dict(raw["matching"])
    blocking = tuple(BlockingRule(r["name"], tuple(r["columns"])) for r in matching.pop("blocking"))
    priors = dict(matching.pop("priors"))
    priors["rates"] = {
        f: {level: tuple(mu) for level, mu in levels.items()} for f, levels in priors["rates"].items()
    }
    settings = Settings(
        matching=MatchingSettings(**matching, blocking=blocking, priors=PriorSettings(**priors)),
        rules=RuleSettings(**raw["rules"]),
        run=RunSettings(**raw["run"]),
        history=HistorySettings(**raw["history"]),
        maintenance=MaintenanceSettings(**raw["maintenance"]),
        service=ServiceSettings(**raw["service"]),
    )
    if settings.maintenance.retention_days < settings.history.asof_days:
        raise ValueError(
            f"{path}: [maintenance] retention_days ({settings.maintenance.retention_days}) is shorter than [history] asof_days "
            f"({settings.history.asof_days}): vacuum would delete files that as-of queries promise to read"
        )
    return settings
