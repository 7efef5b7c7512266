"""Per-track temporal smoothing of emotion probabilities, and when to classify each track.

Single-frame expression readings flicker (blinks, motion blur, a half-turned head). An exponential
moving average per track with a half-life in *seconds* (not frames) keeps labels steady whatever the
frame rate or classification rate: ``smoothed += alpha * (new - smoothed)`` with
``alpha = 1 - 0.5 ** (dt / half_life)``.

Classifying is the most expensive step per face, so :class:`ClassificationSchedule` asks for a new
reading of each track only a few times per second (and at once for a new track); between readings the
smoothed value is carried.

>>> import numpy as np
>>> smoother = EmotionSmoother(half_life=1.0)
>>> smoother.update(np.array([7]), np.array([[1.0, 0.0]]), now=0.0).tolist()
[[1.0, 0.0]]
>>> smoother.update(np.array([7]), np.array([[0.0, 1.0]]), now=1.0).tolist()
[[0.5, 0.5]]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class EmotionSmoother:
    """Exponential moving average of probabilities per track id (``half_life`` 0 turns it off)."""

    def __init__(self, half_life: float = 0.5) -> None:
        self.half_life = half_life
        self.state: dict[int, tuple[float, np.ndarray]] = {}  # id -> (time of last reading, smoothed)

    def update(self, track_ids: np.ndarray, readings: np.ndarray, now: float) -> np.ndarray:
        """Smoothed ``(N, C)`` probabilities; a NaN row in ``readings`` means "not classified now".

        A track never classified yet stays NaN.
        """
        smoothed = np.full(readings.shape, np.nan, np.float32)
        for row, (track_id, reading) in enumerate(zip(track_ids.tolist(), readings, strict=True)):
            if not np.isnan(reading).any():
                self._add(track_id, reading, now)
            if track_id in self.state:
                smoothed[row] = self.state[track_id][1]
        return smoothed

    def forget(self, track_ids: Iterable[int]) -> None:
        """Drop the state of ended tracks."""
        for track_id in track_ids:
            self.state.pop(track_id, None)

    def _add(self, track_id: int, reading: np.ndarray, now: float) -> None:
        if track_id not in self.state or self.half_life <= 0:
            self.state[track_id] = (now, reading.astype(np.float32))
            return
        then, previous = self.state[track_id]
        alpha = 1.0 - 0.5 ** (max(now - then, 0.0) / self.half_life)
        self.state[track_id] = (now, previous + alpha * (reading - previous))


class ClassificationSchedule:
    """Which tracks are due for a new emotion reading: new ones at once, then ``rate`` times per second.

    ``rate`` 0 means every face on every frame.
    """

    def __init__(self, rate: float = 5.0) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.last: dict[int, float] = {}

    def due(self, track_ids: np.ndarray, now: float) -> np.ndarray:
        """Boolean mask of the faces to classify now; marks them as classified at ``now``."""
        mask = np.array(
            [now - self.last.get(track_id, -np.inf) >= self.interval for track_id in track_ids.tolist()], bool
        )
        for track_id in track_ids[mask].tolist():
            self.last[track_id] = now
        return mask

    def forget(self, track_ids: Iterable[int]) -> None:
        """Drop ended tracks."""
        for track_id in track_ids:
            self.last.pop(track_id, None)
