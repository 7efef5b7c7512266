"""The dashboard in a real headless Chromium, served by `storemood serve` over a database that the real
pipeline filled: the demo clip (real packaged photos) and a real video from ../shared, each through the
retail sinks of its store layout, beside generated visits of a chain (enough to rank and compare).

At a phone's, a tablet's and a laptop's width (390, 820 and 1366 px) the page must not scroll sideways and
every chart must show what the API returns (read from the Chart.js objects and the page's elements); a
filter must change them; the time axis must be a real one; cameras must show their zones; new visits must
appear without a reload; raw visits stay behind `serve --raw-visits`; and an empty database must say what
to run. Screenshots go to test-artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from storemood.database.event_table import EventTable
from storemood.demo.clip import build_store_clip
from storemood.demo.run import demo_sinks
from storemood.emotions import FER7
from storemood.model_metadata import ModelInfo
from storemood.paths import DEFAULT_MODEL
from storemood.pipeline.loop import run_source
from storemood.pipeline.options import RunOptions
from storemood.pipeline.retail import build_sinks
from storemood.simulate import Chain, simulate
from synthetic_events import synthetic_events
from vision_fixtures import linear_model

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium's own update and sync calls meet the closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "dashboard-test-token-0123456789"
SHOP_YAML = """
id: {store}
name: Corner shop
settings: {{min_dwell_s: 0.5}}
cameras:
  - id: {camera}
    source: {source}
    zones:
      - id: left
        rect: [0.0, 0.0, 0.5, 1.0]
        product: {{sku: snacks, name: Crisps, brand: Crunchy}}
      - id: right
        rect: [0.5, 0.0, 0.5, 1.0]
        product: {{sku: juice, name: Orange juice, brand: Sunfield}}
"""


@pytest.fixture(scope="module")
def run_options(tmp_path_factory) -> RunOptions:
    """The shipped model when there is one, else a small generated model with the same contract."""
    model = (
        DEFAULT_MODEL
        if DEFAULT_MODEL.is_file()
        else linear_model(tmp_path_factory.mktemp("model") / "fer7.onnx", ModelInfo(classes=FER7))
    )
    return RunOptions(model=model, progress=False)


def run_shop(folder: Path, video: Path, url: str, options: RunOptions, store: str, camera: str, start: datetime) -> int:
    """Run the real pipeline on ``video`` as camera ``camera`` of shop ``store``; returns the visits stored."""
    layout = folder / f"{store}-{camera}.yaml"
    layout.write_text(SHOP_YAML.format(store=store, camera=camera, source=video), encoding="utf-8")
    sinks = build_sinks(layout, camera, url)
    run_source(video, replace(options, start_time=start), sinks=sinks)
    return sinks[0].visits


@pytest.fixture(scope="module")
def database(tmp_path_factory, real_videos, run_options) -> str:
    """Visits of the demo shop (the demo clip) and of a corner shop (a real video), a day apart."""
    folder = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{folder / 'events.db'}"
    clip = build_store_clip(folder / "store.avi")
    sinks = demo_sinks(url)
    run_source(clip.path, replace(run_options, start_time=datetime(2026, 11, 21, 10, tzinfo=UTC)), sinks=sinks)
    corner = run_shop(
        folder,
        real_videos / "single_face.mp4",
        url,
        run_options,
        "corner",
        "door",
        datetime(2026, 11, 22, 9, tzinfo=UTC),
    )
    assert sinks[0].visits and corner, "the pipeline stored no visits to show"
    # A chain's worth of generated visits the day before: enough per product and brand for figures,
    # rankings and significance tests, beside the real shops' few visits, which stay suppressed; and a
    # day of them eleven days earlier, a gap the time axis must show as eleven days.
    with EventTable(url) as events:
        events.add(synthetic_events(600, seed=2, start=datetime(2026, 11, 20, 8, tzinfo=UTC), days=1, unread_share=0.1))
        events.add(synthetic_events(150, seed=3, start=datetime(2026, 11, 9, 8, tzinfo=UTC), days=1, unread_share=0.1))
    return url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(url: str, token: str | None = None, *options: str) -> Iterator[str]:
    """Run `storemood serve` (with ``options``) in a child process; yields its base URL and stops it afterwards.

    Its log goes to a file: a pipe nobody reads would stall the server once its access log fills the pipe."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "STOREMOOD_API_TOKEN"}
    if token:
        env["STOREMOOD_API_TOKEN"] = token
    command = [sys.executable, "-m", "storemood", "serve", "--db", url, "--port", str(port), *options]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    if process.poll() is not None:
                        log.seek(0)
                        pytest.fail(f"storemood serve exited: {log.read()}")
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(database) -> Iterator[str]:
    with serve(database) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file() or shutil.which("chromium") is None:
        pytest.skip("headless Chromium (Debian package `chromium`) is not installed; tools/test.sh installs it")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is in the dev extra")
    with playwright_api.sync_playwright() as playwright:
        # Playwright gives every launch a fresh temporary profile (the --user-data-dir the flags need).
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_dashboard(browser, base: str, viewport=(1280, 900), timezone: str = "UTC"):
    page = browser.new_page(
        viewport={"width": viewport[0], "height": viewport[1]}, timezone_id=timezone, locale="en-US"
    )
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"{request.url} failed"))
    page.goto(base + "/")
    return page, problems


