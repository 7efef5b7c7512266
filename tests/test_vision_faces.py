"""``Faces`` checks its arrays when built, so a stage that gets a shape wrong fails where it does so."""

from __future__ import annotations

import numpy as np
import pytest

from storemood.vision.faces import Faces


def two_faces(**changes) -> Faces:
    fields = {
        "boxes": np.array([[10, 20, 50, 50], [200, 40, 80, 80]], np.float32),
        "scores": np.array([0.9, 0.8], np.float32),
        "landmarks": np.zeros((2, 6, 2), np.float32),
        "track_ids": np.array([3, 4], np.int64),
        "probabilities": np.full((2, 7), 1 / 7, np.float32),
        "classified": np.array([True, False]),
    }
    return Faces(**{**fields, **changes})


def test_a_complete_batch_is_accepted_and_select_keeps_every_array_in_step():
    faces = two_faces(ended_tracks=[np.int64(1)])
    second = faces.select(np.array([False, True]))
    assert len(second) == 1 and second.track_ids.tolist() == [4] and second.classified.tolist() == [False]
    assert second.landmarks.shape == (1, 6, 2) and second.probabilities.shape == (1, 7)
    assert second.ended_tracks == (1,) and isinstance(second.ended_tracks[0], int)


def test_defaults_are_untracked_and_unclassified():
    faces = Faces(boxes=np.zeros((3, 4), np.float32), scores=np.ones(3, np.float32))
    assert faces.track_ids.tolist() == [-1, -1, -1] and faces.track_ids.dtype == np.int64
    assert faces.classified.tolist() == [False, False, False]
    assert faces.landmarks is None and faces.probabilities is None and faces.ended_tracks == ()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"boxes": np.zeros((2, 3), np.float32)}, r"Faces.boxes must have shape \(2, 4\), got \(2, 3\)"),
        ({"boxes": np.zeros(8, np.float32)}, "Faces.boxes must have shape"),
        ({"scores": np.zeros(3, np.float32)}, r"Faces.scores must have shape \(2,\), got \(3,\)"),
        ({"scores": np.zeros((2, 1), np.float32)}, r"Faces.scores must have shape \(2,\), got \(2, 1\)"),
        ({"landmarks": np.zeros((2, 6), np.float32)}, r"Faces.landmarks must have shape \(2, K, 2\)"),
        ({"landmarks": np.zeros((2, 6, 3), np.float32)}, r"Faces.landmarks must have shape \(2, K, 2\)"),
        ({"track_ids": np.array([1, 2, 3])}, r"Faces.track_ids must have shape \(2,\)"),
        ({"track_ids": np.array([1.0, 2.0])}, "Faces.track_ids must be integer, got float64"),
        ({"probabilities": np.zeros((1, 7), np.float32)}, r"Faces.probabilities must have shape \(2, C\)"),
        ({"probabilities": np.zeros((2, 7), np.int64)}, "Faces.probabilities must be floating point, got int64"),
        ({"classified": np.array([1, 0])}, "Faces.classified must be bool, got int64"),
        ({"scores": [0.9, 0.8]}, "Faces.scores must be a numpy array, got list"),
        ({"boxes": None}, "Faces.boxes must be a numpy array, got NoneType"),
    ],
)
def test_a_wrong_shape_or_dtype_is_a_clear_error(changes, message):
    with pytest.raises(ValueError, match=message):
        two_faces(**changes)


def test_replacing_a_field_is_checked_too():
    with pytest.raises(ValueError, match=r"Faces.track_ids must have shape \(2,\), got \(1,\)"):
        two_faces().with_(track_ids=np.array([1]))
