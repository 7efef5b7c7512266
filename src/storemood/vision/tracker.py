"""Stable ids for faces across frames: a small motion-aware tracker with optimal assignment.

Why our own and not ByteTrack from ``supervision``: ``supervision`` requires ``opencv-python`` (the GUI
build), which would install a second, conflicting ``cv2`` beside ``opencv-python-headless`` 5, plus
its own dependency tree, to track the handful of faces a shelf camera sees. Faces are few and the
detector is reliable, so the core of SORT/ByteTrack is enough: predict each track with a constant
velocity, match predictions to detections with the Hungarian algorithm (``scipy``, already installed
with scikit-image) on a cost of centre distance and size change, start tracks for unmatched faces, and
end a track after ``max_missed`` frames unseen, which carries a face through brief occlusions.

>>> import numpy as np
>>> from storemood.vision.faces import Faces
>>> tracker = FaceTracker(max_missed=2)
>>> faces = Faces(boxes=np.array([[10, 10, 50, 50]], np.float32), scores=np.ones(1, np.float32))
>>> tracked = tracker.update(faces)
>>> tracked.track_ids.tolist(), tracked.ended_tracks
([1], ())
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from storemood import defaults
from storemood.vision.faces import Faces
from storemood.vision.stage import FrameLike

#: How much a new displacement updates a track's velocity (exponential average).
VELOCITY_WEIGHT = 0.5


@dataclass
class _Track:
    id: int
    center: np.ndarray
    size: float
    velocity: np.ndarray
    missed: int = 0

    def predicted_center(self) -> np.ndarray:
        return self.center + self.velocity * (self.missed + 1)

    def update(self, center: np.ndarray, size: float) -> None:
        step = (center - self.center) / (self.missed + 1)
        self.velocity = VELOCITY_WEIGHT * step + (1.0 - VELOCITY_WEIGHT) * self.velocity
        self.center, self.size, self.missed = center, size, 0


class FaceTracker:
    """Gives every face a track id that stays the same while the face is followed.

    Args:
        max_missed: frames a track may go unseen (occlusion, a missed detection) before it ends.
        match_gate: a detection whose cost from a track's prediction is this or more never continues it.
    """

    def __init__(self, max_missed: int = defaults.MAX_MISSED, match_gate: float = defaults.MATCH_GATE) -> None:
        self.max_missed = max_missed
        self.match_gate = match_gate
        self.tracks: list[_Track] = []
        self.next_id = 1

    def update(self, faces: Faces, frame: FrameLike | None = None) -> Faces:
        """Faces with ``track_ids`` filled and ``ended_tracks`` the tracks that ended at this frame.

        The tracker works on boxes alone: ``frame`` is accepted for the stage interface and not read.
        """
        centers, sizes = faces.centers, faces.sizes
        rows, cols = self._match(centers, sizes)
        ids = np.full(len(faces), -1, np.int64)
        for row, col in zip(rows, cols, strict=True):
            self.tracks[row].update(centers[col], float(sizes[col]))
            ids[col] = self.tracks[row].id
        matched = set(rows.tolist())
        for row, track in enumerate(self.tracks):
            if row not in matched:
                track.missed += 1
        for col in np.flatnonzero(ids < 0):
            ids[col] = self._start(centers[col], float(sizes[col]))
        ended = [track.id for track in self.tracks if track.missed > self.max_missed]
        self.tracks = [track for track in self.tracks if track.missed <= self.max_missed]
        return faces.with_(track_ids=ids, ended_tracks=ended)

    def close(self) -> Faces:
        """End every open track (the source ended): no faces, every open track's id in ``ended_tracks``."""
        ended = [track.id for track in self.tracks]
        self.tracks = []
        return Faces.empty().with_(ended_tracks=ended)

    def _match(self, centers: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Track rows and face columns paired by minimum total cost, pairs above the gate dropped."""
        if not self.tracks or len(centers) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        cost = self._cost(centers, sizes)
        rows, cols = linear_sum_assignment(cost)
        good = cost[rows, cols] < self.match_gate
        return rows[good], cols[good]

    def _cost(self, centers: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Centre distance in units of face size, plus the log of the size change, tracks x faces."""
        predicted = np.array([track.predicted_center() for track in self.tracks])
        track_sizes = np.array([track.size for track in self.tracks])
        distance = np.linalg.norm(predicted[:, np.newaxis] - centers[np.newaxis], axis=2)
        scale = np.sqrt(track_sizes[:, np.newaxis] * sizes[np.newaxis])
        size_change = np.abs(np.log(sizes[np.newaxis] / track_sizes[:, np.newaxis]))
        return distance / scale + size_change

    def _start(self, center: np.ndarray, size: float) -> int:
        track = _Track(id=self.next_id, center=center, size=size, velocity=np.zeros(2))
        self.tracks.append(track)
        self.next_id += 1
        return track.id
