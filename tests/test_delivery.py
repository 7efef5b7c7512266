"""Delivery of finished visits: nothing lost to signals, locks, refused rows or broker outages, and the
frame loop never waits for a destination. Uses the real SQLite, PostgreSQL and a real Mosquitto broker."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from storemood.database.engine import create_db_engine
from storemood.delivery.destinations import MqttDestination, WebhookDestination, signature
from storemood.delivery.outbox import Outbox
from storemood.delivery.writer import EventWriter, outbox_file
from synthetic_events import synthetic_events
from test_database import _ids_in_order


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt, as in a terminal, also where the test runner started with it ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_signal_during_a_write_waits_until_the_visit_is_safe(tmp_path, ctrl_c_raises):
    """Ctrl-C arriving while visits are being written is raised only after they are in the outbox."""
    visits = list(synthetic_events(5, seed=1))
    writer = EventWriter(_sqlite(tmp_path), outbox_path=tmp_path / "outbox.sqlite")
    original_put = Outbox.put

    def put_then_signal(self, rows):
        os.kill(os.getpid(), signal.SIGINT)  # lands in the middle of the write
        original_put(self, rows)

    Outbox.put = put_then_signal
    try:
        with pytest.raises(KeyboardInterrupt):
            writer.write(visits)
    finally:
        Outbox.put = original_put
    writer.close()
    assert sorted(_ids_in_order(_sqlite(tmp_path))) == sorted(visit.id for visit in visits)


def test_a_locked_sqlite_file_delays_visits_without_blocking_the_writer(tmp_path):
    """A report holding the write lock for longer than SQLite's busy timeout loses nothing: writes return
    at once, and the visits arrive once the lock is gone, also after a restart."""
    url, outbox = _sqlite(tmp_path), tmp_path / "outbox.sqlite"
    EventWriter(url, outbox_path=outbox).close()  # the schema exists
    lock = sqlite3.connect(tmp_path / "events.db")
    lock.execute("BEGIN IMMEDIATE")  # holds the write lock
    visits = list(synthetic_events(40, seed=2))
    first_run = EventWriter(url, outbox_path=outbox)
    first_run.write(visits[:20])
    assert first_run.pending == 20
    first_run.close(timeout=0.5)  # the run ends while the database is still locked
    lock.rollback()
    lock.close()
    second_run = EventWriter(url, outbox_path=outbox)
    second_run.write(visits[20:])
    assert second_run.flush(timeout=60)
    second_run.close()
    assert sorted(_ids_in_order(url)) == sorted(visit.id for visit in visits)


@pytest.mark.postgres
def test_a_visit_the_database_refuses_is_kept_aside_and_blocks_nothing(tmp_path, pg_url):
    visits = list(synthetic_events(30, seed=3))
    visits[10] = dataclasses.replace(visits[10], brand="B" * 201)  # longer than the brand column
    writer = EventWriter(pg_url, outbox_path=tmp_path / "outbox.sqlite")
    writer.write(visits)
    assert writer.flush(timeout=60)
    status = writer.status()["database"]
    writer.close()
    assert _ids_in_order(pg_url) == [visit.id for i, visit in enumerate(visits) if i != 10]
    assert status["dead_letters"] == 1 and status["pending"] == 0
    [(row, reason)] = Outbox(tmp_path / "outbox.sqlite").dead_letters()
    assert row["id"] == visits[10].id and "too long" in reason
    EventWriter(pg_url, outbox_path=tmp_path / "outbox.sqlite").close()  # a later start is not blocked


def test_concurrent_first_starts_on_one_new_sqlite_file_all_succeed(tmp_path):
    url = _sqlite(tmp_path)
    code = f"from storemood.database.engine import open_database; open_database({url!r}).dispose()"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    starts = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE) for _ in range(8)]
    failures = [p.stderr.read().decode() for p in starts if p.wait(timeout=120) != 0]
    assert failures == []
    engine = create_db_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT COUNT(*) FROM events")) == 0
    engine.dispose()


class _Receiver(BaseHTTPRequestHandler):
    """A webhook endpoint: answers 503 to the first ``outage`` posts, 400 to bodies with a bad brand."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        server.posts += 1
        status = 503 if server.posts <= server.outage else 400 if b"BAD" in body else 200
        if status == 200:
            server.received.append((json.loads(body), self.headers.get("X-Storemood-Signature"), body))
        self.send_response(status)
        self.end_headers()

    def log_message(self, *_args) -> None:
        """Quiet."""


