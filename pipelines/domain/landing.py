"""The landing zone: which files are deliveries, which are not, and which are byte copies of another.

`<landing>/<source>/<YYYY-MM-DD>/<file>`. Anything else is listed with the problem, so that it can be
quarantined whole rather than ignored. A file whose bytes equal an earlier file of the same source (earlier
by delivery date, then path) is a re-delivery: it loads nothing, wherever and whenever it arrives, so the
lake depends only on what is in the landing zone, not on the order it arrived in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from pathlib import Path

import polars as pl

from pipelines.domain.contract import SOURCES

DATE_FOLDER = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
INVENTORY_SCHEMA = {
    "path": pl.String,
    "source": pl.String,
    "delivery_date": pl.Date,
    "file_name": pl.String,
    "size": pl.Int64,
    "mtime_ns": pl.Int64,
    "sha256": pl.String,
    "problem": pl.String,
    "duplicate_of": pl.String,
}


def scan(landing: Path, digest_cache: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every file under `landing` with its source, delivery date, sha256 and problem (null when fine).

    `digest_cache` (path, size, mtime_ns, sha256) from an earlier scan saves re-hashing unchanged files.
    """
    known = (
        {}
        if digest_cache is None
        else {
            (p, s, m): h
            for p, s, m, h in digest_cache.select("path", "size", "mtime_ns", "sha256").iter_rows()
        }
    )
    rows = []
    for file in sorted(_files(landing)):
        relative = file.relative_to(landing).as_posix()
        stat = file.stat()
        digest = known.get((relative, stat.st_size, stat.st_mtime_ns)) or _sha256(file)
        source, delivery_date, problem = classify(relative)
        rows.append(
            (relative, source, delivery_date, file.name, stat.st_size, stat.st_mtime_ns, digest, problem)
        )
    # Typed, not inferred: a problem first met past the hundredth file would not fit a column inferred Null.
    schema = {k: v for k, v in INVENTORY_SCHEMA.items() if k != "duplicate_of"}
    return _mark_duplicates(pl.DataFrame(rows, schema=schema, orient="row"))


def _files(landing: Path) -> list[Path]:
    if not landing.is_dir():
        return []
    found = []
    for folder, _, names in os.walk(landing):
        found.extend(Path(folder) / n for n in names)
    return found


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def classify(relative: str) -> tuple[str | None, dt.date | None, str | None]:
    """(source, delivery date, problem) of a path relative to the landing zone."""
    parts = relative.split("/")
    if len(parts) < 3:
        return None, None, "file outside a <source>/<YYYY-MM-DD>/ delivery folder"
    source, folder = parts[0], parts[1]
    if source not in SOURCES:
        return None, None, f"unknown source folder {source!r} (expected one of {', '.join(SOURCES)})"
    delivery_date = _folder_date(folder)
    if delivery_date is None:
        return source, None, f"delivery folder {folder!r} is not a YYYY-MM-DD date"
    if len(parts) > 3:
        return source, delivery_date, "nested folder inside a delivery folder"
    return source, delivery_date, None


def _folder_date(folder: str) -> dt.date | None:
    if not DATE_FOLDER.match(folder):
        return None
    try:
        return dt.date.fromisoformat(folder)
    except ValueError:
        return None


def _mark_duplicates(inventory: pl.DataFrame) -> pl.DataFrame:
    """duplicate_of = the first file (by delivery date, path) of the same source with the same bytes."""
    ordered = inventory.sort("delivery_date", "path", nulls_last=True)
    first = pl.col("path").first().over("source", "sha256", order_by=["delivery_date", "path"])
    deliverable = pl.col("problem").is_null()
    return ordered.with_columns(
        duplicate_of=pl.when(deliverable & (first != pl.col("path"))).then(first).otherwise(None)
    )


def deliveries(inventory: pl.DataFrame) -> pl.DataFrame:
    """One row per (source, delivery_date) folder with its manifest: what the load of it depends on."""
    return (
        inventory.filter(pl.col("problem").is_null())
        .group_by("source", "delivery_date")
        .agg(
            manifest=pl.concat_str(
                "path", "sha256", pl.col("duplicate_of").fill_null(""), separator="|"
            ).sort()
        )
        .with_columns(manifest=pl.col("manifest").list.join("\n"))
        .sort("source", "delivery_date")
    )


def pending(current: pl.DataFrame, load_log: pl.DataFrame | None) -> pl.DataFrame:
    """Deliveries whose manifest differs from the one they were last loaded with (or never loaded)."""
    if load_log is None or load_log.is_empty():
        return current
    loaded = load_log.group_by("source", "delivery_date").agg(loaded_manifest=pl.col("manifest").first())
    joined = current.join(loaded, on=["source", "delivery_date"], how="left")
    return joined.filter(
        pl.col("loaded_manifest").is_null() | (pl.col("loaded_manifest") != pl.col("manifest"))
    ).drop("loaded_manifest")


def as_of(inventory: pl.DataFrame | None) -> dt.date:
    """The latest delivery date in the landing zone: the rules' "today" (never the wall clock)."""
    dates = inventory.filter(pl.col("problem").is_null())["delivery_date"] if inventory is not None else None
    if dates is None or dates.is_empty():
        raise ValueError("the landing zone has no delivery: the as-of date is the latest delivery date")
    return dates.max()
