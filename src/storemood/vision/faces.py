"""``Faces``: the one batch type that flows through the frame pipeline.

A detector creates it (boxes, scores, landmarks); the tracker fills ``track_ids``; the classifier fills
``probabilities``; the smoother replaces them with smoothed ones; the zone mapper reads boxes and ids.
Each stage takes a ``Faces`` and returns one, so adding a stage never changes the others.

>>> import numpy as np
>>> faces = Faces.empty()
>>> len(faces)
0
>>> faces = Faces(boxes=np.array([[10, 20, 50, 50]], np.float32), scores=np.array([0.9], np.float32))
>>> faces.centers.tolist()
[[35.0, 45.0]]
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


def _no_ids(n: int) -> np.ndarray:
    return np.full(n, -1, dtype=np.int64)


@dataclass(frozen=True)
class Faces:
    """Faces found in one frame, as parallel arrays (row ``i`` is face ``i``).

    Attributes:
        boxes: ``(N, 4)`` float32, ``x, y, w, h`` in pixels of the frame.
        scores: ``(N,)`` float32 detector confidence in ``[0, 1]``.
        landmarks: ``(N, K, 2)`` float32 pixel points, or None. When present, points 0 and 1 are the
            right and left eye (the subject's), which face alignment uses.
        track_ids: ``(N,)`` int64, ``-1`` until the tracker assigns an id.
        probabilities: ``(N, C)`` float32 emotion probabilities in the classifier's class order, or None
            before classification. Rows of faces not classified in this frame are NaN.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray | None = None
    track_ids: np.ndarray = field(default=None)  # type: ignore[assignment]
    probabilities: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.track_ids is None:
            object.__setattr__(self, "track_ids", _no_ids(len(self.boxes)))

    @classmethod
    def empty(cls) -> Faces:
        return cls(boxes=np.zeros((0, 4), np.float32), scores=np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.boxes)

    @property
    def centers(self) -> np.ndarray:
        """``(N, 2)`` box centres in pixels."""
        return self.boxes[:, :2] + self.boxes[:, 2:] / 2

    @property
    def sizes(self) -> np.ndarray:
        """``(N,)`` face size in pixels: the mean of box width and height."""
        return self.boxes[:, 2:].mean(axis=1)

    def select(self, keep: np.ndarray) -> Faces:
        """The faces at the given indices or boolean mask, every array kept in step."""
        return Faces(
            boxes=self.boxes[keep],
            scores=self.scores[keep],
            landmarks=None if self.landmarks is None else self.landmarks[keep],
            track_ids=self.track_ids[keep],
            probabilities=None if self.probabilities is None else self.probabilities[keep],
        )

    def with_(self, **changes) -> Faces:
        """A copy with some fields replaced (``faces.with_(track_ids=ids)``)."""
        return replace(self, **changes)
