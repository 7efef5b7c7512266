"""Adapters between storemood's ``Faces`` and ``supervision.Detections`` (``pip install 'storemood[supervision]'``).

With them storemood's faces flow into supervision's annotators, zones and trackers, and detections from
another detector can be classified by storemood. Boxes convert between storemood's ``x, y, w, h`` and
supervision's ``x1, y1, x2, y2``; track ids, detector scores, landmarks and emotion probabilities travel
in the fields supervision has for them (``tracker_id``, ``confidence``, ``data``), and the most probable
emotion becomes the ``class_id`` (its index in ``classes``).
"""

from __future__ import annotations

import numpy as np

from storemood.errors import UserError
from storemood.vision.faces import Faces


def _supervision():
    try:
        import supervision
    except ImportError:
        raise UserError("the supervision adapters need supervision: pip install 'storemood[supervision]'") from None
    return supervision


def to_detections(faces: Faces):
    """``faces`` as ``supervision.Detections``.

    >>> faces = Faces(boxes=np.array([[10, 20, 30, 40]], np.float32), scores=np.array([0.5], np.float32))
    >>> detections = to_detections(faces)
    >>> detections.xyxy.tolist(), detections.confidence.tolist()
    ([[10.0, 20.0, 40.0, 60.0]], [0.5])
    >>> back = from_detections(detections)
    >>> back.boxes.tolist() == faces.boxes.tolist()
    True
    """
    supervision = _supervision()
    xyxy = np.concatenate([faces.boxes[:, :2], faces.boxes[:, :2] + faces.boxes[:, 2:]], axis=1)
    data = {}
    if faces.landmarks is not None:
        data["landmarks"] = faces.landmarks
    if faces.probabilities is not None:
        data["probabilities"] = faces.probabilities
    tracked = faces.track_ids >= 0
    return supervision.Detections(
        xyxy=xyxy.astype(np.float32),
        confidence=faces.scores,
        class_id=_top_class(faces.probabilities, len(faces)),
        tracker_id=faces.track_ids if tracked.all() and len(faces) else None,
        data=data,
    )


def from_detections(detections) -> Faces:
    """``supervision.Detections`` as ``Faces`` (confidence 1 where a detector gave none)."""
    xyxy = np.asarray(detections.xyxy, np.float32).reshape(-1, 4)
    boxes = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    count = len(boxes)
    scores = np.ones(count, np.float32) if detections.confidence is None else detections.confidence
    tracks = detections.tracker_id
    return Faces(
        boxes=boxes,
        scores=np.asarray(scores, np.float32),
        landmarks=_data(detections, "landmarks"),
        track_ids=None if tracks is None else np.asarray(tracks, np.int64),
        probabilities=_data(detections, "probabilities"),
    )


def _data(detections, key: str) -> np.ndarray | None:
    value = detections.data.get(key) if detections.data else None
    return None if value is None else np.asarray(value, np.float32)


def _top_class(probabilities: np.ndarray | None, count: int) -> np.ndarray | None:
    if probabilities is None or count == 0 or np.isnan(probabilities).any():
        return None
    return probabilities.argmax(axis=1).astype(int)
