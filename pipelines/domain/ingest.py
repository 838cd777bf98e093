"""Load one delivery folder: every row as delivered text with its lineage, the rest in quarantine with a reason."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.domain import divisions
from pipelines.domain.contract import SPECS, SourceSpec
from pipelines.domain.readers import FileRead, UnreadableFile, read_file
from pipelines.domain.row_rules import split_rows

DISTRICT_FILE = re.compile(r"^([0-9]{6})(_[^/]*)?\.(csv|xlsx)$", re.IGNORECASE)
QUARANTINE_SCHEMA = {
    "source": pl.String,
    "delivery_date": pl.Date,
    "file": pl.String,
    "file_sha256": pl.String,
    "row": pl.Int64,  # spreadsheet row (header = 1); null when the whole file is quarantined
    "reason": pl.String,
    "raw_text": pl.String,
    "run_id": pl.String,
}
LOAD_LOG_SCHEMA = {
    "source": pl.String,
    "delivery_date": pl.Date,
    "file": pl.String,
    "file_sha256": pl.String,
    "status": pl.String,  # loaded | quarantined | duplicate
    "duplicate_of": pl.String,
    "encoding": pl.String,
    "file_format": pl.String,
    "rows_read": pl.Int64,
    "rows_loaded": pl.Int64,
    "rows_quarantined": pl.Int64,
    "seconds": pl.Float64,
    "reason": pl.String,
    "manifest": pl.String,  # the delivery's manifest when it was loaded (decides whether to reload)
    "run_id": pl.String,
}
LINEAGE_COLUMNS = ("delivery_date", "source_file", "file_sha256", "source_row", "run_id")


@dataclass(frozen=True)
class DeliveryLoad:
    rows: pl.DataFrame  # record_key + the source's canonical text columns + lineage
    quarantine: pl.DataFrame
    log: pl.DataFrame


def raw_schema(spec: SourceSpec) -> dict[str, pl.DataType]:
    """Columns of a source's delivery table: every canonical column as text, the record key, lineage."""
    schema: dict[str, pl.DataType] = {"record_key": pl.String()}
    schema.update({c: pl.String() for c in spec.columns if c != "record_key"})
    if spec.name == "district":
        schema["district_file_code"] = pl.String()
    schema.update(
        delivery_date=pl.Date(),
        source_file=pl.String(),
        file_sha256=pl.String(),
        source_row=pl.Int64(),
        run_id=pl.String(),
    )
    return schema


def load_delivery(landing: Path, files: pl.DataFrame, manifest: str, run_id: str) -> DeliveryLoad:
    """Load the files of one delivery (inventory rows of one source and date), in path order."""
    loaded, quarantined, logs = [], [], []
    for file in files.sort("path").iter_rows(named=True):
        started = time.perf_counter()
        rows, bad, log = _load_file(landing, file, run_id)
        log.update(seconds=round(time.perf_counter() - started, 3), manifest=manifest, run_id=run_id)
        loaded.append(rows)
        quarantined.append(bad)
        logs.append(log)
    source = files["source"][0]
    schema = raw_schema(SPECS[source])
    rows = pl.concat(
        [r.select(list(schema)) for r in loaded if r is not None] or [pl.DataFrame(schema=schema)]
    )
    quarantine = pl.concat(
        [q.select(list(QUARANTINE_SCHEMA)) for q in quarantined] or [pl.DataFrame(schema=QUARANTINE_SCHEMA)]
    )
    return DeliveryLoad(rows, quarantine, pl.DataFrame(logs, schema=LOAD_LOG_SCHEMA))


