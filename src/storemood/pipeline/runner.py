"""The frame loop: Source → Detector → Tracker → Classifier → Smoother → sinks.

Everything downstream of the vision stages (zone mapping, visit events, storage, annotated video) is a
*sink*: an object with ``on_frame(result)`` and ``close()``. The loop hands each analysed frame to every
sink as a :class:`FrameResult` and calls ``close()`` exactly once at the end, also after Ctrl-C or an
error, so a sink can flush open visits. New stages plug in by passing sinks, never by editing this loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from storemood.vision.faces import Faces


@dataclass(frozen=True)
class FrameResult:
    """What the vision stages made of one analysed frame.

    Attributes:
        index: frame number in the source (0-based, counting every frame read, analysed or not).
        timestamp: UTC, timezone-aware; video time offset from ``RunOptions.start_time`` for files,
            the wall clock for live sources.
        shape: ``(height, width)`` of the frame in pixels.
        faces: faces with ``track_ids`` and smoothed ``probabilities`` filled (rows in ``classes`` order;
            a row is NaN only for a track that has never been classified yet).
        classes: emotion names in the order of the probability columns.
        ended_tracks: ids of the tracks that ended at this frame (not seen for ``max_missed`` frames, or
            still open when the source ended).
        image: the BGR frame itself, for drawing only. Sinks must never store it: no pixels of a face are
            written anywhere unless the user asked for annotated output.
    """

    index: int
    timestamp: datetime
    shape: tuple[int, int]
    faces: Faces
    classes: tuple[str, ...]
    ended_tracks: list[int] = field(default_factory=list)
    image: np.ndarray | None = None


class Sink(Protocol):
    """Receives every analysed frame; ``close()`` is called exactly once when the run ends."""

    def on_frame(self, result: FrameResult) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class RunOptions:
    """How to run the pipeline on one source. Plain values only, so it can be sent to a worker process.

    Attributes:
        model: ONNX emotion model (the shipped one when None).
        detector: detector name (see ``storemood.vision.detectors.DETECTORS``).
        min_face: smallest face side to report, pixels.
        score_threshold: smallest detector score to report.
        every: analyse every N-th frame of the source (the others are read and counted, not analysed).
        max_frames: stop after reading this many frames (None: until the source ends).
        classify_hz: how often per second each tracked face is re-classified (a new track is classified at
            once); 0 classifies every face on every analysed frame.
        half_life: smoothing half-life of the emotion probabilities, seconds.
        max_missed: analysed frames a track may go unseen before it ends.
        threads: ONNX Runtime / detector threads.
        mirror: average the classifier's output over the face and its mirror image.
        realtime: drop frames rather than fall behind (None: on for live sources, off for files).
        start_time: UTC time of the first frame of a video file (None: now).
        progress: show a progress bar on stderr.
    """

    model: Path | None = None
    detector: str = "blazeface"
    min_face: int = 40
    score_threshold: float = 0.5
    every: int = 1
    max_frames: int | None = None
    classify_hz: float = 5.0
    half_life: float = 0.5
    max_missed: int = 15
    threads: int = 1
    mirror: bool = False
    realtime: bool | None = None
    start_time: datetime | None = None
    progress: bool = True
