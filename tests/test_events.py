"""EventBuilder and the retail sink: frames in, one anonymous event per visit out."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from storemood.config import Camera, Product, Zone
from storemood.emotions import FER7
from storemood.pipeline.frames import FrameResult
from storemood.pipeline.visit_builder import EventBuilder
from storemood.vision.faces import Faces
from storemood.visit_record import VisitEvent

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
FPS = 10.0
WIDTH, HEIGHT = 640, 480
LEFT = Zone(id="left", rect=(0.0, 0.0, 0.5, 1.0), inertia=3, product=Product(sku="oats", name="Oats", brand="Acme"))
RIGHT = Zone(id="right", rect=(0.5, 0.0, 0.5, 1.0), inertia=3, product=Product(sku="tea", brand="Leafline"))
CAMERA = Camera(id="cam", source="0", zones=[LEFT, RIGHT])


def frame(
    index: int,
    faces: dict[int, tuple[float, np.ndarray | None]],
    ended: tuple[int, ...] = (),
    unreadable: tuple[int, ...] = (),
) -> FrameResult:
    """A frame at ``index`` with faces ``{track: (centre_x_px, probabilities)}`` (64 px boxes at y=240); the
    tracks in ``unreadable`` are turned away (the readability stage's verdict) and carry no probabilities."""
    ids = list(faces)
    boxes = np.array([[faces[t][0] - 32, 208, 64, 64] for t in ids], np.float32).reshape(-1, 4)
    probabilities = np.array(
        [faces[t][1] if faces[t][1] is not None else np.full(len(FER7), np.nan) for t in ids], np.float32
    ).reshape(-1, len(FER7))
    detected = Faces(
        boxes=boxes,
        scores=np.full(len(ids), 0.9, np.float32),
        track_ids=np.array(ids, np.int64),
        probabilities=probabilities,
        readable=np.array([t not in unreadable for t in ids], bool),
        ended_tracks=ended,
    )
    return FrameResult(index, T0 + timedelta(seconds=index / FPS), (HEIGHT, WIDTH), detected, FER7)


def feed(builder: EventBuilder, frames: list[FrameResult]) -> list[VisitEvent]:
    return [event for result in frames for event in builder.on_frame(result)] + builder.flush()


def random_probabilities(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.dirichlet(np.ones(len(FER7)), size=n).astype(np.float32)


def test_a_stay_in_one_zone_is_one_event_of_means():
    rng = np.random.default_rng(0)
    rows = random_probabilities(rng, 30)
    frames = [frame(i, {7: (100.0, rows[i])}) for i in range(30)] + [frame(30, {}, ended=(7,))]
    (event,) = feed(EventBuilder("shop", CAMERA, min_dwell_s=1.0), frames)
    inside = rows[LEFT.inertia - 1 :]  # counted from the frame the inertia was reached
    assert (event.store, event.camera, event.zone, event.product, event.brand) == (
        "shop",
        "cam",
        "left",
        "oats",
        "Acme",
    )
    assert event.product_name == "Oats" and event.track_id == 7
    assert event.frames == len(inside)
    assert event.start == T0 + timedelta(seconds=(LEFT.inertia - 1) / FPS)
    assert event.end == T0 + timedelta(seconds=29 / FPS)
    means = inside.astype(np.float64).mean(axis=0)
    assert [event.probabilities[name] for name in FER7] == pytest.approx(means.tolist(), abs=1e-6)
    assert event.dominant_emotion == FER7[int(np.argmax(means))]
    assert event.face_score == pytest.approx(0.9) and event.face_size == pytest.approx(64)


def test_passers_by_and_short_visits_are_dropped():
    rows = random_probabilities(np.random.default_rng(1), 12)
    passer_by = [frame(i, {1: (100.0, rows[i])}) for i in range(2)]  # leaves before the inertia is reached
    short = [frame(i, {2: (100.0, rows[i])}) for i in range(12)]  # 1.0 s seen, 0.9 s counted
    assert feed(EventBuilder("shop", CAMERA, min_dwell_s=1.0), passer_by + short) == []
    assert len(feed(EventBuilder("shop", CAMERA, min_dwell_s=0.5), short)) == 1


def test_a_visit_continues_while_its_track_is_unseen_and_dwell_counts_the_gap():
    """A shopper turned to the shelf for 2.5 s (track lost, not ended) is one visit; dwell spans the gap."""
    rows = random_probabilities(np.random.default_rng(4), 50)
    seen = [*range(10), *range(35, 50)]
    frames = [frame(i, {5: (100.0, rows[i])}) for i in seen] + [frame(50, {}, ended=(5,))]
    (event,) = feed(EventBuilder("shop", CAMERA, min_dwell_s=1.0), frames)
    assert event.start == T0 + timedelta(seconds=(LEFT.inertia - 1) / FPS)
    assert event.end == T0 + timedelta(seconds=49 / FPS)
    assert event.frames == len(seen) - (LEFT.inertia - 1)  # frames counts what was seen, dwell what was stood


def test_moving_to_another_zone_ends_one_visit_and_starts_the_next():
    rows = random_probabilities(np.random.default_rng(2), 60)
    frames = [frame(i, {3: (100.0 if i < 30 else 500.0, rows[i])}) for i in range(60)]
    events = feed(EventBuilder("shop", CAMERA, min_dwell_s=1.0), frames)
    assert [(e.zone, e.product, e.brand) for e in events] == [("left", "oats", "Acme"), ("right", "tea", "Leafline")]
    assert events[0].end < events[1].start
    assert sum(e.frames for e in events) == 60 - (LEFT.inertia - 1)  # a switch moves the boundary, loses nothing
    assert events[0].frames == 30  # the inertia frames of leaving still count for the zone being left


def test_tracks_are_separate_visits_and_unclassified_frames_do_not_count_in_the_means():
    rows = random_probabilities(np.random.default_rng(3), 40)
    frames = [frame(i, {1: (100.0, rows[i]), 2: (400.0, None if i % 2 else rows[i])}) for i in range(40)]
    events = {e.track_id: e for e in feed(EventBuilder("shop", CAMERA, min_dwell_s=1.0), frames)}
    assert set(events) == {1, 2}
    classified = [rows[i] for i in range(LEFT.inertia - 1, 40) if i % 2 == 0]
    expected = np.mean(np.asarray(classified, np.float64), axis=0)
    assert [events[2].probabilities[name] for name in FER7] == pytest.approx(expected.tolist(), abs=1e-6)
    assert events[2].frames == 40 - (LEFT.inertia - 1)  # frames without a new classification still count


def test_only_readable_frames_count_in_the_reading_and_a_never_readable_visit_has_none():
    """Track 1 turns away for frames 10-29 (its smoothed reading is carried there, and must not count);
    track 2 never faces the camera: its visit is kept, with dwell and frames but no emotion."""
    rows = random_probabilities(np.random.default_rng(6), 40)
    turned = range(10, 30)
    frames = [
        frame(i, {1: (100.0, rows[i]), 2: (400.0, rows[i])}, unreadable=(2, 1) if i in turned else (2,))
        for i in range(40)
    ]
    events = {e.track_id: e for e in feed(EventBuilder("shop", CAMERA, min_dwell_s=1.0), frames)}
    read = [rows[i] for i in range(LEFT.inertia - 1, 40) if i not in turned]
    assert events[1].readable_frames == len(read) and events[1].frames == 40 - (LEFT.inertia - 1)
    expected = np.mean(np.asarray(read, np.float64), axis=0)
    assert [events[1].probabilities[name] for name in FER7] == pytest.approx(expected.tolist(), abs=1e-6)
    assert (events[2].probabilities, events[2].dominant_emotion, events[2].readable_frames) == (None, None, 0)
    assert events[2].dwell_seconds == pytest.approx((40 - RIGHT.inertia) / FPS)


def test_events_hold_only_anonymous_figures():
    rows = random_probabilities(np.random.default_rng(4), 20)
    (event,) = feed(EventBuilder("shop", CAMERA), [frame(i, {1: (100.0, rows[i])}) for i in range(20)])
    for item in dataclasses.fields(VisitEvent):
        value = getattr(event, item.name)
        assert value is None or isinstance(value, str | int | float | datetime | dict), item.name
        if isinstance(value, dict):
            assert all(isinstance(v, float) for v in value.values())
