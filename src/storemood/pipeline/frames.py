"""What the frame loop hands downstream: a :class:`FrameResult` per analysed frame, and the :class:`Sink` interface.

Everything downstream of the vision stages (zone mapping, visit events, storage, annotated video) is a
*sink*: an object with ``on_frame(result)`` and ``close()``. The loop hands each analysed frame to every
sink and calls ``close()`` exactly once at the end, also after Ctrl-C or an error, so a sink can flush open
visits. New consumers plug in by passing sinks, never by editing the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from storemood.vision.faces import Faces


@dataclass(frozen=True)
class SourceCounters:
    """How the source has fared so far in this run (cumulative), for the camera's heartbeat."""

    frames_read: int
    dropped_frames: int
    reconnects: int


@dataclass(frozen=True)
class FrameResult:
    """What the vision stages made of one analysed frame.

    Attributes:
        index: frame number in the source (0-based, counting every frame read, analysed or not).
        timestamp: UTC, timezone-aware; video time offset from ``RunOptions.start_time`` for files,
            the wall clock for live sources.
        shape: ``(height, width)`` of the frame in pixels.
        faces: what the stages made of the frame's faces: ``track_ids`` and smoothed ``probabilities``
            filled (rows in ``classes`` order; a row is NaN only for a track that has never been classified
            yet), ``classified`` (faces read by the classifier at this frame) and ``ended_tracks`` (tracks
            that ended at this frame: not seen for ``lost_s`` seconds, or still open when the source ended).
        classes: emotion names in the order of the probability columns.
        image: the BGR frame itself, for drawing and for the camera's still (a median over many frames with
            face regions left out). Sinks must never store it as it is: no pixels of a face are written
            anywhere unless the user asked for annotated output.
        source: the source's counters up to this frame (set by the frame loop).
    """

    index: int
    timestamp: datetime
    shape: tuple[int, int]
    faces: Faces
    classes: tuple[str, ...]
    image: np.ndarray | None = None
    source: SourceCounters | None = None


class Sink(Protocol):
    """Receives every analysed frame; ``close()`` is called exactly once when the run ends."""

    def on_frame(self, result: FrameResult) -> None: ...

    def close(self) -> None: ...
