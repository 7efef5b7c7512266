"""Tracker, smoother and classification schedule on face paths the tests generate."""

from __future__ import annotations

import numpy as np

from storemood.vision.faces import Faces
from storemood.vision.smoother import ClassificationSchedule, EmotionSmoother
from storemood.vision.tracker import FaceTracker


def frame_of(*boxes) -> Faces:
    return Faces(boxes=np.array(boxes, np.float32).reshape(-1, 4), scores=np.ones(len(boxes), np.float32))


def walk(start_x: float, step: float, y: float, size: float, frame: int) -> list[float]:
    return [start_x + step * frame, y, size, size]


def test_two_faces_crossing_keep_their_ids():
    """Two faces walking towards each other at nearly the same height swap places; ids follow them."""
    tracker, seen = FaceTracker(), []
    for frame in range(40):
        left_walker, right_walker = walk(0, 12, 100, 60, frame), walk(468, -12, 110, 64, frame)
        order = [left_walker, right_walker] if frame % 2 else [right_walker, left_walker]  # detector order varies
        faces, ended = tracker.update(frame_of(*order))
        by_x_start = dict(zip([b[0] for b in order], faces.track_ids.tolist(), strict=True))
        seen.append((by_x_start[left_walker[0]], by_x_start[right_walker[0]]))
        assert not ended
    assert len(set(seen)) == 1
    assert seen[0][0] != seen[0][1]


def test_brief_occlusion_keeps_the_id_and_long_absence_ends_the_track():
    tracker = FaceTracker(max_missed=5)
    ids = [tracker.update(frame_of(walk(0, 5, 50, 80, frame)))[0].track_ids[0] for frame in range(10)]
    for _ in range(4):  # hidden for 4 frames, fewer than max_missed
        _, ended = tracker.update(Faces.empty())
        assert ended == []
    faces, _ = tracker.update(frame_of(walk(0, 5, 50, 80, 15)))
    assert faces.track_ids[0] == ids[0]
    ended_at = [tracker.update(Faces.empty())[1] for _ in range(7)]
    assert [ended for ended in ended_at if ended] == [[ids[0]]]
    assert tracker.update(frame_of(walk(0, 5, 50, 80, 30)))[0].track_ids[0] != ids[0]


def test_faces_entering_and_leaving_get_new_ids_and_close_ends_all():
    tracker = FaceTracker()
    first = tracker.update(frame_of([10, 10, 50, 50]))[0].track_ids.tolist()
    both = tracker.update(frame_of([12, 10, 50, 50], [300, 200, 70, 70]))[0].track_ids.tolist()
    assert both[0] == first[0] and both[1] not in first
    assert sorted(tracker.close()) == sorted(both)


def test_smoother_reduces_flicker():
    """Readings alternating between two labels every frame: smoothed, the label stops flipping."""
    smoother, labels_raw, labels_smooth = EmotionSmoother(half_life=0.5), [], []
    for frame in range(30):
        reading = np.array([[0.6, 0.4]] if frame % 3 else [[0.3, 0.7]], np.float32)
        smoothed = smoother.update(np.array([1]), reading, now=frame / 15)
        labels_raw.append(int(reading.argmax()))
        labels_smooth.append(int(smoothed.argmax()))
    assert np.count_nonzero(np.diff(labels_raw)) > 10
    assert np.count_nonzero(np.diff(labels_smooth[5:])) == 0


def test_smoother_keeps_unclassified_tracks_nan_and_forgets():
    smoother = EmotionSmoother()
    readings = np.array([[0.9, 0.1], [np.nan, np.nan]], np.float32)
    smoothed = smoother.update(np.array([1, 2]), readings, now=0.0)
    assert np.allclose(smoothed[0], [0.9, 0.1]) and np.isnan(smoothed[1]).all()
    carried = smoother.update(np.array([1]), np.full((1, 2), np.nan, np.float32), now=1.0)
    assert np.allclose(carried[0], [0.9, 0.1])
    smoother.forget([1])
    assert np.isnan(smoother.update(np.array([1]), np.full((1, 2), np.nan, np.float32), now=2.0)).all()


def test_schedule_classifies_new_tracks_at_once_then_at_the_rate():
    schedule = ClassificationSchedule(rate=5.0)
    times = np.arange(0, 2, 1 / 30)  # 2 s at 30 fps
    due = [schedule.due(np.array([1]), now)[0] for now in times]
    assert due[0]
    assert sum(due) == 10  # 5 per second for 2 s
    assert schedule.due(np.array([1, 2]), times[-1] + 0.01).tolist() == [False, True]  # only the new one
    every = ClassificationSchedule(rate=0)
    assert all(every.due(np.array([1]), now)[0] for now in times[:5])
