"""``Faces``: the one batch type that flows through the frame pipeline.

A detector creates it (boxes, scores, landmarks); the tracker fills ``track_ids`` and ``ended_tracks``;
the classifier fills ``probabilities`` and ``classified``; the smoother replaces the probabilities with
smoothed ones. Each stage takes a ``Faces`` and returns one (see :mod:`storemood.vision.stage`), so adding
a stage never changes the others. The arrays are checked when a ``Faces`` is built, so a stage that gets a
shape wrong fails where it does so, not three stages later.

>>> import numpy as np
>>> faces = Faces.empty()
>>> len(faces)
0
>>> faces = Faces(boxes=np.array([[10, 20, 50, 50]], np.float32), scores=np.array([0.9], np.float32))
>>> faces.centers.tolist()
[[35.0, 45.0]]
>>> Faces(boxes=np.zeros((1, 4), np.float32), scores=np.zeros(2, np.float32))
Traceback (most recent call last):
ValueError: Faces.scores must have shape (1,), got (2,)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

#: Each array field: the dtype kinds it may have (numpy ``dtype.kind``) and its shape: ``"N"`` is the face
#: count, a number a fixed size, any other letter any size.
_ARRAYS: dict[str, tuple[str, tuple[str | int, ...]]] = {
    "boxes": ("f", ("N", 4)),
    "scores": ("f", ("N",)),
    "landmarks": ("f", ("N", "K", 2)),
    "track_ids": ("iu", ("N",)),
    "probabilities": ("f", ("N", "C")),
    "classified": ("b", ("N",)),
    "readable": ("b", ("N",)),
}
_OPTIONAL = ("landmarks", "probabilities")
_KIND_NAMES = {"f": "floating point", "iu": "integer", "b": "bool"}


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
            before classification. A row is NaN where the face has no reading (not classified at this
            frame before smoothing; never classified yet after it).
        classified: ``(N,)`` bool, True for the faces the classifier read at this frame (the others carry
            their smoothed value), so a run can count its classifier work.
        readable: ``(N,)`` bool, True for the faces frontal and large enough to read (all until the
            readability stage, :mod:`storemood.vision.pose`, says otherwise); only these are classified and
            only their frames count in a visit's emotion reading.
        ended_tracks: ids of the tracks that ended at this frame (unseen for too long, or still open when
            the source ended). Not rows: an ended track has no face in the frame. Stages that keep state per
            track drop theirs when they see its id here.

    Raises:
        ValueError: an array of the wrong shape or dtype, naming the field.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray | None = None
    track_ids: np.ndarray = field(default=None)  # type: ignore[assignment]
    probabilities: np.ndarray | None = None
    classified: np.ndarray = field(default=None)  # type: ignore[assignment]
    readable: np.ndarray = field(default=None)  # type: ignore[assignment]
    ended_tracks: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.boxes) if isinstance(self.boxes, np.ndarray) else 0
        if self.track_ids is None:
            object.__setattr__(self, "track_ids", np.full(n, -1, np.int64))
        if self.classified is None:
            object.__setattr__(self, "classified", np.zeros(n, bool))
        if self.readable is None:
            object.__setattr__(self, "readable", np.ones(n, bool))
        object.__setattr__(self, "ended_tracks", tuple(int(track_id) for track_id in self.ended_tracks))
        for name, (kinds, shape) in _ARRAYS.items():
            _check(name, getattr(self, name), kinds, shape, n)

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
        """The faces at the given indices or boolean mask, every array kept in step (``ended_tracks`` kept)."""
        return Faces(
            boxes=self.boxes[keep],
            scores=self.scores[keep],
            landmarks=None if self.landmarks is None else self.landmarks[keep],
            track_ids=self.track_ids[keep],
            probabilities=None if self.probabilities is None else self.probabilities[keep],
            classified=self.classified[keep],
            readable=self.readable[keep],
            ended_tracks=self.ended_tracks,
        )

    def with_(self, **changes) -> Faces:
        """A copy with some fields replaced (``faces.with_(track_ids=ids)``), checked like a new one."""
        return replace(self, **changes)


def _check(name: str, array: np.ndarray | None, kinds: str, shape: tuple[str | int, ...], n: int) -> None:
    """Raise a ValueError naming ``name`` unless ``array`` matches kind and shape (or is an optional None)."""
    if array is None and name in _OPTIONAL:
        return
    if not isinstance(array, np.ndarray):
        raise ValueError(f"Faces.{name} must be a numpy array, got {type(array).__name__}")
    sizes = [n if size == "N" else size for size in shape]  # a letter other than N: any size
    if array.ndim != len(shape) or any(
        isinstance(want, int) and got != want for got, want in zip(array.shape, sizes, strict=True)
    ):
        wanted = ", ".join(map(str, sizes)) + ("," if len(shape) == 1 else "")
        raise ValueError(f"Faces.{name} must have shape ({wanted}), got {array.shape}")
    if array.dtype.kind not in kinds:
        raise ValueError(f"Faces.{name} must be {_KIND_NAMES[kinds]}, got {array.dtype}")
