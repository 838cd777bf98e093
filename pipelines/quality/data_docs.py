"""GX Data Docs for validation runs, rendered fully styled offline.

GX's page templates load Bootstrap, jQuery, Font Awesome, bootstrap-table, Vega … from CDNs and its
logo from S3, so an offline browser shows an unstyled page with an empty results table. The exact files
are vendored under ./static/vendor (see its README); every build copies them into the site and rewrites
each reference to a path relative to the page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.quality.gx_runner import ExpectationOutcome, ValidationRun, ephemeral_context, import_gx

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult

SITE_NAME = "lakehouse_quality"
# GX's suites and results as JSON, kept with the site so each rebuild's index still lists earlier runs.
STORE_DIR = "_store"
# Validation runs waiting for the next build: each delivery's step queues its runs, and the quality report
# renders them all at once (one GX import and template compile per run of the pipeline, not per delivery).
PENDING_DIR = "_pending"
VENDOR = Path(__file__).parent / "static" / "vendor"

# Every CSS/JS URL in GX 1.24's page templates -> the vendored file, "package@version/path".
CDN_FILES = {
    "https://cdn.jsdelivr.net/npm/vega@5": "vega@5.33.1/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite@5.23.0/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed@6.29.0/build/vega-embed.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-free@6.6.0/css/all.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery@3.7.1/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js@1.12.9/dist/umd/popper.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap@4.3.1/dist/js/bootstrap.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap@4.3.1/dist/css/bootstrap.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table@1.19.1/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table@1.19.1/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker@1.9.0/dist/js/bootstrap-datepicker.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker@1.9.0/dist/css/bootstrap-datepicker.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css"
    ),
}
# GX's logos on S3 -> the logo GX copies into the site; the dark-theme logo is not shipped with GX.
GX_ASSET_HOST = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
GX_IMAGES = {"logo-long.png": "images/logo-long.png", "full_logo_dark.png": "images/logo-long.png"}

_ASSET_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>", re.IGNORECASE)
_REF = re.compile(r"\b(src|href)=([\"'])(.*?)\2")
# Subresource integrity needs a CORS fetch, which file:// pages cannot make; the vendored files were
# checked against GX's hashes when vendored.
_SRI = re.compile(r"\s+(?:integrity|crossorigin)=([\"']).*?\1")
_CSS_URL = re.compile(r"url\(([\"']?)(https?://[^)\"']+)\1\)")
_STYLE = re.compile(r"<style\b[^>]*>.*?</style>", re.IGNORECASE | re.DOTALL)


def queue(runs: list[ValidationRun], site_dir: Path) -> Path:
    """Keep `runs` for the next `build_pending`, and return the site's index.html (where they will show)."""
    folder = Path(site_dir) / PENDING_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for run in runs:
        name = hashlib.sha256("/".join(run.result_key).encode()).hexdigest()[:24]
        partial = folder / f".{name}.json.partial"  # renamed whole: a killed step never leaves half a file
        partial.write_text(json.dumps(dataclasses.asdict(run), ensure_ascii=False), encoding="utf-8")
        partial.replace(folder / f"{name}.json")
    return Path(site_dir).resolve() / "index.html"


def build_pending(site_dir: Path, keep_days: int | None = None) -> Path:
    """Render every queued run into the site, then forget them; the site's index.html. A run killed before
    the forgetting renders the same pages again next time. `keep_days`: see `prune`."""
    files = sorted((Path(site_dir) / PENDING_DIR).glob("*.json"))
    if files:
        runs = [_run_from(json.loads(f.read_text(encoding="utf-8"))) for f in files]
        build_data_docs(runs, site_dir, keep_days)
        for file in files:
            file.unlink()
    return Path(site_dir).resolve() / "index.html"


def _run_from(stored: dict[str, Any]) -> ValidationRun:
    outcomes = [ExpectationOutcome(**outcome) for outcome in stored["outcomes"]]
    return ValidationRun(**{**stored, "outcomes": outcomes, "result_key": tuple(stored["result_key"])})


def build_data_docs(runs: list[ValidationRun], site_dir: Path, keep_days: int | None = None) -> Path:
    """Add `runs` to the Data Docs site in `site_dir` (earlier runs stay, within `keep_days`: see `prune`)
    and return its index.html."""
    import_gx()
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    site_dir = Path(site_dir).resolve()
    started = time.time_ns()
    context = ephemeral_context(store_dir=site_dir / STORE_DIR, data_docs_sites=_site_config(site_dir))
    new_pages: list[Any] = []
    for run in runs:
        context.suites.add_or_update(ExpectationSuite(**run.suite_json))
        key = ValidationResultIdentifier.from_tuple(run.result_key)
        context.validation_results_store.set(key, _result_from_json(_escape_data(run.result_json)))
        new_pages += [key, ExpectationSuiteIdentifier(name=run.suite)]
    if keep_days is not None:
        prune(site_dir, keep_days)
    # Only the new runs' pages are rendered; the index is rebuilt from every stored result.
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=new_pages)
    make_offline(site_dir, written_since=started)
    return site_dir / "index.html"


