"""Data Docs: an index linking every run's page, earlier runs kept, and nothing loaded from the network."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from pipelines.quality import ValidationRun, build_data_docs
from pipelines.quality.data_docs import CDN_FILES, VENDOR, localise
from tests.quality.frames import INJECTED

pytestmark = pytest.mark.xdist_group("great_expectations")  # one worker pays the GX import

ASSET_REF = re.compile(r"<(?:script|link|img)\b[^>]*?\b(?:src|href)=[\"']([^\"']*)[\"']", re.IGNORECASE)
CSS_URL = re.compile(r"url\([\"']?([^)\"']+)[\"']?\)")
ROW_LINK = re.compile(r"'_table_row_link_path': '([^']+)'")


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, clean_run: ValidationRun, broken_run: ValidationRun
) -> Path:
    """A site built twice, as two nightly runs would: the second build must keep the first run."""
    site_dir = tmp_path_factory.mktemp("data_docs")
    build_data_docs([clean_run], site_dir)
    assert build_data_docs([broken_run], site_dir) == site_dir / "index.html"
    return site_dir


def page_of(run: ValidationRun) -> str:
    suite, run_name, run_time, batch = run.result_key
    return f"validations/{suite}/{run_name}/{run_time}/{batch}.html"


def test_index_links_the_pages_of_every_run_built_so_far(
    site: Path, clean_run: ValidationRun, broken_run: ValidationRun
) -> None:
    links = ROW_LINK.findall((site / "index.html").read_text(encoding="utf-8"))
    newest_first = sorted([clean_run, broken_run], key=lambda run: run.result_key[2], reverse=True)
    assert [link for link in links if link.startswith("validations/")] == [
        page_of(run) for run in newest_first
    ]
    assert "expectations/test_registration.html" in links
    assert all((site / link).is_file() for link in links)


def test_no_page_loads_anything_from_the_network_and_every_local_asset_exists(site: Path) -> None:
    pages = list(site.rglob("*.html"))
    assert len(pages) == 4  # index, suite, two runs
    for page in pages:
        text = page.read_text(encoding="utf-8")
        refs = ASSET_REF.findall(text) + CSS_URL.findall(text)
        assert refs, page
        assert not [ref for ref in refs if ref.startswith(("http://", "https://", "//"))], page
        assert "integrity=" not in text and "crossorigin=" not in text
        missing = [ref for ref in refs if not ref.startswith("data:") and not (page.parent / ref).is_file()]
        assert not missing, (page, missing)


def test_vendored_stylesheets_find_their_fonts(site: Path) -> None:
    css = site / "static" / "vendor" / "fontawesome-free@6.6.0" / "css" / "all.min.css"
    fonts = {ref for ref in CSS_URL.findall(css.read_text(encoding="utf-8")) if ref.endswith(".woff2")}
    assert len(fonts) == 4
    assert all((css.parent / font).is_file() for font in fonts)


def test_offending_values_are_shown_as_text_not_markup(site: Path, broken_run: ValidationRun) -> None:
    text = (site / page_of(broken_run)).read_text(encoding="utf-8")
    assert html.escape(INJECTED) in text
    assert INJECTED not in text
    assert "歇业" in text


def test_every_cdn_url_has_its_vendored_file() -> None:
    assert all((VENDOR / path).is_file() for path in CDN_FILES.values())
    assert sum(f.stat().st_size for f in VENDOR.rglob("*") if f.is_file()) < 3_000_000


def test_localise_fixes_gx_paths_and_refuses_unknown_cdns(tmp_path: Path) -> None:
    page = tmp_path / "validations" / "s" / "run" / "time" / "batch.html"
    favicon = '<link rel="shortcut icon" href="../../../static/images/favicon.ico" type="image/x-icon"/>'
    assert 'href="../../../../static/images/favicon.ico"' in localise(favicon, page, tmp_path)
    with pytest.raises(ValueError, match="not vendored"):
        localise('<script src="https://cdn.example/new.js"></script>', page, tmp_path)
    anchor = '<a href="https://greatexpectations.io">GX</a>'
    assert localise(anchor, page, tmp_path) == anchor  # links to follow are not assets to load


def test_results_older_than_the_window_leave_the_site(
    tmp_path: Path, clean_run: ValidationRun, broken_run: ValidationRun
) -> None:
    """A year of nights must not make every night's build longer: older deliveries' pages are forgotten."""
    kept, pruned = tmp_path / "kept", tmp_path / "pruned"
    for site_dir, keep_days in ((kept, 1), (pruned, 0)):  # the two runs are of 2026-11-01 and 2026-11-02
        build_data_docs([clean_run], site_dir, keep_days)
        build_data_docs([broken_run], site_dir, keep_days)
    links = ROW_LINK.findall((kept / "index.html").read_text(encoding="utf-8"))
    assert {page_of(clean_run), page_of(broken_run)} <= set(links)
    links = ROW_LINK.findall((pruned / "index.html").read_text(encoding="utf-8"))
    assert page_of(broken_run) in links and page_of(clean_run) not in links
    assert not (pruned / page_of(clean_run)).exists() and (pruned / page_of(broken_run)).is_file()
    assert not list((pruned / "_store" / "validations").rglob("*2026-11-01*"))