def wait_for_refresh(page, after: int = 0) -> int:
    """Wait until the page has finished a refresh beyond the ``after``-th and has none left to run (a filter
    changed during a refresh runs it once more); returns the count."""
    page.wait_for_function(
        "(after) => Number(document.body.dataset.refreshes || 0) > after && window.storemood.refreshing === null",
        arg=after,
        timeout=20_000,
    )
    return int(page.evaluate("document.body.dataset.refreshes"))


def api(base: str, path: str, **params) -> dict:
    response = httpx.get(base + path, params=params, timeout=30)
    response.raise_for_status()
    return response.json()


def chart_data(page, canvas_id: str) -> dict:
    """Labels and datasets of the Chart.js chart on a canvas, and how many of its pixels are painted."""
    return page.evaluate(
        """(id) => {
            const canvas = document.getElementById(id);
            const chart = Chart.getChart(canvas);
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted += 1;
            return {labels: chart.data.labels,
                    datasets: chart.data.datasets.map((d) => ({
                        label: d.label, key: d.key || null, data: d.data, role: d.role || null,
                        intervals: d.intervals || null,
                        colors: [].concat(d.borderColor || [], d.backgroundColor || []),
                    })),
                    painted};
        }""",
        canvas_id,
    )


def overview_figures(page) -> dict:
    return {name: page.inner_text(f"#{name}") for name in ("visits", "dwell", "valence")}


