"""Retake the README screenshots (a maintainer's tool; no test needs it).

    # a completed run, then its webserver:
    entity-lakehouse demo --entities 3000 --days 3 --out /tmp/shots/landing
    entity-lakehouse run --landing /tmp/shots/landing --lake /tmp/shots/lake \
        --warehouse /tmp/shots/warehouse/curated.duckdb --dagster-home /tmp/shots/dagster_home
    ENTITY_LANDING_DIR=... ENTITY_LAKE_DIR=... ENTITY_WAREHOUSE=... DAGSTER_HOME=/tmp/shots/dagster_home \
        dagster-webserver -w workspace.yaml -h 127.0.0.1 -p 3000
    python docs/screenshots/take.py --port 3000 --warehouse /tmp/shots/warehouse [names...]

Drives Debian's headless `chromium` over the DevTools protocol (the `websockets` package that uvicorn brings),
so it can wait for the page's content, click, and take the shot. Pillow keeps each PNG under MAX_BYTES.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import duckdb
import websockets
from PIL import Image

from pipelines.storage import catalog

HERE = Path(__file__).resolve().parent
MAX_BYTES = 400_000
CHROMIUM = [
    "chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
]


@dataclass(frozen=True)
class Shot:
    url: str
    wait_for: tuple[str, ...]  # texts on the page once it has rendered
    size: tuple[int, int] = (1600, 1000)
    click: str | None = None  # then click the element with exactly this text, and wait for `then`
    then: tuple[str, ...] = ()
    full_page: int = 0  # capture the page down to this many pixels (static reports)
    scroll: int = 0  # then turn the mouse wheel this much over the page's middle (pans a graph)
    clip: tuple[int, int, int, int, float] | None = (
        None  # x, y, width, height, zoom: a part of the page, magnified
    )
    settle: float = 2.0


def shots(ui: str, reports: Path, latest_delivery: str) -> dict[str, Shot]:
    return {
        # The layers as collapsed groups; the graph part only, magnified (its zoom stops short of filling the page).
        "asset_graph": Shot(
            f"{ui}/asset-groups",
            ("Global asset lineage", "silver", "curated"),
            clip=(560, 400, 1030, 200, 1.5),
        ),
        "golden_entity_lineage": Shot(
            f"{ui}/assets/curated/golden_entity?view=lineage&lineageScope=upstream&lineageDepth=6",
            ("Upstream", "entity_xref", "golden_entity"),
            size=(1600, 1200),
            scroll=60,
        ),
        "runs": Shot(f"{ui}/runs", ("consolidate_job", "ingest_registration_job", "entity_lakehouse/batch")),
        "golden_entity_columns": Shot(
            f"{ui}/assets/curated/golden_entity",
            ("Columns", "entity_id", f"{catalog.GOLDEN_ENTITY}.uscc"),
            size=(1600, 1300),
        ),
        "golden_entity_column_lineage": Shot(
            f"{ui}/assets/curated/golden_entity?view=events",
            ("column_lineage",),
            size=(1600, 1100),
            click="[Show Markdown]",
            then=(catalog.deliveries("registration"),),
        ),
        "silver_registration_checks": Shot(
            f"{ui}/assets/silver/registration?view=checks", ("Latest execution", "Checks (")
        ),
        "registration_deliveries_partitions": Shot(
            f"{ui}/assets/bronze/registration_deliveries?view=partitions&partition={latest_delivery}",
            ("Materialized (", "Latest materialization", "Run"),
        ),
        "run_report": Shot(
            (reports / "index.html").as_uri(),
            ("Published tables",),
            size=(1400, 1000),
            full_page=1800,
            settle=0.5,
        ),
        "quality_report": Shot(
            (reports / "quality" / "index.html").as_uri(),
            ("Failed expectations",),
            size=(1700, 1000),
            full_page=1800,
            settle=0.5,
        ),
    }


def dismiss_first_visit_modal(ui: str) -> None:
    """The community 'first visit' dialog would cover every headless shot."""
    body = json.dumps({"query": "mutation SetNuxSeen { setNuxSeen }"}).encode()
    request = urllib.request.Request(f"{ui}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.load(response)["data"]["setNuxSeen"] is True


class Tab:
    def __init__(self, socket) -> None:
        self.socket, self.last = socket, 0

    async def call(self, method: str, **params):
        self.last += 1
        await self.socket.send(json.dumps({"id": self.last, "method": method, "params": params}))
        while True:
            message = json.loads(await self.socket.recv())
            if message.get("id") == self.last:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    async def js(self, expression: str):
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        return result["result"].get("value")

    async def wait_for(self, texts: tuple[str, ...], timeout: float = 60) -> None:
        check = " && ".join(f"document.body.innerText.includes({json.dumps(t)})" for t in texts) or "true"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.js(f"!!document.body && {check}"):
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(f"page never showed {texts}")


async def capture(shot: Shot) -> bytes:
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        browser = subprocess.Popen(
            [*CHROMIUM, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            for _ in range(300):
                if port_file.exists() and port_file.read_text().strip():
                    break
                time.sleep(0.1)
            port = port_file.read_text().split()[0]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as answer:
                target = next(t for t in json.load(answer) if t["type"] == "page")
            async with websockets.connect(target["webSocketDebuggerUrl"], max_size=None) as socket:
                tab = Tab(socket)
                width, height = shot.size
                await tab.call(
                    "Emulation.setDeviceMetricsOverride",
                    width=width,
                    height=height,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                await tab.call("Page.enable")
                await tab.call("Page.navigate", url=shot.url)
                await tab.wait_for(shot.wait_for)
                if shot.click:
                    clicked = await tab.js(
                        "(() => { const e = [...document.querySelectorAll('*')]"
                        f".filter(x => x.textContent.trim() === {json.dumps(shot.click)}).pop(); if (e) e.click(); return !!e; }})()"
                    )
                    assert clicked, f"nothing to click: {shot.click}"
                    await tab.wait_for(shot.then)
                if shot.scroll:
                    await tab.call(
                        "Input.dispatchMouseEvent",
                        type="mouseWheel",
                        x=width // 2,
                        y=height // 2,
                        deltaX=0,
                        deltaY=shot.scroll,
                    )
                await asyncio.sleep(shot.settle)
                params = {"format": "png"}
                if shot.full_page:
                    page_height = await tab.js("document.documentElement.scrollHeight")
                    params |= {
                        "captureBeyondViewport": True,
                        "clip": {
                            "x": 0,
                            "y": 0,
                            "width": width,
                            "height": min(page_height, shot.full_page),
                            "scale": 1,
                        },
                    }
                if shot.clip:
                    x, y, clip_width, clip_height, zoom = shot.clip
                    params["clip"] = {
                        "x": x,
                        "y": y,
                        "width": clip_width,
                        "height": clip_height,
                        "scale": zoom,
                    }
                return base64.b64decode((await tab.call("Page.captureScreenshot", **params))["data"])
        finally:
            browser.terminate()
            browser.wait(timeout=30)


def save(png: bytes, target: Path) -> None:
    """A 256-colour PNG, scaled down until it is under MAX_BYTES."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    while True:
        data = io.BytesIO()
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            data, "PNG", optimize=True
        )
        if data.tell() <= MAX_BYTES or image.width < 800:
            target.write_bytes(data.getvalue())
            return
        image = image.resize((int(image.width * 0.85), int(image.height * 0.85)), Image.Resampling.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument(
        "--warehouse", type=Path, required=True, help="the folder holding curated.duckdb and reports/"
    )
    parser.add_argument("names", nargs="*", help="only these shots")
    args = parser.parse_args()
    ui = f"http://127.0.0.1:{args.port}"
    dismiss_first_visit_modal(ui)
    warehouse = args.warehouse.resolve()
    with duckdb.connect(str(warehouse / "curated.duckdb"), read_only=True) as connection:
        latest = connection.sql(
            "select max(delivery_date) from load_summary where source = 'registration'"
        ).fetchall()[0][0]
    for name, shot in shots(ui, warehouse / "reports", latest.isoformat()).items():
        if args.names and name not in args.names:
            continue
        target = HERE / f"{name}.png"
        save(asyncio.run(capture(shot)), target)
        print(f"{target.relative_to(HERE.parent.parent)}  {target.stat().st_size // 1024} KB  {shot.url}")


if __name__ == "__main__":
    main()