def _load_file(landing: Path, file: dict, run_id: str) -> tuple[pl.DataFrame | None, pl.DataFrame, dict]:
    spec = SPECS[file["source"]]
    log = dict(
        source=spec.name,
        delivery_date=file["delivery_date"],
        file=file["path"],
        file_sha256=file["sha256"],
        duplicate_of=file["duplicate_of"],
        encoding=None,
        file_format=None,
        rows_read=0,
        rows_loaded=0,
        rows_quarantined=0,
        reason=None,
    )
    context = dict(
        source=spec.name,
        delivery_date=file["delivery_date"],
        file=file["path"],
        file_sha256=file["sha256"],
        run_id=run_id,
    )
    if file["duplicate_of"] is not None:
        log.update(status="duplicate", reason=f"same bytes as {file['duplicate_of']}: nothing to load")
        return None, _quarantine_frame([]), log
    try:
        district_code = _district_code(file["file_name"]) if spec.name == "district" else None
        read = read_file(landing / file["path"], spec)
    except UnreadableFile as problem:
        log.update(status="quarantined", reason=str(problem), rows_quarantined=1)
        return None, _quarantine_frame([dict(context, row=None, reason=str(problem), raw_text=None)]), log
    rows, bad = _rows_and_bad(read, spec, file, district_code, run_id)
    quarantine = _quarantine_frame(
        [dict(context, row=r, reason=reason, raw_text=raw) for r, reason, raw in read.bad_rows.iter_rows()]
    )
    quarantine = pl.concat(
        [
            quarantine,
            bad.with_columns(**{k: pl.lit(v) for k, v in context.items()})
            .select(list(QUARANTINE_SCHEMA))
            .cast(QUARANTINE_SCHEMA),
        ]
    )
    rows_read = read.rows.height + read.bad_rows.height
    skipped = rows_read - rows.height - quarantine.height
    log.update(
        status="loaded",
        encoding=read.encoding,
        file_format=read.file_format,
        rows_read=rows_read,
        rows_loaded=rows.height,
        rows_quarantined=quarantine.height,
        reason=f"{skipped} undecided worksheet rows skipped" if skipped else None,
    )
    return rows, quarantine, log


def _rows_and_bad(
    read: FileRead, spec: SourceSpec, file: dict, district_code: str | None, run_id: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    good, bad = split_rows(_decided_rows(read.rows) if spec.name == "corrections" else read.rows, spec)
    bad = bad.select(
        row="source_row", reason="reason", raw_text=_csv_line([c for c in read.headers.values()])
    )
    lineage = dict(
        delivery_date=file["delivery_date"],
        source_file=file["path"],
        file_sha256=file["sha256"],
        run_id=run_id,
    )
    good = good.with_columns(
        **{k: pl.lit(v) for k, v in lineage.items()}, record_key=_record_key(spec, file, district_code)
    )
    if district_code is not None:
        good = good.with_columns(district_file_code=pl.lit(district_code))
    missing = {c: pl.lit(None, dtype=t) for c, t in raw_schema(spec).items() if c not in good.columns}
    return good.with_columns(**missing).cast({"delivery_date": pl.Date}), bad


def _decided_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Worksheet rows a steward left undecided (no action, steward or date) carry no decision: skipped."""
    decision = [c for c in ("action", "steward", "decided_on") if c in rows.columns]
    blank = pl.all_horizontal([pl.col(c).str.strip_chars() == "" for c in decision])
    return rows.filter(~blank)


def _record_key(spec: SourceSpec, file: dict, district_code: str | None) -> pl.Expr:
    if spec.name == "district":
        return pl.lit(f"{district_code}-") + pl.col("record_no").str.strip_chars()
    if spec.name == "corrections":
        return pl.lit(f"{file['file_name']}:") + pl.col("source_row").cast(pl.String)
    return pl.col("record_key").str.strip_chars()


def _district_code(file_name: str) -> str:
    match = DISTRICT_FILE.match(file_name)
    if not match:
        raise UnreadableFile(
            "district file name must start with a 6-digit division code, e.g. 330212_yinzhou.csv"
        )
    code = divisions.LEGACY_CODES.get(match.group(1), match.group(1))
    if code not in divisions.BY_CODE:
        raise UnreadableFile(f"district file names division code {match.group(1)}, not a Ningbo district")
    return code


def _csv_line(columns: list[str]) -> pl.Expr:
    """The row's delivered values as one csv line (RFC 4180 quoting), for stewards to read."""
    quoted = [
        pl.when(pl.col(c).str.contains(r'[",\r\n]'))
        .then(pl.lit('"') + pl.col(c).str.replace_all('"', '""', literal=True) + pl.lit('"'))
        .otherwise(pl.col(c))
        for c in columns
    ]
    return pl.concat_str(quoted, separator=",")


def _quarantine_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=QUARANTINE_SCHEMA)