def signed(value: float) -> str:
    """``value`` as the dashboard's ``signed()`` writes it: JavaScript's ``toFixed(2)`` rounds the exact binary
    value and breaks ties away from zero (-0.125 is "-0.13"), where Python's format breaks them to even."""
    rounded = Decimal(abs(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{'+' if value >= 0 else '-'}{rounded}"


def signed_percent(value: float) -> str:
    """A share difference as the dashboard writes it: JavaScript's ``Math.round`` (ties up), sign for >= 0."""
    return f"{'+' if value >= 0 else ''}{math.floor(value * 100 + 0.5)}%"


def visits_text(row: dict) -> str:
    """Visits as the dashboard writes them: with how many had a readable face when some did not."""
    read = row.get("read_visits")
    return f"{row['visits']:,}" if read is None or read == row["visits"] else f"{row['visits']:,} ({read:,} read)"


def expected_figures(summary: dict) -> dict:
    """The overview cards; a group under the minimum group size shows only its visits."""
    if summary["suppressed"]:
        return {"visits": visits_text(summary), "dwell": "–", "valence": "–"}
    return {
        "visits": visits_text(summary),
        "dwell": f"{summary['dwell_median_s']:.1f} s",
        "valence": signed(summary["valence"]),
    }


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def fits_the_screen(page) -> bool:
    return page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")


def labels_of(rows: list[dict]) -> list[str]:
    """Product rows as the dashboard names them: "name (SKU)" when the product has a name."""
    return [
        f"{r['product_name']} ({r['product']})" if r["product_name"] not in ("", r["product"]) else r["product"]
        for r in rows
    ]


def check_overview(page, base: str, **filters) -> dict:
    overview = api(base, "/api/overview", **filters)
    assert overview_figures(page) == expected_figures(overview["summary"])
    overall = chart_data(page, "chart-overall")["datasets"][0]
    summary = overview["summary"]
    if summary["suppressed"]:  # fewer visits than k: no share is drawn
        assert overall["data"] == [None] * len(FER7)
    else:
        assert overall["data"] == pytest.approx([summary["shares"][name] for name in FER7])
        assert overall["intervals"] == [pytest.approx(summary["shares_ci95"][name]) for name in FER7]
    # Rankings come only from products with enough visits.
    assert page.locator("#top tbody tr:not(:has(.empty))").count() == len(overview["top"])
    if not overview["top"]:
        assert f"{overview['min_visits']} visits needed to rank" in page.inner_text("#top")
    assert all(row["enough_visits"] for row in overview["top"] + overview["bottom"])
    return overview


def check_products(page, base: str, **filters) -> list[dict]:
    rows = api(base, "/api/aggregates/product", limit=1000, sort="-visits", **filters)["rows"]
    shares = chart_data(page, "chart-shares")
    assert [label.removesuffix(" (suppressed)") for label in shares["labels"]] == labels_of(rows)
    for dataset in shares["datasets"]:
        expected = [row["shares"][dataset["label"]] if row["shares"] else None for row in rows]
        assert dataset["data"] == [None if value is None else pytest.approx(value) for value in expected]
    # Groups under the minimum group size show no figure, groups under the minimum sample are greyed.
    assert page.locator("#figures tbody tr.few").count() == sum(not r["enough_visits"] or r["suppressed"] for r in rows)
    assert page.locator("#figures thead th").nth(1).inner_text() == "Brand"
    return rows


def check_valence_and_dwell(page, base: str, rows: list[dict], timezone: str, **filters) -> None:
    """The valence lines (a time axis of real moments) and the dwell histograms equal the API's."""
    keys = page.evaluate("window.storemood.data.keys")
    bucket = page.evaluate("window.storemood.data.bucket")
    assert keys == [row["product"] for row in rows if not row["suppressed"]][: len(keys)] and keys
    points = api(
        base,
        "/api/valence-over-time",
        bucket=bucket,
        series="product",
        tz=timezone,
        product=keys,
        limit=1000,
        **filters,
    )["rows"]
    chart = chart_data(page, "chart-valence")
    lines = {d["key"]: d for d in chart["datasets"] if d["role"] == "value"}
    assert list(lines) == keys
    zone = ZoneInfo(timezone)
    for key, line in lines.items():
        mine = [p for p in points if p["product"] == key and p["valence"] is not None]
        moments = [moment(p["time"], zone) for p in mine]
        assert [point["x"] for point in line["data"]] == moments
        assert [point["y"] for point in line["data"]] == pytest.approx([p["valence"] for p in mine])
    palette = page.evaluate("window.storemood.seriesColors")
    emotion_colors = set(page.evaluate("Object.values(window.storemood.meta.colors)"))
    drawn = {color for d in chart["datasets"] for color in d["colors"] if d["role"] == "value"}
    assert drawn <= set(palette) and not drawn & emotion_colors, "products are drawn in emotion colours"
    dwell = chart_data(page, "chart-dwell")
    histogram = api(base, "/api/dwell-distribution", by="product", product=keys, limit=1000, **filters)
    shown = {row["product"]: row["bins"] for row in histogram["rows"] if row["bins"] is not None}
    assert {d["key"]: d["data"] for d in dwell["datasets"]} == {key: list(b.values()) for key, b in shown.items()}
    named = dict(zip([row["product"] for row in rows], labels_of(rows), strict=True))
    assert [d["label"] for d in dwell["datasets"]] == [named[d["key"]] for d in dwell["datasets"]]
    assert [d["label"] for d in chart["datasets"] if d["role"] == "value"] == [named[key] for key in keys]
    assert not {color for d in dwell["datasets"] for color in d["colors"]} & emotion_colors
    ticks = page.evaluate("Chart.getChart(document.getElementById('chart-dwell')).scales.y.ticks.map((t) => t.value)")
    assert all(float(value).is_integer() for value in ticks), "visit counts are whole numbers"


def moment(bucket: str, zone: ZoneInfo) -> int:
    """Milliseconds since the epoch of an API time bucket read in ``zone`` (UTC hours end in Z)."""
    if bucket.endswith("Z"):
        start = datetime.fromisoformat(bucket.removesuffix("Z")).replace(tzinfo=UTC)
    else:
        start = datetime.fromisoformat(bucket).replace(tzinfo=zone)
    return round(start.timestamp() * 1000)


def check_heatmap(page, base: str, timezone: str, **filters) -> None:
    cells = api(base, "/api/heatmap", tz=timezone, **filters)["cells"]
    shown = page.evaluate(
        """() => [...document.querySelectorAll('#heatmap .cell')].map((c) => [
            Number(c.dataset.weekday), Number(c.dataset.hour), Number(c.dataset.visits)])"""
    )
    assert len(shown) == 7 * 24
    assert {(day, hour): visits for day, hour, visits in shown if visits} == {
        (cell["weekday"], cell["hour"]): cell["visits"] for cell in cells
    }


@pytest.mark.parametrize("width", [390, 820, 1366])
def test_every_width_fits_the_screen_and_shows_the_apis_numbers(browser, server, width):
    page, problems = open_dashboard(browser, server, viewport=(width, 900))
    wait_for_refresh(page)
    assert page.is_hidden("#login") and page.is_hidden("#message")
    assert fits_the_screen(page), f"the page scrolls sideways at {width} px"
    check_overview(page, server)
    rows = check_products(page, server)
    check_valence_and_dwell(page, server, rows, "UTC")
    check_heatmap(page, server, "UTC")
    for canvas in ("chart-overall", "chart-shares", "chart-valence", "chart-dwell", "chart-compare"):
        assert chart_data(page, canvas)["painted"] > 500, f"{canvas} is blank"
    if width < 1024:  # phones and tablets: one column
        boxes = [page.locator(f"#{canvas}").bounding_box() for canvas in ("chart-valence", "chart-dwell")]
        assert boxes[1]["y"] > boxes[0]["y"] + boxes[0]["height"]
    shot(page, f"dashboard-{width}")
    assert not problems


@pytest.fixture(scope="module")
def simulated_server(tmp_path_factory) -> Iterator[str]:
    """A dashboard over a chain that ``storemood simulate`` wrote: 3 stores, 2 cameras each, two weeks."""
    url = f"sqlite:///{tmp_path_factory.mktemp('simulated') / 'events.db'}"
    end = datetime(2026, 11, 28, 21, tzinfo=UTC)
    simulate(url, Chain(3, 2), days=14, events=4000, seed=5, end=end, progress=False)
    with serve(url) as base:
        yield base


@pytest.mark.parametrize("width", [390, 820, 1366])
def test_a_simulated_chain_fits_every_width_and_shows_the_apis_numbers(browser, simulated_server, width):
    page, problems = open_dashboard(browser, simulated_server, viewport=(width, 900))
    wait_for_refresh(page)
    assert fits_the_screen(page), f"the page scrolls sideways at {width} px"
    check_overview(page, simulated_server)
    rows = check_products(page, simulated_server)
    assert sum(not row["suppressed"] for row in rows) >= 5, "the simulated chain should give figures to rank"
    check_heatmap(page, simulated_server, "UTC")
    shot(page, f"dashboard-simulated-{width}")
    assert not problems


def test_filters_change_every_panel(browser, server):
    page, problems = open_dashboard(browser, server, viewport=(1366, 900))
    refreshes = wait_for_refresh(page)
    everything = page.evaluate("window.storemood.data.heatmap.cells.length")
    page.select_option("#store", "corner")
    refreshes = wait_for_refresh(page, refreshes)
    corner = check_overview(page, server, store="corner")
    assert corner["summary"]["visits"] < api(server, "/api/overview")["summary"]["visits"]
    check_products(page, server, store="corner")
    check_heatmap(page, server, "UTC", store="corner")
    assert page.evaluate("window.storemood.data.heatmap.cells.length") < everything
    shot(page, "dashboard-corner-shop")
    # A custom period of one day keeps that day's visits only.
    page.select_option("#store", "")
    refreshes = wait_for_refresh(page, refreshes)
    page.select_option("#preset", "custom")
    refreshes = wait_for_refresh(page, refreshes)
    page.fill("#since", "2026-11-20")
    page.dispatch_event("#since", "change")
    refreshes = wait_for_refresh(page, refreshes)
    page.fill("#until", "2026-11-20")
    page.dispatch_event("#until", "change")
    wait_for_refresh(page, refreshes)
    day = {"since": "2026-11-20T00:00:00Z", "until": "2026-11-21T00:00:00Z"}
    check_overview(page, server, **day)
    check_heatmap(page, server, "UTC", **day)
    assert not problems


def test_the_time_axis_is_real_local_and_shows_gaps(browser, server):
    page, problems = open_dashboard(browser, server, timezone="America/New_York")
    wait_for_refresh(page)
    assert page.inner_text("#bucket").endswith("America/New_York)")
    rows = api(server, "/api/aggregates/product", limit=1000, sort="-visits")["rows"]
    check_valence_and_dwell(page, server, rows, "America/New_York")
    check_heatmap(page, server, "America/New_York")
    axis = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById('chart-valence'));
            const line = chart.data.datasets.findIndex((d) => d.role === 'value');
            const meta = chart.getDatasetMeta(line);
            return {type: chart.scales.x.type, ticks: chart.scales.x.ticks.map((t) => t.label),
                    pixels: meta.data.map((p) => p.x), xs: chart.data.datasets[line].data.map((p) => p.x),
                    segments: meta.dataset.segments.length};
        }"""
    )
    assert axis["type"] == "time"
    assert not any(re.match(r"\d{4}-\d{2}-\d{2}", tick) for tick in axis["ticks"]), "ticks are raw ISO text"
    # Eleven days without visits take eleven days of axis, and the line breaks there.
    days = [(b - a) / 86_400_000 for a, b in zip(axis["xs"], axis["xs"][1:], strict=False)]
    widths = [b - a for a, b in zip(axis["pixels"], axis["pixels"][1:], strict=False)]
    longest = days.index(max(days))
    assert max(days) >= 9
    assert widths[longest] / widths[days.index(min(days))] == pytest.approx(max(days) / min(days), rel=0.05)
    assert axis["segments"] >= 2, "the line is drawn across a gap"
    # The heatmap by valence: each hour's valence, or hatched when it has fewer than k visits.
    page.click("#when .toggle button[data-metric=valence]")
    cells = api(server, "/api/heatmap", tz="America/New_York")["cells"]
    shown = page.evaluate(
        """() => [...document.querySelectorAll('#heatmap .cell:not(.none)')].map((c) => [
            Number(c.dataset.weekday), Number(c.dataset.hour), c.dataset.valence ? Number(c.dataset.valence) : null,
            c.classList.contains('few')])"""
    )
    expected = [(c["weekday"], c["hour"], c["valence"], c["valence"] is None) for c in cells]
    assert sorted(tuple(cell) for cell in shown) == [
        (day, hour, pytest.approx(valence) if valence is not None else None, few)
        for day, hour, valence, few in sorted(expected, key=lambda cell: cell[:2])
    ]
    shot(page, "dashboard-new-york")
    assert not problems


def test_brands_and_the_per_emotion_differences_follow_the_api(browser, server):
    page, problems = open_dashboard(browser, server, viewport=(820, 1000))
    refreshes = wait_for_refresh(page)
    page.click("#details .toggle button[data-by=brand]")
    wait_for_refresh(page, refreshes)
    brands = api(server, "/api/aggregates/brand", limit=1000, sort="-visits")["rows"]
    assert chart_data(page, "chart-shares")["labels"] == [
        row["brand"] + (" (suppressed)" if row["suppressed"] else "") for row in brands
    ]
    headers = page.locator("#figures thead th").all_inner_texts()
    assert headers[:2] == ["Brand", "Visits"], "one brand column, not two"
    first, second = page.input_value("#compare-a"), page.input_value("#compare-b")
    ranked = [row["brand"] for row in brands if row["enough_visits"]]
    assert [first, second] == ranked[:2]
    comparison = api(server, "/api/compare", by="brand", a=first, b=second)
    assert page.inner_text("#compare-sentence") == comparison["sentence"]
    differences = chart_data(page, "chart-compare")["datasets"][0]
    assert differences["data"] == pytest.approx([comparison["share_differences"][name] for name in FER7])
    assert differences["intervals"] == [pytest.approx(comparison["share_differences_ci95"][name]) for name in FER7]
    assert page.inner_text("#compare-table tbody tr:nth-child(3) td:nth-child(4)") == signed(
        comparison["valence_difference"]
    )
    low, high = comparison["share_differences_ci95"]["happy"]
    happy = page.inner_text("#compare-table tbody tr:nth-child(8) td:nth-child(5)")
    assert happy == f"{signed_percent(low)} to {signed_percent(high)}"
    assert fits_the_screen(page)
    shot(page, "dashboard-brands-820")
    assert not problems


def camera_contract(base: str) -> dict:
    """An `/api/cameras` body as `storemood run` reports cameras: the demo shop's, the corner shop's and a
    chain store's camera, their zones as strips across the view, one live, one stale and one down."""
    zones = api(base, "/api/zones", limit=1000)["rows"]
    cameras = []
    for store, camera, status in (("demo", "shelf", "live"), ("corner", "door", "stale"), ("store-a", "cam-0", "down")):
        mine = [zone for zone in zones if zone["store"] == store]
        width = 1 / len(mine)
        cameras.append(
            {
                "store": store,
                "camera": camera,
                "status": status,
                "last_frame": datetime.now(UTC).isoformat(),
                "fps": 14.5,
                "dropped_frames": 3,
                "reconnects": 1,
                "faces_seen": 42,
                "still_url": f"/api/cameras/{store}/{camera}/still.jpg",
                "still_taken_at": datetime.now(UTC).isoformat(),
                "width": 640,
                "height": 360,
                "zones": [
                    {
                        "zone": zone["id"],
                        "product": zone["name"],
                        "product_name": "",
                        "brand": zone["brand"],
                        "polygon": [
                            [i * width, 0.2],
                            [(i + 1) * width - 0.02, 0.2],
                            [(i + 1) * width - 0.02, 0.9],
                            [i * width, 0.9],
                        ],
                    }
                    for i, zone in enumerate(mine)
                ],
            }
        )
    return {"cameras": cameras, "stale_after_s": 30, "down_after_s": 300}


