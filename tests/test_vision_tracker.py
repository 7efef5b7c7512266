"""Tracker, smoother and classification schedule on face paths the tests generate."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from storemood.vision.classifier import ClassificationSchedule
from storemood.vision.faces import Faces
from storemood.vision.smoother import EmotionSmoother
from storemood.vision.tracker import FaceTracker

FPS = 15.0


def frame_of(*boxes, score: float = 1.0) -> Faces:
    return Faces(boxes=np.array(boxes, np.float32).reshape(-1, 4), scores=np.full(len(boxes), score, np.float32))


def readings(track_ids: list[int], rows, ended: tuple[int, ...] = ()) -> Faces:
    """Faces of the given tracks carrying two-class readings (a NaN row: not classified at this frame)."""
    return Faces(
        boxes=np.zeros((len(track_ids), 4), np.float32),
        scores=np.ones(len(track_ids), np.float32),
        track_ids=np.array(track_ids, np.int64),
        probabilities=np.array(rows, np.float32).reshape(len(track_ids), 2),
        ended_tracks=ended,
    )


def at(seconds: float) -> SimpleNamespace:
    """A frame as the smoother sees it: only its time matters."""
    return SimpleNamespace(image=None, seconds=seconds)


def walk(start_x: float, step: float, y: float, size: float, frame: int) -> list[float]:
    return [start_x + step * frame, y, size, size]


def test_two_faces_crossing_keep_their_ids():
    """Two faces walking towards each other at nearly the same height swap places; ids follow them."""
    tracker, seen = FaceTracker(), []
    for frame in range(40):
        left_walker, right_walker = walk(0, 12, 100, 60, frame), walk(468, -12, 110, 64, frame)
        order = [left_walker, right_walker] if frame % 2 else [right_walker, left_walker]  # detector order varies
        faces = tracker.update(frame_of(*order), at(frame / FPS))
        by_x_start = dict(zip([b[0] for b in order], faces.track_ids.tolist(), strict=True))
        seen.append((by_x_start[left_walker[0]], by_x_start[right_walker[0]]))
        assert not faces.ended_tracks
    assert len(set(seen)) == 1
    assert seen[0][0] != seen[0][1]


def test_a_face_turned_away_for_seconds_keeps_its_id_and_long_absence_ends_the_track():
    """Lost time is counted in seconds: the same gap in frames is short at 5 fps and long at 30 fps."""
    for fps in (5.0, 30.0):
        tracker = FaceTracker(lost_s=3.0)
        ids = [tracker.update(frame_of([200 + f, 50, 80, 80]), at(f / fps)).track_ids[0] for f in range(10)]
        hidden = range(10, 10 + int(2.5 * fps))  # turned to the shelf for 2.5 s
        assert all(tracker.update(Faces.empty(), at(f / fps)).ended_tracks == () for f in hidden)
        back = hidden.stop
        faces = tracker.update(frame_of([250, 60, 84, 84]), at(back / fps))  # a little aside, a little closer
        assert faces.track_ids.tolist() == [ids[0]]
        ended_at = [tracker.update(Faces.empty(), at((back + 1 + f) / fps)).ended_tracks for f in range(int(3.5 * fps))]
        assert [ended for ended in ended_at if ended] == [(ids[0],)]


def test_a_returning_face_of_another_size_or_place_starts_a_new_track():
    tracker = FaceTracker()
    first = tracker.update(frame_of([200, 50, 80, 80]), at(0.0)).track_ids[0]
    assert tracker.update(frame_of([200, 50, 120, 120]), at(1.0)).track_ids[0] != first  # 1.5 times the size
    far = FaceTracker()
    first = far.update(frame_of([200, 50, 80, 80]), at(0.0)).track_ids[0]
    assert far.update(frame_of([600, 50, 80, 80]), at(1.0)).track_ids[0] != first  # five face sizes away


def test_weak_detections_continue_a_track_but_never_start_one():
    """ByteTrack's second stage: a low score keeps a followed face; alone, it is dropped."""
    tracker = FaceTracker(score_threshold=0.5)
    first = tracker.update(frame_of([200, 50, 80, 80]), at(0.0)).track_ids.tolist()
    weak = tracker.update(frame_of([203, 50, 80, 80], [500, 300, 80, 80], score=0.45), at(0.1))
    assert weak.track_ids.tolist() == first and weak.boxes[0, 0] == 203


def test_faces_entering_and_leaving_get_new_ids_and_close_ends_all():
    tracker = FaceTracker()
    first = tracker.update(frame_of([10, 10, 50, 50]), at(0.0)).track_ids.tolist()
    both = tracker.update(frame_of([12, 10, 50, 50], [300, 200, 70, 70]), at(0.1)).track_ids.tolist()
    assert both[0] == first[0] and both[1] not in first
    closed = tracker.close()
    assert len(closed) == 0 and sorted(closed.ended_tracks) == sorted(both)


def test_smoother_reduces_flicker():
    """Readings alternating between two labels every frame: smoothed, the label stops flipping."""
    smoother, labels_raw, labels_smooth = EmotionSmoother(half_life=0.5), [], []
    for frame in range(30):
        reading = [0.6, 0.4] if frame % 3 else [0.3, 0.7]
        smoothed = smoother.update(readings([1], [reading]), at(frame / 15)).probabilities
        labels_raw.append(int(np.argmax(reading)))
        labels_smooth.append(int(smoothed.argmax()))
    assert np.count_nonzero(np.diff(labels_raw)) > 10
    assert np.count_nonzero(np.diff(labels_smooth[5:])) == 0


def test_smoother_keeps_unclassified_tracks_nan_and_forgets_ended_tracks():
    smoother, nan = EmotionSmoother(), [np.nan, np.nan]
    smoothed = smoother.update(readings([1, 2], [[0.9, 0.1], nan]), at(0.0)).probabilities
    assert np.allclose(smoothed[0], [0.9, 0.1]) and np.isnan(smoothed[1]).all()
    carried = smoother.update(readings([1], [nan]), at(1.0)).probabilities
    assert np.allclose(carried[0], [0.9, 0.1])
    smoother.update(readings([], [], ended=(1,)), at(1.5))  # track 1 ended: its state goes
    assert np.isnan(smoother.update(readings([1], [nan]), at(2.0)).probabilities).all()


def test_schedule_classifies_new_tracks_at_once_then_at_the_rate():
    schedule = ClassificationSchedule(rate=5.0)
    times = np.arange(0, 2, 1 / 30)  # 2 s at 30 fps
    due = [schedule.due(np.array([1]), now)[0] for now in times]
    assert due[0]
    assert sum(due) == 10  # 5 per second for 2 s
    assert schedule.due(np.array([1, 2]), times[-1] + 0.01).tolist() == [False, True]  # only the new one
    every = ClassificationSchedule(rate=0)
    assert all(every.due(np.array([1]), now)[0] for now in times[:5])


def test_the_match_gate_decides_whether_a_jump_continues_a_track():
    """A face that jumps 0.6 face sizes between frames continues its track under the default gate (1.0) and
    starts a new one under a gate of 0.5 (store.yaml's track.match_gate)."""

    def ids(tracker: FaceTracker) -> list[int]:
        return [int(tracker.update(frame_of([x, 10, 50, 50]), at(t)).track_ids[0]) for t, x in ((0, 10.0), (0.1, 40.0))]

    assert ids(FaceTracker()) == [1, 1]
    assert ids(FaceTracker(match_gate=0.5)) == [1, 2]
