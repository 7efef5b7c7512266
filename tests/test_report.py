"""``storemood report``, ``compare`` and ``prune`` end to end: formats, shapes and one-line errors."""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json
import re
import socket
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from storemood.cli import main
from storemood.database.event_table import EventTable
from storemood.emotions import FER7, NEGATIVE, POSITIVE
from synthetic_events import synthetic_events

EVENTS = list(synthetic_events(600, seed=21, days=2))


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'events.db'}"
    store = EventTable(url)
    store.add(EVENTS)
    store.close()
    return url


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_has_the_documented_shape_and_counts_every_visit(capsys, db_url):
    status, out, _ = _run(capsys, "report", "--db", db_url, "--by", "brand", "--format", "json")
    report = json.loads(out)
    assert status == 0 and report["by"] == "brand"
    assert {row["brand"] for row in report["rows"]} == {event.brand for event in EVENTS}
    for row in report["rows"]:
        assert isinstance(row["visits"], int) and isinstance(row["dwell_median_s"], float)
        assert set(row["shares"]) == set(FER7) and sum(row["shares"].values()) == pytest.approx(1.0)
        positive, negative = (sum(row["shares"][name] for name in group) for group in (POSITIVE, NEGATIVE))
        assert row["valence"] == pytest.approx(positive - negative, abs=1e-3)
    assert sum(row["visits"] for row in report["rows"]) == len(EVENTS)