def test_a_chains_cameras_show_every_status_and_zones_coloured_by_valence(browser, server):
    """The real runs report two cameras, soon stale, whose zones have too few visits for a valence: a chain's
    camera (as `/api/cameras` would report it, served to the page in its place) shows the rest."""
    import cv2
    import numpy as np

    body = camera_contract(server)
    still = cv2.imencode(".jpg", np.tile(np.linspace(40, 200, 640, dtype=np.uint8), (360, 1)))[1].tobytes()
    page, problems = open_dashboard(browser, server, viewport=(1366, 900))
    page.route("**/api/cameras?*", lambda route: route.fulfill(json=body))
    page.route("**/api/cameras/*/*/still.jpg", lambda route: route.fulfill(body=still, content_type="image/jpeg"))
    wait_for_refresh(page)
    zones = {(row["store"], row["zone"]): row for row in api(server, "/api/aggregates/zone", limit=1000)["rows"]}
    for camera in body["cameras"]:
        view = page.locator(f"figure.camera[data-camera='{camera['store']}/{camera['camera']}']")
        assert view.locator(".badge").inner_text().lower() == camera["status"]
        shapes = view.locator("polygon.zone")
        assert shapes.count() == len(camera["zones"])
        for index, zone in enumerate(camera["zones"]):
            figures = zones.get((camera["store"], zone["zone"]))
            assert shapes.nth(index).get_attribute("data-visits") == str(figures["visits"] if figures else 0)
        assert "14.5 frames/s" in view.locator(".heartbeat").inner_text()
        page.wait_for_function(
            "(name) => document.querySelector(`figure.camera[data-camera='${name}'] canvas.painted`) !== null",
            arg=f"{camera['store']}/{camera['camera']}",
        )
    assert page.is_hidden("#cameras-empty")
    assert page.locator("figure.camera").count() == len(body["cameras"])
    page.click("#cameras .toggle button[data-metric=valence]")
    page.wait_for_function("() => document.getElementById('camera-views').dataset.drawn === 'valence'")
    labels = page.locator("figure.camera text.zone-label").all_text_contents()
    shown = {row["zone"]: row["valence"] for row in zones.values() if row["store"] == "store-a"}
    assert {f"valence {signed(valence)}" for valence in shown.values()} <= set(labels)
    shot(page, "dashboard-cameras-1366")
    page.set_viewport_size({"width": 390, "height": 900})
    # Charts follow a new width on their next frame (a ResizeObserver); the page must then fit.
    page.wait_for_function("() => document.scrollingElement.scrollWidth <= innerWidth", timeout=5_000)
    assert fits_the_screen(page)
    shot(page, "dashboard-cameras-390")
    assert not problems


