"""The API keeps its published contract: Schemathesis (`st run --checks all`) against `/openapi.json` of a
served, filled database finds no failure, with a token and in loopback mode without one.

Every check runs: status codes, content types and headers as documented, response bodies valid against
their schemas, schema-valid requests accepted and invalid ones refused, and the security scheme applied
exactly where it is declared. The runs are bounded (`--max-examples`) and seeded, and talk to the local
server only. The coverage phase (every enum value, every bound) runs against the server with a token and
raw visits on, where the schema says most; the server without a token gets the examples and fuzzing
phases, which find a security scheme declared but not applied.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import storemood
from storemood.database.camera_table import CameraTable
from storemood.database.event_table import EventTable
from synthetic_events import synthetic_events
from test_cameras import heartbeat
from test_dashboard import serve

TOKEN = "contract-test-token-0123456789"
ST = Path(sys.executable).parent / "st"
TESTS = Path(__file__).resolve().parent
#: Examples per operation and phase: enough to reach every parameter's bounds and enums, small enough for CI.
MAX_EXAMPLES = 25
SEED = 19

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The database, and Schemathesis' working folder (it keeps a cache of failures in `.schemathesis/`)."""
    return tmp_path_factory.mktemp("contract")


@pytest.fixture(scope="module")
def database(folder) -> str:
    """Visits, and a camera's heartbeat for `/api/cameras` to report."""
    url = f"sqlite:///{folder / 'events.db'}"
    with EventTable(url) as events:
        events.add(list(synthetic_events(200, seed=19, days=3)))
        CameraTable(events.engine).put_heartbeat(heartbeat("store-a", "cam-1", datetime.now(UTC)))
    return url


def schemathesis_run(folder: Path, base: str, *options: str) -> subprocess.CompletedProcess:
    if not ST.is_file():
        pytest.skip(f"Schemathesis ({ST}) is not installed; it is in the dev extra")
    environment = dict(os.environ, SCHEMATHESIS_HOOKS="contract_hooks", NO_COLOR="1")
    # The hooks import this storemood, from wherever this test imports it (Schemathesis runs in `folder`).
    environment["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(Path(storemood.__file__).parents[1])])
    command = [str(ST), "run", f"{base}/openapi.json", "--checks", "all", "--max-examples", str(MAX_EXAMPLES)]
    command += ["--seed", str(SEED), "--generation-database", "none", "--workers", "1", "--no-color", *options]
    return subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def open_server(database) -> Iterator[str]:
    with serve(database) as base:
        yield base


@pytest.fixture(scope="module")
def token_server(database) -> Iterator[str]:
    with serve(database, TOKEN, "--raw-visits") as base:
        yield base


def assert_no_failures(run: subprocess.CompletedProcess) -> None:
    report = run.stdout + run.stderr
    assert run.returncode == 0 and " passed" in report, report[-6000:]
    assert "failure" not in report.split("SUMMARY")[-1], report[-6000:]


def test_served_with_a_token_the_api_keeps_its_contract(folder, token_server):
    assert_no_failures(schemathesis_run(folder, token_server, "--header", f"Authorization: Bearer {TOKEN}"))


def test_served_on_loopback_without_a_token_the_api_keeps_its_contract(folder, open_server):
    assert_no_failures(schemathesis_run(folder, open_server, "--phases", "examples,fuzzing"))
