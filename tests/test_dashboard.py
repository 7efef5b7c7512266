"""The dashboard in a real headless Chromium, served by `storemood serve` over a database that the real
pipeline filled: the demo clip (real packaged photos) and a real video from ../shared, each through the
retail sinks of its store layout, beside generated visits of a chain (enough to rank and compare).

Checks that the charts are drawn and show what the API returns, that a filter changes them, that new
visits appear without a reload, and that a token-protected server asks for its token. Screenshots go to
test-artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

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
    # rankings and significance tests, beside the real shops' few visits, which stay suppressed.
    with EventTable(url) as events:
        events.add(synthetic_events(600, seed=2, start=datetime(2026, 11, 20, 8, tzinfo=UTC), days=1))
    return url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(url: str, token: str | None = None) -> Iterator[str]:
    """Run `storemood serve` in a child process; yields its base URL and stops it afterwards."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "STOREMOOD_API_TOKEN"}
    if token:
        env["STOREMOOD_API_TOKEN"] = token
    command = [sys.executable, "-m", "storemood", "serve", "--db", url, "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if process.poll() is not None:
                    pytest.fail(f"storemood serve exited: {process.stdout.read()}")
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
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]}, timezone_id=timezone)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"{request.url} failed"))
    page.goto(base + "/")
    return page, problems


def wait_for_refresh(page, after: int = 0) -> int:
    """Wait until the page has finished a refresh beyond the ``after``-th; returns the count."""
    page.wait_for_function("(after) => Number(document.body.dataset.refreshes || 0) > after", arg=after, timeout=20_000)
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
                    datasets: chart.data.datasets.map((d) => ({label: d.label, data: d.data})),
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


def expected_figures(summary: dict) -> dict:
    """The overview cards; a group under the minimum group size shows only its visits."""
    if summary["suppressed"]:
        return {"visits": f"{summary['visits']:,}", "dwell": "–", "valence": "–"}
    return {
        "visits": f"{summary['visits']:,}",
        "dwell": f"{summary['dwell_median_s']:.1f} s",
        "valence": signed(summary["valence"]),
    }


def test_charts_show_what_the_api_returns_and_a_filter_changes_them(browser, server):
    page, problems = open_dashboard(browser, server)
    refreshes = wait_for_refresh(page)
    assert page.is_hidden("#login") and page.is_hidden("#message")

    overview = api(server, "/api/overview")
    assert overview_figures(page) == expected_figures(overview["summary"])
    table = api(server, "/api/aggregates/product", limit=1000, sort="-visits")
    shares = chart_data(page, "chart-shares")
    assert [label.split(" (")[0] for label in shares["labels"]] == [row["product"] for row in table["rows"]]
    for dataset in shares["datasets"]:
        expected = [row["shares"][dataset["label"]] if row["shares"] else None for row in table["rows"]]
        assert dataset["data"] == [None if value is None else pytest.approx(value) for value in expected]
    # Groups under the minimum group size show no figure, groups under the minimum sample are greyed.
    greyed = page.locator("#figures tbody tr.few").count()
    assert greyed == sum(not row["enough_visits"] or row["suppressed"] for row in table["rows"])
    ranked = [row["product"] for row in overview["top"] + overview["bottom"]]
    assert ranked and len(ranked) == len(set(ranked))
    assert all(row["enough_visits"] for row in overview["top"] + overview["bottom"])
    assert page.locator("#top tbody tr").count() == len(overview["top"])
    overall = chart_data(page, "chart-overall")
    assert overall["datasets"][0]["data"] == pytest.approx([overview["summary"]["shares"][name] for name in FER7])
    for canvas in ("chart-overall", "chart-shares", "chart-valence", "chart-dwell", "chart-compare"):
        assert chart_data(page, canvas)["painted"] > 500, f"{canvas} is blank"
    dwell = chart_data(page, "chart-dwell")
    histogram = api(server, "/api/dwell-distribution", by="product")
    shown = [row for row in histogram["rows"] if row["bins"] is not None]
    assert sum(sum(d["data"]) for d in dwell["datasets"]) == sum(sum(r["bins"].values()) for r in shown)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.select_option("#store", "corner")
    wait_for_refresh(page, refreshes)
    corner = api(server, "/api/overview", store="corner")["summary"]
    assert overview_figures(page) == expected_figures(corner)
    assert corner["visits"] < overview["summary"]["visits"]
    corner_products = [row["product"] for row in api(server, "/api/aggregates/product", store="corner")["rows"]]
    assert sorted(label.split(" (")[0] for label in chart_data(page, "chart-shares")["labels"]) == corner_products
    page.screenshot(path=str(ARTIFACTS / "dashboard-corner-shop.png"), full_page=True)
    assert not problems