def test_the_cameras_of_a_real_run_show_their_still_and_zones(browser, server):
    """The demo clip and the corner shop's video ran through `storemood run`'s sinks: each camera reported
    its heartbeat, its zones and a still of its view."""
    body = api(server, "/api/cameras")
    reported = {(camera["store"], camera["camera"]): camera for camera in body["cameras"]}
    assert {("demo", "shelf"), ("corner", "door")} <= set(reported)
    zones = {
        (row["store"], row["zone"]): row["visits"] for row in api(server, "/api/aggregates/zone", limit=1000)["rows"]
    }
    page, problems = open_dashboard(browser, server, viewport=(820, 900))
    wait_for_refresh(page)
    page.wait_for_function("() => document.getElementById('camera-views').dataset.drawn === 'visits'")
    for (store, name), camera in reported.items():
        view = page.locator(f"figure.camera[data-camera='{store}/{name}']")
        assert view.locator(".badge").inner_text().lower() == camera["status"]
        shapes = view.locator("polygon.zone")
        assert shapes.count() == len(camera["zones"]) > 0
        visits = [shapes.nth(index).get_attribute("data-visits") for index in range(shapes.count())]
        assert visits == [str(zones.get((store, zone["zone"]), 0)) for zone in camera["zones"]]
        painted = view.locator("canvas.painted").count()
        assert painted == (1 if camera["still_url"] else 0)
    assert page.is_hidden("#cameras-empty")
    assert fits_the_screen(page)
    shot(page, "dashboard-cameras-820")
    assert not problems


