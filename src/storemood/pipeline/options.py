"""``RunOptions``: how the pipeline analyses one source (detector, tracker, classifier, smoother, pacing).

The defaults come from :mod:`storemood.defaults`, as store.yaml's ``detect``, ``track`` and ``classify``
blocks' do. This module imports only the standard library and ``defaults``, so the command line can show
them in its help and ``storemood --help`` stays instant.

How a camera's options come together (:func:`run_options`): these defaults, then the store's blocks in
store.yaml, then the camera's own blocks, then the command-line flags that were given.

>>> run_options(None, {"min_face": 60, "lost_s": None}).min_face
60
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storemood import defaults
from storemood.defaults import DetectorName

if TYPE_CHECKING:
    from storemood.config import Analysis


@dataclass(frozen=True)
class RunOptions:
    """How to run the pipeline on one source. Plain values only, so it can be sent to a worker process.

    Attributes:
        model: ONNX emotion model (the shipped one when None).
        detector: detector name, one of ``storemood.defaults.DETECTOR_NAMES``.
        min_face: smallest face side to report, pixels.
        score_threshold: smallest detector score that starts a track.
        every: analyse every N-th frame of the source (the others are read and counted, not analysed).
        max_frames: stop after reading this many frames (None: until the source ends).
        classify_hz: how often per second each tracked face is re-classified (a new track is classified at
            once); 0 classifies every face on every analysed frame.
        max_yaw, max_pitch: only faces turned at most this many degrees from the camera are read.
        read_min_face: only faces with at least this side (pixels) are read.
        half_life: smoothing half-life of the emotion probabilities, seconds.
        lost_s: seconds a track may go unseen (a head turned away, an occlusion) before it ends.
        match_gate: largest tracker matching cost at which a detection still continues a track.
        candidate_threshold: smallest detector score that may continue a track seen on the previous frame
            (ByteTrack's second association stage); it never starts one.
        min_track_s: tracks followed for less than this many seconds are left out of the run summary.
        threads: ONNX Runtime / detector threads.
        mirror: average the classifier's output over the face and its mirror image (the shipped model's
            headline accuracy is measured so; twice the classifier work, a small share of a frame's).
        realtime: drop frames rather than fall behind (None: on for live sources, off for files).
        start_time: UTC time of the first frame of a video file (None: now).
        progress: show a progress bar on stderr.
        fps: frame rate to request from a webcam (None: the camera's own).
        resolution: (width, height) to request from a webcam (None: the camera's own).
    """

    model: Path | None = None
    detector: DetectorName = defaults.DETECTOR
    min_face: int = defaults.MIN_FACE
    score_threshold: float = defaults.SCORE_THRESHOLD
    every: int = 1
    max_frames: int | None = None
    classify_hz: float = defaults.CLASSIFY_HZ
    max_yaw: float = defaults.MAX_YAW
    max_pitch: float = defaults.MAX_PITCH
    read_min_face: float = defaults.READ_MIN_FACE
    half_life: float = 0.5
    lost_s: float = defaults.LOST_S
    match_gate: float = defaults.MATCH_GATE
    candidate_threshold: float = defaults.CANDIDATE_THRESHOLD
    min_track_s: float = defaults.MIN_TRACK_S
    threads: int = 1
    mirror: bool = defaults.MIRROR
    realtime: bool | None = None
    start_time: datetime | None = None
    progress: bool = True
    fps: float | None = None
    resolution: tuple[int, int] | None = None


def layout_values(analysis: Analysis) -> dict[str, Any]:
    """The RunOptions fields that store.yaml sets, from one camera's merged ``detect``/``track``/``classify``."""
    detect, track, classify = analysis.detect, analysis.track, analysis.classify
    return {
        "detector": detect.detector,
        "min_face": detect.min_face,
        "score_threshold": detect.score_threshold,
        "lost_s": track.lost_s,
        "match_gate": track.match_gate,
        "candidate_threshold": track.candidate_threshold,
        "min_track_s": track.min_track_s,
        "classify_hz": classify.hz,
        "mirror": classify.mirror,
        "max_yaw": classify.max_yaw,
        "max_pitch": classify.max_pitch,
        "read_min_face": classify.read_min_face,
        "model": classify.model,
        "fps": analysis.fps,
        "resolution": analysis.resolution,
    }


def run_options(analysis: Analysis | None, flags: Mapping[str, Any] | None = None) -> RunOptions:
    """Options for one camera: the defaults, then the layout's ``analysis`` (when there is a layout), then
    the ``flags`` that were given (a flag left out is None and leaves the layout's value)."""
    values = {} if analysis is None else layout_values(analysis)
    values |= {name: value for name, value in (flags or {}).items() if value is not None}
    return RunOptions(**values)