@contextmanager
def _webhook_receiver(outage: int) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.posts, server.outage, server.received = 0, outage, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_gets_every_visit_signed_through_an_outage_and_refusals_go_aside(tmp_path):
    visits = list(synthetic_events(12, seed=4))
    visits[5] = dataclasses.replace(visits[5], brand="BAD brand")
    with _webhook_receiver(outage=3) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/visits"
        hook = WebhookDestination(url, secret="s3cret")
        writer = EventWriter(_sqlite(tmp_path), tmp_path / "outbox.sqlite", publishers=[hook], retry_s=0.05)
        writer.write(visits)
        assert writer.flush(timeout=60)
        writer.close()
    ids = [message["id"] for message, _, _ in server.received]
    assert ids == [visit.id for i, visit in enumerate(visits) if i != 5]  # in order, after the outage
    assert all(header == signature("s3cret", body) for _, header, body in server.received)
    assert len(Outbox(outbox_file(tmp_path / "outbox.sqlite", "webhook")).dead_letters()) == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _mosquitto(tmp_path: Path, port: int) -> Iterator[None]:
    """A real Mosquitto broker on ``port`` that keeps sessions on disk across restarts."""
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {tmp_path}/\n"
    )
    broker = subprocess.Popen([shutil.which("mosquitto"), "-c", str(config)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield
    finally:
        broker.terminate()  # SIGTERM: the broker saves its sessions before it exits
        broker.wait(timeout=10)


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="Mosquitto is not installed (Debian package mosquitto)")
def test_mqtt_delivers_every_visit_across_a_broker_restart(tmp_path):
    """The broker goes down in the middle of a run: visits wait in the outbox, the run ends, and the next
    writer on the same outbox publishes them once the broker is back; every visit arrives, in order."""
    import paho.mqtt.client as mqtt

    port, received, subscribed = _free_port(), [], threading.Event()
    visits = list(synthetic_events(60, seed=5))
    subscriber = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-subscriber", clean_session=False)
    subscriber.on_connect = lambda client, *_: client.subscribe("shop/#", qos=1)
    subscriber.on_subscribe = lambda *_: subscribed.set()
    subscriber.on_message = lambda _c, _d, message: received.append((message.topic, json.loads(message.payload)))
    outbox, url = tmp_path / "outbox.sqlite", _sqlite(tmp_path)
    with _mosquitto(tmp_path, port):
        subscriber.connect("127.0.0.1", port)
        subscriber.loop_start()
        assert subscribed.wait(10)
        writer = EventWriter(url, outbox, publishers=[MqttDestination(f"mqtt://127.0.0.1:{port}/shop")])
        writer.write(visits[:30])
        assert writer.flush(timeout=60)
    subscribed.clear()
    writer.write(visits[30:])  # the broker is down: these wait in the outbox
    assert not writer.flush(timeout=1) and writer.status()["mqtt"]["pending"] == 30
    writer.close(timeout=1)
    with _mosquitto(tmp_path, port):  # back, with the subscriber's session
        assert subscribed.wait(30)
        next_run = EventWriter(url, outbox, publishers=[MqttDestination(f"mqtt://127.0.0.1:{port}/shop")])
        assert next_run.flush(timeout=60)
        next_run.close()
        deadline = time.monotonic() + 30
        while len({message["id"] for _, message in received}) < len(visits) and time.monotonic() < deadline:
            time.sleep(0.1)
        subscriber.loop_stop()
        subscriber.disconnect()
    first_seen = list(dict.fromkeys(message["id"] for _, message in received))
    assert first_seen == [visit.id for visit in visits]  # every one, in order
    topic, message = received[0]
    assert topic == f"shop/visits/{message['store']}/{message['camera']}"


WHOLE_FRAME_STORE = """
id: pub-shop
cameras:
  - id: door
    source: {source}
    zones:
      - id: door-zone
        rect: [0, 0, 1, 1]
        product: {{sku: SKU-1, name: Door product, brand: Acme}}
{publish}"""


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="Mosquitto is not installed (Debian package mosquitto)")
@pytest.mark.parametrize("where", ["flag", "store.yaml"])
def test_run_publishes_every_stored_visit_to_mqtt(tmp_path, real_videos, where):
    import paho.mqtt.client as mqtt

    from storemood.cli import main

    port, received, subscribed = _free_port(), [], threading.Event()
    target = f"mqtt://127.0.0.1:{port}/shop"
    store = tmp_path / "store.yaml"
    publish = f"publish:\n  mqtt: {target}\n" if where == "store.yaml" else ""
    store.write_text(WHOLE_FRAME_STORE.format(source=real_videos / "test.mp4", publish=publish))
    subscriber = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    subscriber.on_connect = lambda client, *_: client.subscribe("shop/#", qos=1)
    subscriber.on_subscribe = lambda *_: subscribed.set()
    subscriber.on_message = lambda _c, _d, message: received.append((message.topic, json.loads(message.payload)))
    url = _sqlite(tmp_path)
    with _mosquitto(tmp_path, port):
        subscriber.connect("127.0.0.1", port)
        subscriber.loop_start()
        assert subscribed.wait(10)
        flags = ["--publish", target] if where == "flag" else []
        assert main(["run", "--store", str(store), "--db", url, "--quiet", *flags]) == 0
        deadline = time.monotonic() + 20
        stored = _ids_in_order(url)
        while len(received) < len(stored) and time.monotonic() < deadline:
            time.sleep(0.1)
        subscriber.loop_stop()
        subscriber.disconnect()
    assert stored and [message["id"] for _, message in received] == stored
    assert {topic for topic, _ in received} == {"shop/visits/pub-shop/door"}