def test_raw_visits_are_listed_only_when_the_server_allows_it(browser, server, database):
    page, problems = open_dashboard(browser, server, viewport=(390, 900))
    wait_for_refresh(page)
    assert "storemood serve --raw-visits" in page.inner_text("#visits-off")
    assert page.is_hidden("#visits-on")
    page.close()
    with serve(database, None, "--raw-visits") as base:
        page, problems = open_dashboard(browser, base, viewport=(390, 900))
        refreshes = wait_for_refresh(page)
        first = api(base, "/api/visits", limit=25)
        products = page.locator("#visits-table tbody tr td:nth-child(5)").all_inner_texts()
        assert products == labels_of(first["rows"])
        emotions = page.locator("#visits-table tbody tr td:nth-child(7)").all_inner_texts()
        assert emotions == [row["dominant_emotion"] or "face not readable" for row in first["rows"]]
        assert "face not readable" in emotions  # a tenth of these visits never showed a readable face
        assert fits_the_screen(page)
        shot(page, "dashboard-visits-390")
        page.click("#visits-next")
        page.wait_for_function("() => window.storemood.data.visits.offset === 25")
        second = api(base, "/api/visits", limit=25, offset=25)
        assert page.locator("#visits-table tbody tr td:nth-child(5)").all_inner_texts() == labels_of(second["rows"])
        with page.expect_download() as download:
            page.click("#visits-download")
        lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
        assert len(lines) == 1 + first["total"]
        page.select_option("#store", "corner")
        wait_for_refresh(page, refreshes)
        corner = api(base, "/api/visits", limit=25, store="corner")
        assert page.evaluate("window.storemood.data.visits.total") == corner["total"] < first["total"]
    assert not problems


