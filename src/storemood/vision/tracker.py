"""Stable ids for faces across frames: a small motion-aware tracker with two-stage optimal assignment.

Why our own and not ByteTrack from ``supervision``: ``supervision`` requires ``opencv-python`` (the GUI
build), which would install a second, conflicting ``cv2`` beside ``opencv-python-headless`` 5, plus
its own dependency tree, to track the handful of faces a shelf camera sees. The core of SORT/ByteTrack is
enough, with two changes for shoppers at a shelf:

* A track unseen for up to ``lost_s`` seconds (not frames: the analysed frame rate varies) stays alive, so
  a shopper who turns to the shelf for two seconds keeps one id. Its predicted position stops moving
  after :data:`MAX_COAST_S` (a shopper who turned away stands still, they do not glide on), and the gate
  on distance widens with the time unseen while the gate on size change stays fixed.
* Association runs in two stages as in ByteTrack: faces scoring at least ``score_threshold`` are matched
  to every track first and may start new tracks; weaker candidates (down to the detector's lower
  threshold) may then only continue a track seen on the previous frame, and are dropped otherwise, which
  carries a face through a few frames of a half-turned head without letting weak detections start tracks.

Matching uses the Hungarian algorithm (``scipy``) on a cost of centre distance (in face sizes) and the log
of the size change. Nothing but a box per track is kept: no appearance, no identity features.

>>> import numpy as np
>>> from storemood.vision.faces import Faces
>>> from types import SimpleNamespace
>>> tracker = FaceTracker(lost_s=1.0)
>>> faces = Faces(boxes=np.array([[10, 10, 50, 50]], np.float32), scores=np.ones(1, np.float32))
>>> tracked = tracker.update(faces, SimpleNamespace(image=None, seconds=0.0))
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

#: How much the distance gate widens per second a track has been unseen (a shopper shifts while turned away).
GATE_GROWTH_PER_S = 1.0
#: The widest distance gate, in face sizes, however long a track was unseen.
MAX_GATE = 3.0
#: A face whose size changed by more than this factor (log of the ratio) never continues a track: another
#: shopper stepping into the place of one who left is told apart by face size more often than by position.
MAX_SIZE_CHANGE = float(np.log(1.25))
#: A lost track's predicted position follows its velocity for at most this many seconds.
MAX_COAST_S = 0.3
#: How much a new displacement updates a track's velocity (exponential average).
VELOCITY_WEIGHT = 0.5


@dataclass
class _Track:
    id: int
    center: np.ndarray
    size: float
    seen: float  # time of the last frame the face was seen, seconds
    velocity: np.ndarray  # pixels per second
    frames_since_seen: int = 0

    def predicted_center(self, seconds: float) -> np.ndarray:
        return self.center + self.velocity * min(seconds - self.seen, MAX_COAST_S)

    def gate(self, seconds: float, match_gate: float) -> float:
        """Largest cost at which a face may continue this track, wider the longer it has been unseen."""
        unseen = max(0.0, seconds - self.seen) if self.frames_since_seen else 0.0
        return min(match_gate + GATE_GROWTH_PER_S * unseen, max(MAX_GATE, match_gate))

    def update(self, center: np.ndarray, size: float, seconds: float) -> None:
        elapsed = seconds - self.seen
        if elapsed > 0 and self.frames_since_seen == 0:  # velocity from consecutive sightings only
            step = (center - self.center) / elapsed
            self.velocity = VELOCITY_WEIGHT * step + (1.0 - VELOCITY_WEIGHT) * self.velocity
        elif self.frames_since_seen:
            self.velocity = np.zeros(2)  # back after a gap: the old motion says nothing
        self.center, self.size, self.seen, self.frames_since_seen = center, size, seconds, 0


class FaceTracker:
    """Gives every face a track id that stays the same while the face is followed.

    Args:
        lost_s: seconds a track may go unseen (a head turned to the shelf, an occlusion) before it ends.
        match_gate: the largest cost at which a face continues a track seen on the previous frame; the gate
            widens for a track unseen for a while.
        score_threshold: faces scoring below this only continue tracks seen on the previous frame; they never
            start a track and are dropped when they continue none.
    """

    def __init__(
        self, lost_s: float = defaults.LOST_S, match_gate: float = defaults.MATCH_GATE, score_threshold: float = 0.0
    ) -> None:
        self.lost_s = lost_s
        self.match_gate = match_gate
        self.score_threshold = score_threshold
        self.tracks: list[_Track] = []
        self.next_id = 1

    def update(self, faces: Faces, frame: FrameLike) -> Faces:
        """The faces kept, with ``track_ids`` filled and ``ended_tracks`` the tracks that ended at this frame.

        The tracker works on boxes and the frame's time (``frame.seconds``) alone; the pixels are not read.
        """
        seconds = frame.seconds
        centers, sizes = faces.centers, faces.sizes
        ids = np.full(len(faces), -1, np.int64)
        strong = faces.scores >= self.score_threshold
        free = np.ones(len(self.tracks), bool)
        recent = np.array([track.frames_since_seen == 0 for track in self.tracks], bool)
        for first_stage in (True, False):
            usable = free if first_stage else free & recent
            offered = (strong if first_stage else ~strong) & (ids < 0)
            for row, col in self._match(np.flatnonzero(usable), np.flatnonzero(offered), faces, seconds):
                self.tracks[row].update(centers[col], float(sizes[col]), seconds)
                ids[col], free[row] = self.tracks[row].id, False
        for row in np.flatnonzero(free):
            self.tracks[row].frames_since_seen += 1
        for col in np.flatnonzero(strong & (ids < 0)):
            ids[col] = self._start(centers[col], float(sizes[col]), seconds)
        ended = [track.id for track in self.tracks if seconds - track.seen > self.lost_s]
        self.tracks = [track for track in self.tracks if seconds - track.seen <= self.lost_s]
        kept = ids >= 0
        return faces.select(kept).with_(track_ids=ids[kept], ended_tracks=ended)

    def close(self) -> Faces:
        """End every open track (the source ended): no faces, every open track's id in ``ended_tracks``."""
        ended = [track.id for track in self.tracks]
        self.tracks = []
        return Faces.empty().with_(ended_tracks=ended)

    def _match(self, rows: np.ndarray, cols: np.ndarray, faces: Faces, seconds: float) -> list[tuple[int, int]]:
        """Pairs of track rows and face columns (of those offered) by minimum total cost, within each gate."""
        if len(rows) == 0 or len(cols) == 0:
            return []
        tracks = [self.tracks[row] for row in rows]
        cost = _cost(tracks, faces.centers[cols], faces.sizes[cols], seconds)
        gates = np.array([track.gate(seconds, self.match_gate) for track in tracks])
        cost[cost > gates[:, np.newaxis]] = np.inf
        found = np.isfinite(cost)
        if not found.any():
            return []
        best_rows, best_cols = linear_sum_assignment(np.where(found, cost, 1e6))
        return [(int(rows[r]), int(cols[c])) for r, c in zip(best_rows, best_cols, strict=True) if found[r, c]]

    def _start(self, center: np.ndarray, size: float, seconds: float) -> int:
        track = _Track(id=self.next_id, center=center, size=size, seen=seconds, velocity=np.zeros(2))
        self.tracks.append(track)
        self.next_id += 1
        return track.id


def _cost(tracks: list[_Track], centers: np.ndarray, sizes: np.ndarray, seconds: float) -> np.ndarray:
    """Centre distance in face sizes plus the log of the size change, tracks x faces; inf past the size gate."""
    predicted = np.array([track.predicted_center(seconds) for track in tracks])
    track_sizes = np.array([track.size for track in tracks])
    distance = np.linalg.norm(predicted[:, np.newaxis] - centers[np.newaxis], axis=2)
    scale = np.sqrt(track_sizes[:, np.newaxis] * sizes[np.newaxis])
    size_change = np.abs(np.log(sizes[np.newaxis] / track_sizes[:, np.newaxis]))
    return np.where(size_change <= MAX_SIZE_CHANGE, distance / scale + size_change, np.inf)
