"""Each camera's still and heartbeat: the median still shows no shopper, a real run on the demo clip records
both, the API reports live/stale/down and serves the JPEG, and a database outage never reaches the run."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from storemood.api.app import create_app
from storemood.api.settings import ApiSettings
from storemood.config import StillSettings, load_store
from storemood.database.camera_table import CameraTable
from storemood.database.engine import open_database
from storemood.defaults import CAMERA_DOWN_AFTER_S, CAMERA_STALE_AFTER_S, STILL_MIN_FRAMES
from storemood.delivery.latest import LatestWriter
from storemood.demo import DEMO_STORE
from storemood.demo.clip import SHOPPERS, build_store_clip
from storemood.emotions import FER7
from storemood.model_metadata import ModelInfo
from storemood.pipeline.camera_state import zone_outlines
from storemood.pipeline.loop import run_source
from storemood.pipeline.options import RunOptions
from storemood.pipeline.retail import build_sinks
from storemood.pipeline.sources import VideoSource
from storemood.pipeline.still import StillSampler, encode_still, median_still
from storemood.vision.faces import Faces
from vision_fixtures import linear_model

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SIZE = (240, 320)  # height, width


def textured_background(seed: int = 3) -> np.ndarray:
    """A static "shelf": coloured blocks, so a wrong pixel anywhere shows."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(30, 225, (SIZE[0] // 20, SIZE[1] // 20, 3), dtype=np.uint8)
    return cv2.resize(blocks, SIZE[::-1], interpolation=cv2.INTER_NEAREST)