def test_csv_has_one_line_per_product(capsys, db_url):
    status, out, _ = _run(capsys, "report", "--db", db_url, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert status == 0
    assert [row["product"] for row in rows] == sorted({event.product for event in EVENTS})
    assert sum(int(row["visits"]) for row in rows) == len(EVENTS)
    assert {f"shares.{name}" for name in FER7} | {f"probabilities.{name}" for name in FER7} <= set(rows[0])
    assert all(row["product_name"] for row in rows)


@pytest.mark.parametrize("by", ["product", "brand", "hour"])
def test_csv_from_the_command_line_is_the_apis_csv(capsys, db_url, by):
    from fastapi.testclient import TestClient

    from storemood.api.app import create_app
    from storemood.database.engine import open_existing

    _, out, _ = _run(capsys, "report", "--db", db_url, "--by", by, "--format", "csv")
    engine = open_existing(db_url)
    try:
        window = {"since": "2026-10-01", "until": "2026-12-01", "format": "csv", "limit": 1000}
        api = TestClient(create_app(engine)).get(f"/api/aggregates/{by}", params=window).text
    finally:
        engine.dispose()
    assert out.splitlines()[0] == api.splitlines()[0]
    assert "product_name" in out.splitlines()[0].split(",")
    assert sorted(out.splitlines()[1:]) == sorted(api.splitlines()[1:])


def _layout(tmp_path, store_id: str, engaged_after: float) -> str:
    path = tmp_path / f"{store_id}.yaml"
    path.write_text(
        f"id: {store_id}\nsettings: {{engagement_dwell_s: {engaged_after}}}\n"
        "cameras: [{id: c, source: '0', zones: [{id: z, rect: [0, 0, 1, 1], product: {sku: S, brand: B}}]}]\n",
        encoding="utf-8",
    )
    return str(path)


def _engaged(store_id: str, threshold: float) -> int:
    return sum(1 for event in EVENTS if event.store == store_id and event.dwell_seconds >= threshold)


def test_report_reads_the_engagement_threshold_from_store_yaml(capsys, db_url, tmp_path):
    layout = _layout(tmp_path, "store-a", 10.0)
    _, out, _ = _run(capsys, "report", "--db", db_url, "--by", "store", "--store", layout, "--format", "json")
    (row,) = json.loads(out)["rows"]
    assert row["store"] == "store-a" and row["engaged"] == _engaged("store-a", 10.0) != _engaged("store-a", 3.0)
    argv = ["report", "--db", db_url, "--by", "store", "--store", layout, "--format", "json", "--engaged-after", "20"]
    _, out, _ = _run(capsys, *argv)
    assert json.loads(out)["rows"][0]["engaged"] == _engaged("store-a", 20.0)
    _, out, _ = _run(capsys, "report", "--db", db_url, "--by", "store", "--store", "store-a", "--format", "json")
    assert json.loads(out)["rows"][0]["engaged"] == _engaged("store-a", 3.0)


def test_store_layouts_that_disagree_on_engagement_need_the_flag(capsys, db_url, tmp_path):
    layouts = ["--store", _layout(tmp_path, "store-a", 10.0), "--store", _layout(tmp_path, "store-b", 5.0)]
    status, _, err = _run(capsys, "report", "--db", db_url, *layouts)
    assert status == 2 and "disagree on settings.engagement_dwell_s" in err and "--engaged-after" in err


def test_html_report_stands_alone_with_its_charts(capsys, db_url, tmp_path):
    out = tmp_path / "report.html"
    status, _, _ = _run(capsys, "report", "--db", db_url, "--by", "zone", "--format", "html", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert status == 0 and len(images) == 3
    assert all(base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n") for image in images)
    assert not re.search(r'(src|href)="(https?:|/)', page)  # nothing to fetch: one file is the whole report
    assert all(event.zone in page for event in EVENTS)


def test_days_in_a_local_time_zone(capsys, db_url):
    argv = ["report", "--db", db_url, "--by", "day", "--format", "json", "--timezone", "Pacific/Auckland"]
    status, out, _ = _run(capsys, *argv)
    auckland = ZoneInfo("Pacific/Auckland")
    expected = Counter(event.start.astimezone(auckland).strftime("%Y-%m-%d") for event in EVENTS)
    assert status == 0 and {row["day"]: row["visits"] for row in json.loads(out)["rows"]} == expected


def test_terminal_table_and_filters(capsys, db_url):
    status, out, _ = _run(capsys, "report", "--db", db_url, "--by", "day", "--brand", "Acme", "--format", "table")
    days = sorted({event.start.strftime("%Y-%m-%d") for event in EVENTS if event.brand == "Acme"})
    assert status == 0 and all(day in out for day in days)


def test_compare_and_prune(capsys, db_url, tmp_path):
    status, out, _ = _run(capsys, "compare", "Acme", "Sunfield", "--by", "brand", "--db", db_url, "--format", "json")
    result = json.loads(out)
    assert {name: test["significant"] for name, test in result["tests"].items()} == {
        name: test["p_value"] < 0.05 for name, test in result["tests"].items()
    }
    assert status == 0 and result["a"]["brand"] == "Acme" and result["b"]["brand"] == "Sunfield"
    assert result["valence_difference"] == pytest.approx(result["a"]["valence"] - result["b"]["valence"])
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    EventTable(copy).add(EVENTS)
    status, out, _ = _run(capsys, "prune", "--older-than", "1", "--db", copy)
    assert status == 0 and int(out.split()[1]) > 0


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("output", ["table", "json"])
def test_a_period_without_visits_is_no_error(capsys, db_url, output):
    """A daily cron job must not fail on a quiet day: exit 0, saying so (JSON keeps its shape)."""
    status = main(["report", "--db", db_url, "--since", "2020-01-01", "--until", "2020-01-02", "--format", output])
    out, err = capsys.readouterr()
    assert status == 0 and "no visit events match the given filters; nothing to report" in err
    assert (json.loads(out) == {"by": "product", "rows": []}) if output == "json" else out == ""


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["report", "--db", "sqlite:///{tmp}/absent.db"], "no database at"),
        (["report", "--db", "postgresql+psycopg://postgres@127.0.0.1:{port}/test"], "cannot reach database"),
        (["report", "--db", "sqlite:///{tmp}/empty.db", "--since", "2026-11-02", "--until", "2026-11-01"], "--since"),
        (["compare", "SKU-1", "SKU-404", "--db", "sqlite:///{tmp}/empty.db"], "no visits for product 'SKU-1'"),
        (["report", "--db", "sqlite:///{tmp}/empty.db", "--timezone", "Paris"], "unknown time zone 'Paris'"),
    ],
)
def test_bad_input_is_one_line_and_status_2(capsys, tmp_path, argv, reason):
    EventTable(f"sqlite:///{tmp_path}/empty.db").close()
    argv = [arg.format(tmp=tmp_path, port=_closed_port()) for arg in argv]
    status, out, err = _run(capsys, *argv)
    assert status == 2 and out == ""
    assert reason in err and err.count("\n") == 1 and "Traceback" not in err


def test_csv_of_groups_without_readable_faces_has_only_the_dotted_columns(capsys, tmp_path):
    """A product whose faces were never readable has no shares: its cells stay empty, no bare column."""
    never_read = [
        dataclasses.replace(visit, product="UNREAD-1", zone="zone-unread")
        for visit in synthetic_events(40, seed=22, days=1, unread_share=1.0)
    ]
    url = f"sqlite:///{tmp_path / 'events.db'}"
    with EventTable(url) as store:
        store.add([*never_read, *EVENTS])
    _, out, _ = _run(capsys, "report", "--db", url, "--format", "csv")
    header = out.splitlines()[0].split(",")
    rows = {row["product"]: row for row in csv.DictReader(io.StringIO(out))}
    assert "shares" not in header and "shares_ci95" not in header and "probabilities" not in header
    assert header.count("shares.happy") == 1 and header.index("shares.happy") < header.index("valence")
    assert rows["UNREAD-1"]["visits"] == "40" and rows["UNREAD-1"]["shares.happy"] == ""
    assert all(row["shares.happy"] for key, row in rows.items() if key != "UNREAD-1")
