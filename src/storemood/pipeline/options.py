"""``RunOptions``: how the pipeline analyses one source (detector, tracker, classifier, smoother, pacing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


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
        mirror: average the classifier's output over the face and its mirror image (the shipped model's
            headline accuracy is measured so; twice the classifier work, a small share of a frame's).
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
    mirror: bool = True
    realtime: bool | None = None
    start_time: datetime | None = None
    progress: bool = True