def with_shopper(background: np.ndarray, x: int, y: int = 80, size: int = 60) -> np.ndarray:
    frame = background.copy()
    cv2.ellipse(frame, (x, y), (size // 2, size), 0, 0, 360, (250, 250, 250), -1)  # a bright "person"
    return frame


def faces_at(*boxes: tuple[int, int, int, int]) -> Faces:
    return Faces(boxes=np.array(boxes, np.float32).reshape(-1, 4), scores=np.ones(len(boxes), np.float32))


def test_the_still_of_a_clip_with_a_moving_shopper_shows_only_the_background(tmp_path):
    background = textured_background()
    path, fps, seconds = tmp_path / "walk.avi", 10.0, 12
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE[::-1])
    for index in range(int(seconds * fps)):  # the shopper crosses the frame from left to right
        writer.write(with_shopper(background, x=int(20 + index * (SIZE[1] - 40) / (seconds * fps))))
    writer.release()
    sampler = StillSampler(StillSettings(sample_s=1.0, frames=12))
    video = VideoSource(path, start_time=START)
    kept = [frame.image for frame in video.frames() if sampler.offer(frame.image, frame.timestamp, Faces.empty())]
    video.close()
    assert len(kept) == seconds  # one frame a second of video, never more often

    still = median_still(*sampler.frames())
    error = np.abs(still.astype(int) - background.astype(int))
    each_frame = [np.abs(frame.astype(int) - background.astype(int)).max(axis=2) for frame in kept]
    assert all((difference > 100).sum() > 1000 for difference in each_frame)  # every kept frame shows the shopper
    assert (error.max(axis=2) > 100).sum() == 0  # the still does not
    assert error.mean() < 3

    stored = encode_still(*sampler.frames(), taken_at=sampler.last_kept)
    decoded = cv2.imdecode(np.frombuffer(stored.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[:2] == SIZE and (stored.width, stored.height, stored.frames) == (SIZE[1], SIZE[0], seconds)
    stored_error = np.abs(decoded.astype(int) - background.astype(int))
    assert (stored_error.max(axis=2) > 100).sum() == 0 and stored_error.mean() < 8  # JPEG noise, no shopper


def test_a_shopper_standing_still_is_left_out_where_the_detector_saw_a_face():
    """Standing in 4 of 6 frames would win the plain median; the face regions are masked instead."""
    background = textured_background(seed=8)
    box = (130, 40, 40, 40)  # the "face"; the ellipse below reaches the shoulders
    frames = [with_shopper(background, x=150, y=90) if index < 4 else background for index in range(6)]
    faces = [faces_at(box) if index < 4 else Faces.empty() for index in range(6)]
    plain = median_still(frames, [np.zeros(SIZE, bool)] * 6)
    assert np.abs(plain.astype(int) - background.astype(int)).max(axis=2).max() > 100  # the ghost, unmasked

    sampler = StillSampler(StillSettings(sample_s=1.0, frames=6))
    for index, (frame, found) in enumerate(zip(frames, faces, strict=True)):
        sampler.offer(frame, START + timedelta(seconds=index), found)
    masked = median_still(*sampler.frames())
    assert np.abs(masked.astype(int) - background.astype(int)).max() == 0

    always_there = median_still(frames[:4], sampler.frames()[1][:4])  # a face in every frame: never its pixels
    x, y, width, height = box
    assert not np.any(np.all(always_there[y : y + height, x : x + width] == (250, 250, 250), axis=2))


def test_no_still_from_fewer_frames_than_the_minimum():
    sampler = StillSampler(StillSettings(sample_s=2.0, frames=10))
    image = textured_background()
    offered = [sampler.offer(image, START + timedelta(seconds=s), Faces.empty()) for s in np.arange(0, 8, 0.5)]
    assert sum(offered) == STILL_MIN_FRAMES - 1  # 0, 2, 4, 6 s: 8 s of frames are not enough at 2 s apart
    assert not sampler.ready


def test_a_run_on_the_demo_clip_records_heartbeat_zones_and_still(tmp_path):
    clip = build_store_clip(tmp_path / "store.avi")
    empty_shelf = build_store_clip(tmp_path / "empty.avi", seconds=0.2, shoppers=())
    url = f"sqlite:///{tmp_path / 'events.db'}"
    model = linear_model(tmp_path / "m.onnx", ModelInfo(classes=FER7))
    options = RunOptions(model=model, progress=False, start_time=START)
    summary = run_source(clip.path, options, sinks=build_sinks(DEMO_STORE, "shelf", url))

    table = CameraTable(open_database(url))
    (camera,) = table.cameras()
    camera_layout = load_store(DEMO_STORE).camera("shelf")
    assert (camera["store"], camera["camera"], camera["running"]) == ("demo", "shelf", False)
    assert camera["frames_read"] == summary.frames == clip.frames
    assert camera["fps"] > 0 and camera["dropped_frames"] == 0 and camera["reconnects"] == 0
    assert camera["faces_seen"] >= len(SHOPPERS) and camera["faces_seen_interval"] >= 1
    assert camera["last_frame"] == START + timedelta(seconds=(clip.frames - 1) / clip.fps)
    assert camera["zones"] == zone_outlines(camera_layout)
    assert [zone["product"] for zone in camera["zones"]] == [zone.product.sku for zone in camera_layout.zones]
    assert (camera["frame_width"], camera["frame_height"]) == clip.size

    still = table.still("demo", "shelf")
    assert still is not None and still.frames >= STILL_MIN_FRAMES and (still.width, still.height) == clip.size
    shelf, with_shoppers = first_frame(empty_shelf.path), first_frame(clip.path, at=clip.frames // 2)
    image = cv2.imdecode(np.frombuffer(still.jpeg, np.uint8), cv2.IMREAD_COLOR)

    def changed(frame: np.ndarray) -> int:  # pixels far from the empty shelf
        return int((np.abs(frame.astype(int) - shelf.astype(int)).max(axis=2) > 60).sum())

    assert changed(with_shoppers) > 10_000  # two shoppers in front of the shelf
    assert changed(image) < 0.001 * image.shape[0] * image.shape[1]  # none: a faint seam at a mask's edge at most

    silent_since = camera["heartbeat_at"]  # retention forgets a camera only once silent for as long
    assert table.prune(30, now=silent_since + timedelta(days=29)) == 0 and len(table.cameras()) == 1
    assert table.prune(30, now=silent_since + timedelta(days=31), store="other-store") == 0
    assert table.prune(30, now=silent_since + timedelta(days=31), store="demo") == 1
    assert table.cameras() == [] and table.still("demo", "shelf") is None
    table.engine.dispose()


def first_frame(path, at: int = 0) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, at)
    frame = capture.read()[1]
    capture.release()
    return frame


def test_no_still_when_turned_off(tmp_path):
    clip = build_store_clip(tmp_path / "store.avi", seconds=3.0)
    url = f"sqlite:///{tmp_path / 'events.db'}"
    options = RunOptions(model=linear_model(tmp_path / "m.onnx", ModelInfo(classes=FER7)), progress=False)
    run_source(clip.path, options, sinks=build_sinks(DEMO_STORE, "shelf", url, still=False))
    table = CameraTable(open_database(url))
    assert len(table.cameras()) == 1 and table.still("demo", "shelf") is None
    table.engine.dispose()


def test_while_the_database_is_unreachable_the_newest_job_waits_and_nothing_reaches_the_caller(tmp_path):
    folder = tmp_path / "not-yet"
    writer = LatestWriter(f"sqlite:///{folder / 'events.db'}", retry_s=0.05)
    ran: list[str] = []
    writer.submit("heartbeat", lambda table: ran.append("first"))
    deadline = time.monotonic() + 30
    while writer.last_error is None and time.monotonic() < deadline:  # the writer has tried and failed
        time.sleep(0.01)
    assert "does not exist" in writer.last_error and ran == []
    writer.submit("heartbeat", lambda table: ran.append("newest"))  # replaces the one still waiting
    folder.mkdir()
    writer.close(timeout=30)
    assert ran == ["newest"] and writer.written == 1 and writer.last_error is None


def heartbeat(store: str, camera: str, at: datetime) -> dict:
    layout = load_store(DEMO_STORE).camera("shelf")
    return {
        "store": store,
        "camera": camera,
        "heartbeat_at": at,
        "run_started_at": at - timedelta(hours=1),
        "running": True,
        "last_frame": at,
        "fps": 14.5,
        "analysed_fps": 7.25,
        "frames_read": 52200,
        "dropped_frames": 12,
        "reconnects": 1,
        "faces_seen": 40,
        "faces_seen_interval": 2,
        "frame_width": 640,
        "frame_height": 480,
        "zones": zone_outlines(layout),
    }


@pytest.fixture
def cameras_db(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'events.db'}")
    now = datetime.now(UTC)
    table = CameraTable(engine)
    ages = {"live": 5, "stale": (CAMERA_STALE_AFTER_S + CAMERA_DOWN_AFTER_S) / 2, "down": CAMERA_DOWN_AFTER_S + 600}
    for camera, age in ages.items():
        table.put_heartbeat(heartbeat("shop-1" if camera != "down" else "shop-2", camera, now - timedelta(seconds=age)))
    table.put_heartbeat(heartbeat("shop-1", "live", now - timedelta(seconds=1)))  # replaces, never adds
    frames = [textured_background(seed) for seed in range(STILL_MIN_FRAMES)]
    still = encode_still(frames, [np.zeros(SIZE, bool)] * len(frames), taken_at=now - timedelta(seconds=30))
    table.put_still("shop-1", "live", still)
    yield engine, still
    engine.dispose()


@pytest.mark.postgres
def test_heartbeat_and_still_replace_their_row_on_postgresql(pg_url):
    engine = open_database(pg_url)
    table, now = CameraTable(engine), datetime.now(UTC)
    for age in (60, 5):
        table.put_heartbeat(heartbeat("shop-1", "aisle", now - timedelta(seconds=age)))
    frames = [textured_background(seed) for seed in range(STILL_MIN_FRAMES)]
    for taken in (now - timedelta(seconds=90), now):
        table.put_still("shop-1", "aisle", encode_still(frames, [np.zeros(SIZE, bool)] * len(frames), taken))
    (camera,) = table.cameras()
    assert camera["heartbeat_at"] == now - timedelta(seconds=5) and camera["still_taken_at"] == now
    assert camera["zones"] == zone_outlines(load_store(DEMO_STORE).camera("shelf"))
    still = table.still("shop-1", "aisle")
    assert still.taken_at == now and cv2.imdecode(np.frombuffer(still.jpeg, np.uint8), 1).shape[:2] == SIZE
    engine.dispose()


def test_cameras_endpoint_reports_status_counters_zones_and_still(cameras_db):
    engine, still = cameras_db
    client = TestClient(create_app(engine))
    body = client.get("/api/cameras").json()
    assert (body["stale_after_s"], body["down_after_s"]) == (CAMERA_STALE_AFTER_S, CAMERA_DOWN_AFTER_S)
    assert body["rows"] == []  # no visits: the listing part is empty
    by_name = {camera["camera"]: camera for camera in body["cameras"]}
    assert {name: camera["status"] for name, camera in by_name.items()} == {
        "live": "live",
        "stale": "stale",
        "down": "down",
    }
    live = by_name["live"]
    assert (live["fps"], live["dropped_frames"], live["reconnects"], live["faces_seen"]) == (14.5, 12, 1, 40)
    assert live["zones"][0]["polygon"][2] == [0.3328, 1.0] and live["zones"][0]["product_name"] == "Breakfast cereal"
    assert (live["width"], live["height"]) == (SIZE[1], SIZE[0])
    assert datetime.fromisoformat(live["still_taken_at"]) == still.taken_at
    assert by_name["stale"]["still_url"] is None and by_name["stale"]["width"] is None

    image = client.get(live["still_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content == still.jpeg

    only = client.get("/api/cameras", params={"store": "shop-2"}).json()["cameras"]
    assert [camera["camera"] for camera in only] == ["down"]


def test_still_is_404_with_a_reason_when_there_is_none_and_needs_the_token(cameras_db):
    engine, _ = cameras_db
    missing = TestClient(create_app(engine)).get("/api/cameras/shop-1/stale/still.jpg")
    assert missing.status_code == 404 and "no still" in missing.json()["detail"]
    guarded = TestClient(create_app(engine, ApiSettings(token="camera-token-0123456789")))
    assert guarded.get("/api/cameras/shop-1/live/still.jpg").status_code == 401
    assert guarded.get("/api/cameras").status_code == 401


class RecordingWriter:
    """Stands in for LatestWriter: runs each job at once against a recording table."""

    def __init__(self) -> None:
        self.heartbeats: list[dict] = []
        self.closed = False

    def submit(self, kind: str, job) -> None:
        job(self)

    def put_heartbeat(self, row: dict) -> None:
        self.heartbeats.append(row)

    def close(self) -> None:
        self.closed = True


def test_a_heartbeat_every_interval_of_the_wall_clock_and_a_last_one_at_the_end():
    from storemood.pipeline.camera_state import CameraStateSink
    from storemood.pipeline.frames import FrameResult, SourceCounters

    now = [0.0]
    writer = RecordingWriter()
    sink = CameraStateSink("demo", load_store(DEMO_STORE).camera("shelf"), writer, None, 10.0, lambda: now[0])
    image = textured_background()
    for index in range(12):  # 12 analysed frames, 2 s apart on the wall clock, 3 frames read each
        now[0] += 2.0
        faces = faces_at((10, 10, 40, 40)).with_(track_ids=np.array([index // 5]))  # a new shopper every 10 s
        counters = SourceCounters(frames_read=3 * (index + 1), dropped_frames=index, reconnects=0)
        sink.on_frame(FrameResult(index, START, SIZE, faces, FER7, image, counters))
    sink.close()
    assert [beat["running"] for beat in writer.heartbeats] == [True, True, False] and writer.closed
    first, second, last = writer.heartbeats
    assert first["fps"] == pytest.approx(15 / 10) and first["analysed_fps"] == pytest.approx(5 / 10)
    assert (first["frames_read"], first["dropped_frames"], first["faces_seen_interval"]) == (15, 4, 1)
    assert (second["faces_seen"], second["faces_seen_interval"], second["frames_read"]) == (2, 1, 30)
    assert (last["frames_read"], last["faces_seen"], last["faces_seen_interval"]) == (36, 3, 1)
    assert last["fps"] == pytest.approx(6 / 4)
    assert last["zones"] == zone_outlines(load_store(DEMO_STORE).camera("shelf"))


def test_the_migration_creates_the_tables_the_schema_declares(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storemood.database.schema import Base

    engine = open_database(f"sqlite:///{tmp_path / 'events.db'}")
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    camera_tables = ("camera_health", "camera_stills")
    assert [d for d in differences if any(table in repr(d) for table in camera_tables)] == []
