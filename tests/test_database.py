"""Durable storage: migrations, idempotent writes, retention, and store-and-forward through the outbox."""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from storemood.config import load_store
from storemood.database.engine import (
    DatabaseUnavailable,
    create_db_engine,
    migrate,
    open_database,
    open_existing,
)
from storemood.database.event_table import EventTable, event_to_row
from storemood.delivery.outbox import Outbox
from storemood.delivery.writer import EventWriter
from storemood.demo import DEMO_STORE
from storemood.demo.run import demo_sinks
from storemood.errors import UserError
from synthetic_events import synthetic_events


def _sqlite(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


def _ids_in_order(url: str) -> list[str]:
    engine = create_db_engine(url)
    with engine.connect() as connection:
        ids = list(connection.scalars(sa.text("SELECT id FROM events ORDER BY seq")))
    engine.dispose()
    return ids


def test_sqlite_is_wal_and_writes_are_idempotent_and_keep_utc(tmp_path):
    store = EventTable(_sqlite(tmp_path))
    events = list(synthetic_events(50, seed=1))
    assert store.add(events) == 50
    assert store.add(events[:20] + list(synthetic_events(5, seed=2))) == 5  # repeats skipped, new ones kept
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        first = connection.execute(sa.text("SELECT id FROM events ORDER BY seq LIMIT 1")).scalar()
    assert first == events[0].id and store.count() == 55
    store.close()


def test_an_old_database_is_upgraded_without_losing_events(tmp_path):
    url = _sqlite(tmp_path)
    engine = create_db_engine(url)
    migrate(engine, "0001")  # the first schema, before the stores table existed
    rows = [{**event_to_row(event), "recorded_at": event.end.isoformat()} for event in synthetic_events(30, seed=3)]
    for row in rows:
        row.pop("readable_frames")  # recorded from revision 0006 on
    columns = ", ".join(f'"{name}"' for name in rows[0])
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"INSERT INTO events ({columns}) VALUES ({', '.join(':' + n for n in rows[0])})"), rows
        )
        assert "stores" not in sa.inspect(connection).get_table_names()
    engine.dispose()
    store = EventTable(url)  # opening migrates to the newest schema
    with store.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT id, p_happy, dominant, readable_frames FROM events")).all()
        backfilled = set(connection.scalars(sa.text("SELECT id FROM stores")))
    assert {row.id: (row.p_happy, row.dominant) for row in stored} == {
        row["id"]: (row["p_happy"], row["dominant"]) for row in rows
    }
    assert {row.readable_frames for row in stored} == {None}  # not known for visits stored before 0006
    assert backfilled == {row["store"] for row in rows}
    unread = next(synthetic_events(1, seed=8, unread_share=1.0))
    assert store.add([unread]) == 1  # the relaxed columns take a visit that was never readable
    store.close()


def test_retention_deletes_only_events_older_than_the_limit(tmp_path):
    store = EventTable(_sqlite(tmp_path))
    events = list(synthetic_events(200, seed=4, days=10))
    store.add(events)
    now = events[-1].end
    old = [event for event in events if event.end < now - timedelta(days=5)]
    deleted_a = store.prune(5, now=now, store="store-a")  # what a store's retention_days does
    assert deleted_a == sum(event.store == "store-a" for event in old) > 0
    assert store.prune(5, now=now) == len(old) - deleted_a > 0  # `storemood prune`: every store
    assert store.count() == 200 - len(old)
    store.close()


def test_bad_urls_and_missing_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not a usable database URL"):
        open_database("nonsense:/x")
    with pytest.raises(UserError, match="no database at"):
        open_existing(_sqlite(tmp_path))
    with pytest.raises(UserError, match="does not exist"):
        open_database(f"sqlite:///{tmp_path}/no/such/folder/events.db")


class _Relay(socketserver.BaseRequestHandler):
    """Copies bytes both ways between a client and the real server (a network link that can come back)."""

    def handle(self) -> None:
        with socket.create_connection(self.server.target) as upstream:
            peers = {self.request: upstream, upstream: self.request}
            while True:
                readable, _, _ = select.select(list(peers), [], [], 0.5)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)


@contextmanager
def _link_up(port: int) -> Iterator[None]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), _Relay, bind_and_activate=False)
    server.allow_reuse_address, server.daemon_threads, server.target = True, True, ("127.0.0.1", 5432)
    server.server_bind()
    server.server_activate()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.postgres
def test_events_written_while_the_server_is_down_arrive_once_in_order(tmp_path, pg_url):
    port = _closed_port()
    behind_link = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{port}")
    events = list(synthetic_events(1200, seed=5))
    writer = EventWriter(behind_link, outbox_path=tmp_path / "outbox.sqlite", retry_s=0)
    for start in range(0, 1000, 100):  # visits end one batch at a time while nothing listens on the port
        writer.write(events[start : start + 100])
    assert writer.pending == 1000
    with _link_up(port):
        writer.write(events[1000:])  # the courier finds the server back and drains the queue
        assert writer.flush(timeout=60)
        writer.close()
    assert _ids_in_order(pg_url) == [event.id for event in events]


@pytest.mark.postgres
def test_a_queue_left_by_a_run_goes_first_to_the_database_of_the_next(tmp_path, pg_url):
    outbox = tmp_path / "outbox.sqlite"
    events = list(synthetic_events(300, seed=6))
    unreachable = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{_closed_port()}")
    first_run = EventWriter(unreachable, outbox_path=outbox, retry_s=0)
    first_run.write(events[:200])
    first_run.close()  # ends with everything still queued
    second_run = EventWriter(pg_url, outbox_path=outbox)
    second_run.write(events[200:])
    second_run.close()
    assert _ids_in_order(pg_url) == [event.id for event in events]
    assert len(Outbox(outbox)) == 0


@pytest.mark.postgres
def test_a_batch_sent_twice_after_a_crash_is_stored_once(tmp_path, pg_url):
    events = list(synthetic_events(80, seed=7))
    queue = Outbox(tmp_path / "outbox.sqlite")
    queue.put(event_to_row(event) for event in events)
    store = EventTable(pg_url)
    store.add(events[:50])  # delivered, but the crash came before the queue was trimmed
    store.close()
    queue.close()
    EventWriter(pg_url, outbox_path=tmp_path / "outbox.sqlite").close()
    assert _ids_in_order(pg_url) == [event.id for event in events]


def test_an_unreachable_server_without_an_outbox_is_a_user_error():
    with pytest.raises(DatabaseUnavailable, match="cannot reach database"):
        EventWriter(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/test", outbox_path=None)


def test_the_demo_replaces_its_own_events_and_no_others(tmp_path):
    url = _sqlite(tmp_path)
    demo_id = load_store(DEMO_STORE).id
    store = EventTable(url)
    store.add(synthetic_events(40, seed=8))
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE events SET store = :demo WHERE seq <= 10"), {"demo": demo_id})
    for sink in demo_sinks(url):
        sink.close()
    with store.engine.connect() as connection:
        left = dict(connection.execute(sa.text("SELECT store, COUNT(*) FROM events GROUP BY store")).all())
    assert demo_id not in left and sum(left.values()) == 30
    store.close()
