"""Raw visits out: `storemood export` (CSV, JSON Lines, Parquet) and the paged `/api/visits`, which give
the same anonymous rows."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pandas
import pytest
from fastapi.testclient import TestClient

from storemood.api.app import create_app
from storemood.api.settings import ApiSettings
from storemood.cli import main
from storemood.database.event_table import EventTable
from synthetic_events import synthetic_events

EVENTS = list(synthetic_events(25_000, seed=31, days=3, unread_share=0.05))  # more than one export chunk


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('export') / 'events.db'}"
    with EventTable(url) as table:
        table.add(EVENTS)
    return url


def _in_start_order(events) -> list[str]:
    return [event.id for event in sorted(events, key=lambda event: event.start)]


def test_csv_export_has_every_visit_once_in_order_and_no_identity(tmp_path, db_url, capsys):
    out = tmp_path / "visits.csv"
    assert main(["export", "--db", db_url, "--out", str(out)]) == 0
    assert f"wrote {len(EVENTS)} visits" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [row["id"] for row in rows] == _in_start_order(EVENTS)
    assert {"probabilities.happy", "dwell_s", "dominant_emotion", "product_name"} <= set(rows[0])
    assert not any("image" in column or "embedding" in column for column in rows[0])
    # A visit whose face was never readable: the same columns, its emotion cells empty.
    unread = {event.id for event in EVENTS if event.probabilities is None}
    assert "probabilities" not in rows[0] and {row["id"] for row in rows if row["readable_frames"] == "0"} == unread
    assert all(row["probabilities.happy"] == row["dominant_emotion"] == "" for row in rows if row["id"] in unread)


def test_jsonl_to_stdout_and_filters(db_url, capsys):
    product = EVENTS[0].product
    since = EVENTS[len(EVENTS) // 2].start
    assert (
        main(["export", "--db", db_url, "--format", "jsonl", "--product", product, "--since", since.isoformat()]) == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = [e for e in EVENTS if e.product == product and e.start >= since]
    assert [row["id"] for row in rows] == _in_start_order(expected)
    assert abs(sum(rows[0]["probabilities"].values()) - 1) < 1e-3


def test_parquet_export_reads_back_the_same_rows(tmp_path, db_url):
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow (in the dev extra)")
    out = tmp_path / "visits.parquet"
    assert main(["export", "--db", db_url, "--format", "parquet", "--out", str(out), "--store", EVENTS[0].store]) == 0
    frame = pandas.read_parquet(out)
    assert list(frame["id"]) == _in_start_order(e for e in EVENTS if e.store == EVENTS[0].store)
    read = frame["readable_frames"] > 0
    assert frame["probabilities.happy"][read].between(0, 1).all() and frame["probabilities.happy"][~read].isna().all()
    assert (~read).sum() == sum(e.probabilities is None for e in EVENTS if e.store == EVENTS[0].store) > 0


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--format", "parquet"], "give --out"),
        (["--out", "."], "is a folder"),
        (["--since", "2026-12-02", "--until", "2026-12-01"], "--since must be earlier"),
    ],
)
def test_bad_export_requests_are_one_line_and_status_2(db_url, capsys, argv, reason):
    assert main(["export", "--db", db_url, *argv]) == 2
    err = capsys.readouterr().err
    assert reason in err and err.count("\n") == 1


def test_api_visits_pages_in_the_database_and_matches_the_export(db_url, capsys):
    main(["export", "--db", db_url, "--format", "jsonl"])
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    with EventTable(db_url) as table:
        closed = TestClient(create_app(table.engine)).get("/api/visits")
        client = TestClient(create_app(table.engine, ApiSettings(raw_visits=True)))
        first = client.get("/api/visits", params={"limit": 100}).json()
        second = client.get("/api/visits", params={"limit": 100, "offset": 100}).json()
        as_csv = client.get("/api/visits", params={"limit": 5, "format": "csv"})
        refused = client.get("/api/visits", params={"sort": "dwell_s"})
    assert first["total"] == len(EVENTS) and first["rows"] + second["rows"] == exported[:200]
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert [row["id"] for row in csv.DictReader(io.StringIO(as_csv.text))] == [row["id"] for row in exported[:5]]
    assert refused.status_code == 422
    assert closed.status_code == 403 and "--raw-visits" in closed.json()["detail"]  # off unless asked for


def test_a_closed_pipe_ends_an_export_quietly(db_url):
    """`storemood export | head -1`: the reader has what it wanted; no traceback, no error status."""
    command = f"set -o pipefail; {sys.executable} -m storemood export --db {db_url} --format jsonl | head -1"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == ""
    assert json.loads(done.stdout)["id"] == _in_start_order(EVENTS)[0]
