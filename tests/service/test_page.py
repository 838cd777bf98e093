"""The officer page in a real browser: Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.service.conftest import Server

pytestmark = pytest.mark.xdist_group("service")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_an_officer_searches_enters_a_key_and_reads_a_profile(server: Server, tmp_path: Path) -> None:
    entity_id, name = server.sql(
        """select entity_id, name from golden_entity where licence_count > 0 and inspection_count > 0
           and name is not null order by entity_id limit 1"""
    )[0]
    licences = [
        r[0]
        for r in server.sql("select licence_no from licence_fact where entity_id = ? order by 1", [entity_id])
    ]
    inspections = server.sql("select count(*) from inspection_fact where entity_id = ?", [entity_id])[0][0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport=PHONE)
        page.goto(server.url + "/")
        assert "经济主体查询" in page.title()
        page.fill("input[name=key]", server.keys.internal)
        with page.expect_navigation():
            page.click("form[action='/key'] button")
        assert "内部" in page.inner_text("header")
        cookie = next(c for c in page.context.cookies() if c["name"] == "elk_key")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        page.fill("input[name=q]", name)
        with page.expect_navigation():
            page.click("form[role=search] button")
        page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
        with page.expect_navigation():
            page.click(f"#results a[href='/entity/{entity_id}']")
        assert page.inner_text("#entity-name") == name
        shown = page.locator("#licences tr td:first-child").all_inner_texts()
        assert sorted(shown) == licences
        assert page.locator("#inspections tr").count() == inspections + 1  # and the header row
        assert page.locator("#provenance").is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]  # tables scroll inside their box; the page itself fits a phone
        page.screenshot(path=str(tmp_path / "profile.png"), full_page=True)
        browser.close()
