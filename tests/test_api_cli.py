"""`storemood serve` refuses what it must refuse before any server starts: one line, exit status 2."""

from __future__ import annotations

import importlib
import socket

import pytest

from storemood.api.settings import TOKEN_ENV, ApiSettings, check_exposure, is_loopback
from storemood.cli import main
from storemood.database.event_table import EventTable
from storemood.errors import UserError

GOOD_TOKEN = "serve-test-token-0123456789"


@pytest.fixture
def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    EventTable(url).close()
    return url


@pytest.fixture(autouse=True)
def no_token_in_environment(monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)


def serve_fails(capsys, *args: str) -> str:
    """Run `storemood serve ARGS`, expect exit status 2, and return its single stderr line."""
    assert main(["serve", *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_network_host_without_token_is_refused(capsys, database):
    assert "without an API token" in serve_fails(capsys, "--db", database, "--host", "0.0.0.0")


def test_short_token_is_refused(capsys, database, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "short")
    assert "at least 16 characters" in serve_fails(capsys, "--db", database)


@pytest.mark.parametrize("content", [None, "", "\n\n"])
def test_missing_or_empty_token_file_is_refused(capsys, database, tmp_path, content):
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    assert "token file" in serve_fails(capsys, "--db", database, "--token-file", str(token_file))


def test_missing_database_is_refused(capsys, tmp_path):
    assert "no database" in serve_fails(capsys, "--db", f"sqlite:///{tmp_path / 'none.db'}")


def test_port_in_use_is_refused(capsys, database):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert "already in use" in serve_fails(capsys, "--db", database, "--port", str(port))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        *[(host, True) for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost")],
        *[(host, False) for host in ("0.0.0.0", "::", "192.168.1.20", "shop-server")],
    ],
)
def test_only_loopback_may_serve_without_a_token(host, loopback):
    assert is_loopback(host) is loopback
    if loopback:
        check_exposure(host, ApiSettings())
    else:
        with pytest.raises(UserError):
            check_exposure(host, ApiSettings())
    check_exposure(host, ApiSettings(token=GOOD_TOKEN))  # with a token any host is fine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(("flags", "expected"), [([], 12.0), (["--engaged-after", "4"], 4.0)])
def test_serve_reads_the_engagement_threshold_from_store_yaml(database, tmp_path, monkeypatch, flags, expected):
    import uvicorn

    from storemood.config import EXAMPLE_STORE

    layout = tmp_path / "store.yaml"
    layout.write_text(
        EXAMPLE_STORE.read_text(encoding="utf-8").replace("engagement_dwell_s: 3.0", "engagement_dwell_s: 12"),
        encoding="utf-8",
    )
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    port = str(_free_port())
    assert main(["serve", "--db", database, "--port", port, "--store", str(layout), *flags]) == 0
    assert served[0].state.settings.engagement_dwell_s == expected


def test_serve_without_store_yaml_keeps_the_default_threshold(database, monkeypatch):
    import uvicorn

    from storemood.defaults import ENGAGEMENT_DWELL_S

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    assert main(["serve", "--db", database, "--port", str(_free_port())]) == 0
    assert served[0].state.settings.engagement_dwell_s == ENGAGEMENT_DWELL_S == 3.0


def test_serve_with_workers_hands_each_worker_the_same_database_and_settings(database, monkeypatch):
    import os

    import uvicorn

    from storemood.api.app import WORKER_ENV

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append((app, options)))
    monkeypatch.setitem(os.environ, WORKER_ENV, "")  # restored after the test, as serve sets it
    argv = ["serve", "--db", database, "--port", str(_free_port()), "--workers", "3", "--engaged-after", "7"]
    assert main([*argv, "--min-group", "9", "--cors-origin", "https://intranet.example"]) == 0
    target, options = started[0]
    assert (options["workers"], options["factory"]) == (3, True)
    module, factory = target.split(":")
    worker = getattr(importlib.import_module(module), factory)()  # what uvicorn does in each worker
    settings = worker.state.settings
    assert (settings.engagement_dwell_s, settings.figures.min_group, settings.cors_origins) == (
        7,
        9,
        ("https://intranet.example",),
    )
    assert str(worker.state.engine.url) == database
    worker.state.engine.dispose()


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_serve_refuses_a_worker_count_below_one(database, capsys, workers):
    with pytest.raises(SystemExit) as stop:
        main(["serve", "--db", database, "--workers", workers])
    assert stop.value.code == 2
    assert "argument --workers:" in capsys.readouterr().err
