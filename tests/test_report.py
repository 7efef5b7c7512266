"""``storemood report``, ``compare`` and ``prune`` end to end: formats, shapes and one-line errors."""

from __future__ import annotations

import base64
import csv
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
    assert {f"share_{name}" for name in FER7} <= set(rows[0])


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
    status, out, _ = _run(capsys, "compare", "Acme", "Sunfield", "--by", "brand", "--db", db_url)
    result = json.loads(out)
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


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["report", "--db", "sqlite:///{tmp}/empty.db", "--format", "json"], "no visit events match"),
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