def test_empty_states_say_what_to_do(browser, server, tmp_path):
    page, problems = open_dashboard(browser, server, viewport=(820, 900))
    refreshes = wait_for_refresh(page)
    page.select_option("#preset", "custom")
    refreshes = wait_for_refresh(page, refreshes)
    page.fill("#until", "2020-01-01")  # years before any stored visit
    page.dispatch_event("#until", "change")
    wait_for_refresh(page, refreshes)
    assert "No visits match these filters" in page.inner_text("#message")
    assert "storemood demo" not in page.inner_text("#message")
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    EventTable(url).close()
    with serve(url) as base:
        empty, more = open_dashboard(browser, base, viewport=(390, 900))
        wait_for_refresh(empty)
        message = empty.inner_text("#message")
        assert "storemood demo" in message and "storemood run" in message
        assert "storemood run" in empty.inner_text("#cameras-empty")
        assert empty.locator("figure.camera").count() == 0
        assert fits_the_screen(empty)
        shot(empty, "dashboard-empty-390")
    assert not problems and not more


def test_new_visits_appear_without_a_reload(browser, server, database, real_videos, run_options, tmp_path):
    page, problems = open_dashboard(browser, server)
    wait_for_refresh(page)
    before = api(server, "/api/overview")["summary"]["visits"]
    start = datetime(2026, 11, 22, 15, tzinfo=UTC)
    added = run_shop(tmp_path, real_videos / "test.mp4", database, run_options, "corner", "aisle", start)
    assert added
    after = api(server, "/api/overview")["summary"]
    assert after["visits"] == before + added
    page.wait_for_function(
        "(text) => document.getElementById('visits').textContent === text", arg=visits_text(after), timeout=15_000
    )
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload happened
    assert not problems


def test_a_server_with_a_token_asks_for_it(browser, database):
    with serve(database, token=TOKEN) as base:
        page, _ = open_dashboard(browser, base)
        page.wait_for_selector("#login", state="visible")
        assert page.is_hidden("#content")
        page.fill("#token", TOKEN)
        page.click("#login button")
        wait_for_refresh(page)
        summary = httpx.get(f"{base}/api/overview", headers={"Authorization": f"Bearer {TOKEN}"}).json()["summary"]
        assert overview_figures(page) == expected_figures(summary)


def test_the_dashboard_draws_emotions_with_the_servers_palette(browser, server):
    from storemood.emotions import EMOTION_COLORS

    page, problems = open_dashboard(browser, server)
    wait_for_refresh(page)
    assert page.evaluate("window.storemood.meta.colors") == EMOTION_COLORS
    drawn = page.evaluate("Chart.getChart(document.getElementById('chart-overall')).data.datasets[0].backgroundColor")
    assert drawn == [EMOTION_COLORS[name] for name in FER7]
    assert not set(page.evaluate("window.storemood.seriesColors")) & set(EMOTION_COLORS.values())
    assert not problems