def prune(site_dir: Path, keep_days: int) -> list[str]:
    """Forget the results (stored and rendered) of deliveries more than `keep_days` before the newest one.

    The index is rebuilt from every stored result (about 5 ms each), so without this each night's build took
    longer than the last (0.9 s a night at first, 2.6 s after 60 nights at 20k entities). Every outcome
    stays in the lake's quality/quality_result table. A run is dated by the delivery date that ends its
    name; others stay."""
    stored = site_dir / STORE_DIR / "validations"
    runs = {run: _delivery_date(run.name) for run in stored.glob("*/*") if run.is_dir()}
    dates = [day for day in runs.values() if day is not None]
    if not dates:
        return []
    cutoff = max(dates) - dt.timedelta(days=keep_days)
    forgotten = sorted(run for run, day in runs.items() if day is not None and day < cutoff)
    for run in forgotten:
        shutil.rmtree(run)
        shutil.rmtree(site_dir / "validations" / run.parent.name / run.name, ignore_errors=True)
    return [run.name for run in forgotten]


def _delivery_date(run_name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(run_name[-10:])
    except ValueError:
        return None


def make_offline(site_dir: Path, written_since: int = 0) -> None:
    """Copy the vendored assets into the site and point its pages written since `written_since` (ns) at them
    instead of the network; earlier pages were made offline when they were written (a site of a year of
    nights is not rewritten every night)."""
    shutil.copytree(VENDOR, site_dir / "static" / "vendor", dirs_exist_ok=True)
    documents = [*site_dir.rglob("*.html"), *(site_dir / "static" / "styles").glob("*.css")]
    for document in (d for d in documents if d.stat().st_mtime_ns >= written_since):
        text = document.read_text(encoding="utf-8")
        localised = localise(text, document, site_dir)
        if localised != text:
            document.write_text(localised, encoding="utf-8")


def localise(text: str, document: Path, site_dir: Path) -> str:
    """`text` of `document` with CDN/S3 asset references (and GX's misplaced static ones) made local.

    Only asset tags and style sheets are touched, never page text, which carries the validated data.
    """

    def css(block: str) -> str:
        return _CSS_URL.sub(
            lambda url: f"url({url[1]}{_local_ref(url[2], document, site_dir)}{url[1]})", block
        )

    def asset_tag(tag: re.Match[str]) -> str:
        with_local_refs = _REF.sub(
            lambda ref: f"{ref[1]}={ref[2]}{_local_ref(ref[3], document, site_dir)}{ref[2]}", tag[0]
        )
        return _SRI.sub("", with_local_refs)

    if document.suffix == ".css":
        return css(text)
    return _STYLE.sub(lambda style: css(style[0]), _ASSET_TAG.sub(asset_tag, text))


def _local_ref(ref: str, document: Path, site_dir: Path) -> str:
    static_path = _static_path(ref)
    if static_path is None:
        return ref
    return Path(os.path.relpath(site_dir / "static" / static_path, document.parent)).as_posix()


def _static_path(ref: str) -> str | None:
    """Where under the site's static/ a reference should point, or None to leave it as it is."""
    if ref in CDN_FILES:
        return f"vendor/{CDN_FILES[ref]}"
    if ref.startswith(GX_ASSET_HOST):
        name = ref.removeprefix(GX_ASSET_HOST).split("?")[0]
        if name in GX_IMAGES:
            return GX_IMAGES[name]
    if ref.startswith(("http://", "https://", "//")):
        raise ValueError(f"GX Data Docs reference an asset that is not vendored: {ref}")
    if "static/" in ref:
        # GX's relative static paths are recomputed: its favicon link on validation pages is one level short.
        return ref.split("static/", 1)[1]
    return None


def _site_config(site_dir: Path) -> dict[str, Any]:
    return {
        SITE_NAME: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,  # no GX tutorial modal or call-to-action buttons for stewards
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    }


def _escape_data(result_json: dict[str, Any]) -> dict[str, Any]:
    """The result with every text in its observed data HTML-escaped: GX 1.24 puts offending values into
    the page verbatim, so a value like '<img src=…>' from a delivery would become live markup."""
    escaped = [{**r, "result": _escape(r.get("result") or {})} for r in result_json["results"]]
    return {**result_json, "results": escaped}


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def _result_from_json(result_json: dict[str, Any]) -> ExpectationSuiteValidationResult:
    from great_expectations.core.expectation_validation_result import expectationSuiteValidationResultSchema

    result: ExpectationSuiteValidationResult = expectationSuiteValidationResultSchema.load(result_json)
    return result