def test_bad_publish_targets_in_store_yaml_name_the_line(tmp_path, real_videos):
    from storemood.config import load_store
    from storemood.errors import UserError

    store = tmp_path / "store.yaml"
    store.write_text(WHOLE_FRAME_STORE.format(source=real_videos / "test.mp4", publish="publish:\n  mqtt: http://x\n"))
    with pytest.raises(UserError, match=r"line 10: publish: --publish needs mqtt://"):
        load_store(store)


def test_a_brand_longer_than_the_database_column_is_refused_when_the_layout_is_read(tmp_path, real_videos):
    from storemood.config import load_store
    from storemood.errors import UserError

    store = tmp_path / "store.yaml"
    text = WHOLE_FRAME_STORE.format(source=real_videos / "test.mp4", publish="").replace("Acme", "A" * 201)
    store.write_text(text)
    with pytest.raises(UserError, match=r"line 9: cameras\[0\]\.zones\[0\]\.product\.brand: .*at most 200"):
        load_store(store)


def test_the_run_summary_says_what_waits_in_the_outbox(tmp_path, real_videos, capsys):
    from storemood.cli import main

    store = tmp_path / "store.yaml"
    store.write_text(WHOLE_FRAME_STORE.format(source=real_videos / "test.mp4", publish=""))
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/test"
    assert main(["run", "--store", str(store), "--db", unreachable, "--quiet", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["cameras"]["door"]
    state = summary["delivery"]["database"]
    assert summary["visits"] >= 1 and state["pending"] == summary["visits"] and state["delivered"] == 0
    assert "cannot reach database" in state["last_error"]
