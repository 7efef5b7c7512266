"""The visit event: the only thing about a shopper that storemood ever stores.

One event is one stretch of one tracked face inside one shelf zone. It carries no face image, crop or
embedding, only anonymous figures, so the store layer can persist it as is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class VisitEvent:
    """A finished visit of one track to one zone (see DESIGN.md, "Events")."""

    store: str
    camera: str
    zone: str
    product: str
    brand: str
    track_id: int
    start: datetime  # UTC, timezone-aware
    end: datetime  # UTC, timezone-aware
    frames: int
    probabilities: dict[str, float] | None  # mean of each emotion over the readable frames; None: never readable
    dominant_emotion: str | None  # None when the face was never readable
    face_score: float  # mean detector score
    face_size: float  # mean face box side, pixels
    product_name: str = ""
    readable_frames: int | None = None  # frames in which the face was frontal and large enough to read
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def dwell_seconds(self) -> float:
        return (self.end - self.start).total_seconds()
