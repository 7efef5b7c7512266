"""Per-track temporal smoothing of emotion probabilities: the stage after the classifier.

Single-frame expression readings flicker (blinks, motion blur, a half-turned head). An exponential
moving average per track with a half-life in *seconds* (not frames) keeps labels steady whatever the
frame rate or classification rate: ``smoothed += alpha * (new - smoothed)`` with
``alpha = 1 - 0.5 ** (dt / half_life)``. The classifier reads each track only a few times per second
(:class:`storemood.vision.classifier.ClassificationSchedule`); between readings the smoothed value is carried.

>>> from types import SimpleNamespace
>>> import numpy as np
>>> smoother = EmotionSmoother(half_life=1.0)
>>> face = Faces(boxes=np.zeros((1, 4), np.float32), scores=np.ones(1, np.float32), track_ids=np.array([7]))
>>> frame = SimpleNamespace(image=None, seconds=0.0)
>>> smoother.update(face.with_(probabilities=np.array([[1.0, 0.0]], np.float32)), frame).probabilities.tolist()
[[1.0, 0.0]]
>>> frame.seconds = 1.0
>>> smoother.update(face.with_(probabilities=np.array([[0.0, 1.0]], np.float32)), frame).probabilities.tolist()
[[0.5, 0.5]]
"""

from __future__ import annotations

import numpy as np

from storemood.vision.faces import Faces
from storemood.vision.stage import FrameLike


class EmotionSmoother:
    """Exponential moving average of probabilities per track id (``half_life`` 0 turns it off)."""

    def __init__(self, half_life: float = 0.5) -> None:
        self.half_life = half_life
        self.state: dict[int, tuple[float, np.ndarray]] = {}  # id -> (time of last reading, smoothed)

    def update(self, faces: Faces, frame: FrameLike) -> Faces:
        """Faces with smoothed probabilities; a NaN row in ``faces.probabilities`` means "not classified now".

        A track never classified yet stays NaN. Ended tracks (``faces.ended_tracks``) are forgotten.
        """
        for track_id in faces.ended_tracks:
            self.state.pop(track_id, None)
        if faces.probabilities is None:
            return faces
        smoothed = np.full(faces.probabilities.shape, np.nan, np.float32)
        for row, (track_id, reading) in enumerate(zip(faces.track_ids.tolist(), faces.probabilities, strict=True)):
            if not np.isnan(reading).any():
                self._add(track_id, reading, frame.seconds)
            if track_id in self.state:
                smoothed[row] = self.state[track_id][1]
        return faces.with_(probabilities=smoothed)

    def _add(self, track_id: int, reading: np.ndarray, now: float) -> None:
        if track_id not in self.state or self.half_life <= 0:
            self.state[track_id] = (now, reading.astype(np.float32))
            return
        then, previous = self.state[track_id]
        alpha = 1.0 - 0.5 ** (max(now - then, 0.0) / self.half_life)
        self.state[track_id] = (now, previous + alpha * (reading - previous))
