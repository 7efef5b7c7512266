"""The retail sinks inside real runs: real videos → visits in the database, one camera or a whole store."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from storemood.database.engine import create_db_engine
from storemood.emotions import FER7
from storemood.model_metadata import ModelInfo
from storemood.pipeline.loop import run_source
from storemood.pipeline.options import RunOptions
from storemood.pipeline.retail import build_sinks, run_store
from vision_fixtures import linear_model

STORE_YAML = """
id: test-shop
name: Test shop
settings: {{min_dwell_s: 0.5}}
cameras:
{cameras}
"""
CAMERA_YAML = """  - id: {id}
    source: {source}
    zones:
      - id: {id}-left
        rect: [0.0, 0.0, 0.5, 1.0]
        product: {{sku: {id}-A, name: Left product, brand: Acme}}
      - id: {id}-right
        rect: [0.5, 0.0, 0.5, 1.0]
        product: {{sku: {id}-B, name: Right product, brand: Sunfield}}
"""


@pytest.fixture(scope="module")
def options(tmp_path_factory) -> RunOptions:
    model = linear_model(tmp_path_factory.mktemp("model") / "fer7.onnx", ModelInfo(classes=FER7))
    return RunOptions(model=model, progress=False, start_time=datetime(2026, 11, 22, 9, 0, tzinfo=UTC))


def _store(tmp_path: Path, sources: dict[str, Path]) -> Path:
    cameras = "".join(CAMERA_YAML.format(id=camera, source=source) for camera, source in sources.items())
    path = tmp_path / "store.yaml"
    path.write_text(STORE_YAML.format(cameras=cameras), encoding="utf-8")
    return path


def _events(url: str) -> list[sa.Row]:
    engine = create_db_engine(url)
    with engine.connect() as connection:
        rows = list(connection.execute(sa.text("SELECT camera, zone, product, brand, track_id, frames FROM events")))
    engine.dispose()
    return rows


@pytest.mark.slow
def test_a_real_video_gives_visits_of_its_tracks(tmp_path, real_videos, options):
    url = f"sqlite:///{tmp_path / 'events.db'}"
    sinks = build_sinks(_store(tmp_path, {"door": real_videos / "single_face.mp4"}), None, url)
    summary = run_source(real_videos / "single_face.mp4", options, sinks=sinks)
    rows = _events(url)
    tracks = {track.id: track.frames for track in summary.tracks}
    assert rows and len(rows) == sinks[0].visits
    for row in rows:
        assert row.camera == "door" and row.zone in ("door-left", "door-right")
        assert (row.product, row.brand) in (("door-A", "Acme"), ("door-B", "Sunfield"))
        assert row.frames <= tracks[row.track_id]


@pytest.mark.slow
def test_a_whole_store_runs_one_worker_per_camera_into_one_database(tmp_path, real_videos, options):
    url = f"sqlite:///{tmp_path / 'events.db'}"
    sources = {"door": real_videos / "single_face.mp4", "aisle": real_videos / "test.mp4"}
    summaries = run_store(_store(tmp_path, sources), url, {"model": options.model, "start_time": options.start_time})
    assert set(summaries) == set(sources) and all("error" not in s for s in summaries.values())
    rows = _events(url)
    for camera, summary in summaries.items():
        assert summary["visits"] == sum(row.camera == camera for row in rows)
    assert {row.camera for row in rows} == set(sources)


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (["--camera", "aisle-9"], "unknown camera 'aisle-9' in store 'downtown-01'; known cameras: aisle-3, endcap-1"),
        ([], "store 'downtown-01' has 2 cameras; pick one with --camera"),
    ],
)
def test_run_with_a_wrong_camera_is_one_line_and_status_2(capsys, tmp_path, real_videos, extra, reason):
    from storemood.cli import main
    from storemood.config import EXAMPLE_STORE

    video = str(real_videos / "single_face.mp4")
    status = main(["run", video, "--store", str(EXAMPLE_STORE), "--db", f"sqlite:///{tmp_path / 'e.db'}", *extra])
    err = capsys.readouterr().err
    assert status == 2 and reason in err and err.count("\n") == 1


def _standing_shopper_clip(path: Path, seconds: float):
    """A clip in which one real shopper stands in the left half for ``seconds`` and one in the right half."""
    from storemood.demo.clip import SHOPPERS, build_store_clip

    left, right = (
        dataclasses.replace(SHOPPERS[index], waypoints=((0.0, x, 240, 110), (seconds, x, 240, 110)))
        for index, x in ((0, 160), (2, 480))
    )
    return build_store_clip(path, seconds=seconds, shoppers=(left, right))


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _camera_workers(parent: int, count: int, busy_s: float, timeout_s: float = 180.0) -> list[int]:
    """Wait until ``parent`` has ``count`` camera workers that each used ``busy_s`` of CPU; their ids."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        workers = [pid for pid in _children(parent) if "spawn_main" in _cmdline(pid)]
        if len(workers) == count and all(_cpu_seconds(pid) >= busy_s for pid in workers):
            return workers
        time.sleep(0.1)
    raise AssertionError(f"{count} camera workers never got {busy_s} s of CPU")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to follow the workers")
def test_sigterm_to_a_whole_store_run_reaches_every_camera_and_flushes_their_visits(tmp_path):
    """``systemctl stop`` signals only the main process: it passes SIGTERM on and each camera stores the
    visit it had open when the signal came, in the middle of a two-minute clip."""
    clip = _standing_shopper_clip(tmp_path / "store.avi", seconds=120)
    url = f"sqlite:///{tmp_path / 'events.db'}"
    store = _store(tmp_path, {"left": clip.path, "right": clip.path})
    command = [sys.executable, "-m", "storemood", "run", "--store", str(store), "--db", url, "--quiet"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _camera_workers(child.pid, count=2, busy_s=8.0)  # models loaded, some seconds of video read
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130 and "interrupted" in err
    engine = create_db_engine(url)
    with engine.connect() as connection:
        query = 'SELECT camera, zone, start, "end" FROM events'
        visits = [
            (row.camera, row.zone, datetime.fromisoformat(row.end) - datetime.fromisoformat(row.start))
            for row in connection.execute(sa.text(query))
        ]
    engine.dispose()
    cameras = {camera for camera, _, _ in visits}
    assert cameras == {"left", "right"}  # each camera stored the visits it had open
    assert all(0 < dwell.total_seconds() < 119 for _, _, dwell in visits)  # cut short by the signal


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to find the workers")
def test_killing_a_whole_store_run_ends_its_camera_workers(tmp_path):
    """SIGKILL gives the parent no chance to pass anything on: the kernel ends the workers instead."""
    clip = _standing_shopper_clip(tmp_path / "store.avi", seconds=120)
    store = _store(tmp_path, {"left": clip.path, "right": clip.path})
    database = f"sqlite:///{tmp_path / 'e.db'}"
    command = [sys.executable, "-m", "storemood", "run", "--store", str(store), "--db", database]
    parent = subprocess.Popen(
        [*command, "--quiet", "--detector", "mtcnn"], stderr=subprocess.DEVNULL
    )  # slow: 120 s of video outlast the check
    workers = _camera_workers(parent.pid, count=2, busy_s=3.0)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() and "spawn_main" in _cmdline(pid) for pid in workers):
        assert time.monotonic() < deadline, "camera workers outlived their killed parent"
        time.sleep(0.1)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""