def test_brands_and_comparison_follow_the_api(browser, server):
    page, problems = open_dashboard(browser, server)
    refreshes = wait_for_refresh(page)
    page.click(".toggle button[data-by=brand]")
    wait_for_refresh(page, refreshes)
    brands = api(server, "/api/aggregates/brand", limit=1000, sort="-visits")["rows"]
    assert chart_data(page, "chart-shares")["labels"] == [row["brand"] for row in brands]
    first, second = brands[0]["brand"], brands[1]["brand"]
    comparison = api(server, "/api/compare", by="brand", a=first, b=second)
    compared = chart_data(page, "chart-compare")
    assert [d["label"] for d in compared["datasets"]] == [first, second]
    assert page.inner_text("#compare-sentence") == comparison["sentence"]
    if comparison["a"]["suppressed"] or comparison["b"]["suppressed"]:
        assert comparison["sentence"].startswith("Too few visits")
    else:
        assert compared["datasets"][0]["data"] == pytest.approx([comparison["a"]["shares"][name] for name in FER7])
        assert page.inner_text("#compare-table tbody tr:nth-child(3) td:nth-child(4)") == signed(
            comparison["valence_difference"]
        )
        low, high = comparison["share_differences_ci95"]["happy"]
        happy = page.inner_text("#compare-table tbody tr:nth-child(8) td:nth-child(5)")
        assert happy == f"{signed_percent(low)} to {signed_percent(high)}"
    assert not problems


def test_hours_are_shown_in_the_browsers_time_zone(browser, server):
    page, problems = open_dashboard(browser, server, timezone="America/New_York")
    wait_for_refresh(page)
    assert page.inner_text("#bucket").endswith("America/New_York)")
    labels = chart_data(page, "chart-valence")["labels"]
    bucket = "hour" if "T" in labels[0] else "day"
    local = api(server, "/api/valence-over-time", bucket=bucket, tz="America/New_York", series="store", limit=1000)
    utc = api(server, "/api/valence-over-time", bucket=bucket, series="store", limit=1000)
    assert set(labels) <= {row["time"] for row in local["rows"]}
    assert bucket == "day" or not set(labels) & {row["time"] for row in utc["rows"]}
    assert not problems


def test_a_tablet_sees_every_panel_in_one_column(browser, server):
    page, problems = open_dashboard(browser, server, viewport=(768, 1024))
    wait_for_refresh(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768, "the page scrolls sideways on a tablet"
    boxes = [page.locator(f"#{canvas}").bounding_box() for canvas in ("chart-valence", "chart-dwell")]
    assert boxes[1]["y"] > boxes[0]["y"], "panels should stack on a narrow screen"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-tablet.png"), full_page=True)
    assert not problems


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
        "(text) => document.getElementById('visits').textContent === text", arg=f"{after['visits']:,}", timeout=15_000
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


def test_the_dashboard_draws_with_the_servers_palette(browser, server):
    from storemood.emotions import EMOTION_COLORS

    page, problems = open_dashboard(browser, server)
    wait_for_refresh(page)
    assert page.evaluate("window.storemood.meta.colors") == EMOTION_COLORS
    drawn = page.evaluate("Chart.getChart(document.getElementById('chart-overall')).data.datasets[0].backgroundColor")
    assert drawn == [EMOTION_COLORS[name] for name in FER7]
    assert not problems
