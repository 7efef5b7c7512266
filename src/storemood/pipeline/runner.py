"""The frame loop: Source → Detector → Tracker → Classifier → Smoother → sinks.

Everything downstream of the vision stages (zone mapping, visit events, storage, annotated video) is a
*sink*: an object with ``on_frame(result)`` and ``close()``. The loop hands each analysed frame to every
sink as a :class:`FrameResult` and calls ``close()`` exactly once at the end, also after Ctrl-C or an
error, so a sink can flush open visits. New stages plug in by passing sinks, never by editing this loop.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from storemood.pipeline.sources import Frame, VideoSource
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


class FramePipeline:
    """The vision stages for one camera: detect, track, classify (on schedule), smooth.

    >>> pipeline = FramePipeline(RunOptions())        # doctest: +SKIP
    >>> result = pipeline.process(frame)              # doctest: +SKIP (a sources.Frame)
    """

    def __init__(self, options: RunOptions) -> None:
        from storemood.vision.classifier import EmotionClassifier
        from storemood.vision.detectors import create_detector
        from storemood.vision.smoother import ClassificationSchedule, EmotionSmoother
        from storemood.vision.tracker import FaceTracker

        self.classifier = EmotionClassifier(options.model, threads=options.threads, mirror=options.mirror)
        self.detector = create_detector(options.detector, options.min_face, options.score_threshold, options.threads)
        self.tracker = FaceTracker(max_missed=options.max_missed)
        self.schedule = ClassificationSchedule(options.classify_hz)
        self.smoother = EmotionSmoother(options.half_life)
        self.classes = self.classifier.classes
        self.classified_faces = 0

    def process(self, frame: Frame) -> FrameResult:
        """Run every stage on one frame."""
        faces, ended = self.tracker.update(self.detector.detect(frame.image))
        readings = np.full((len(faces), len(self.classes)), np.nan, np.float32)
        due = self.schedule.due(faces.track_ids, frame.seconds)
        if due.any():
            readings[due] = self.classifier.classify_faces(frame.image, faces.select(due))
            self.classified_faces += int(due.sum())
        smoothed = self.smoother.update(faces.track_ids, readings, frame.seconds)
        self._forget(ended)
        return FrameResult(
            index=frame.index,
            timestamp=frame.timestamp,
            shape=frame.image.shape[:2],
            faces=faces.with_(probabilities=smoothed),
            classes=self.classes,
            ended_tracks=ended,
            image=frame.image,
        )

    def finish(self, last: FrameResult) -> FrameResult:
        """A last, face-less result at the last frame that ends every open track."""
        ended = self.tracker.close()
        self._forget(ended)
        return replace(last, faces=Faces.empty(), ended_tracks=ended, image=None)

    def _forget(self, ended: list[int]) -> None:
        self.schedule.forget(ended)
        self.smoother.forget(ended)


@dataclass
class TrackSummary:
    """What one track looked like over the run (for the summary, never stored)."""

    id: int
    frames: int = 0
    probability_sum: np.ndarray | None = None

    def add(self, probabilities: np.ndarray) -> None:
        self.frames += 1
        if not np.isnan(probabilities).any():
            self.probability_sum = probabilities + (0 if self.probability_sum is None else self.probability_sum)

    def probabilities(self, classes: tuple[str, ...]) -> dict[str, float]:
        """Mean smoothed probability of each emotion over the track (empty if never classified)."""
        if self.probability_sum is None:
            return {}
        mean = self.probability_sum / self.probability_sum.sum()
        return {name: round(float(p), 4) for name, p in zip(classes, mean, strict=True)}

    def to_dict(self, classes: tuple[str, ...]) -> dict:
        probabilities = self.probabilities(classes)
        dominant = max(probabilities, key=probabilities.__getitem__) if probabilities else None
        return {"id": self.id, "frames": self.frames, "dominant_emotion": dominant, "probabilities": probabilities}


class SummarySink:
    """Counts faces and accumulates each track's smoothed probabilities for the end-of-run summary."""

    def __init__(self, classes: tuple[str, ...]) -> None:
        self.classes = classes
        self.faces = 0
        self.analysed_frames = 0
        self.tracks: dict[int, TrackSummary] = {}

    def on_frame(self, result: FrameResult) -> None:
        if result.image is None:  # the closing result carries no frame
            return
        self.analysed_frames += 1
        self.faces += len(result.faces)
        probabilities = result.faces.probabilities
        for row, track_id in enumerate(result.faces.track_ids.tolist()):
            track = self.tracks.setdefault(track_id, TrackSummary(track_id))
            track.add(probabilities[row] if probabilities is not None else np.full(len(self.classes), np.nan))

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class RunSummary:
    """The outcome of a run; ``to_dict()`` is the ``storemood run --json`` object."""

    source: str
    frames: int
    analysed_frames: int
    faces: int
    classified_faces: int
    seconds: float
    skipped_frames: int
    dropped_frames: int
    reconnects: int
    interrupted: bool
    classes: tuple[str, ...]
    tracks: list[TrackSummary]

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "frames": self.frames,
            "analysed_frames": self.analysed_frames,
            "faces": self.faces,
            "classified_faces": self.classified_faces,
            "fps": round(self.fps, 2),
            "seconds": round(self.seconds, 3),
            "tracks": [track.to_dict(self.classes) for track in self.tracks],
            "skipped_frames": self.skipped_frames,
            "dropped_frames": self.dropped_frames,
            "reconnects": self.reconnects,
            "interrupted": self.interrupted,
        }

    def describe(self) -> str:
        """A few lines for the terminal: throughput, counts, and each track's main emotions."""
        lines = [
            f"{self.frames} frames in {self.seconds:.2f} s ({self.fps:.0f} fps): {self.faces} face detections, "
            f"{len(self.tracks)} tracks, {self.classified_faces} face classifications"
            + (f", {self.skipped_frames} corrupt frames skipped" if self.skipped_frames else "")
            + (f", {self.dropped_frames} frames dropped to keep up" if self.dropped_frames else "")
            + (" (interrupted)" if self.interrupted else "")
        ]
        for track in self.tracks:
            info = track.to_dict(self.classes)
            top = sorted(info["probabilities"].items(), key=lambda item: -item[1])[:3]
            shares = ", ".join(f"{name} {p:.2f}" for name, p in top)
            lines.append(f"  track {track.id}: {track.frames} frames, mostly {info['dominant_emotion']} ({shares})")
        return "\n".join(lines)


def run_source(
    source: str | Path,
    options: RunOptions | None = None,
    sinks: Sequence[Sink] = (),
    pipeline: FramePipeline | None = None,
) -> RunSummary:
    """Run the pipeline on one source, handing every analysed frame to ``sinks``.

    Every sink's ``close()`` is called exactly once when the run ends, normally, on Ctrl-C or SIGTERM (which end
    the run early and still returns a summary, ``interrupted=True``) or on an error (re-raised).
    ``pipeline`` lets a caller reuse already-loaded models (a :class:`FramePipeline`).
    """
    options = options or RunOptions()
    with ExitStack() as closing:
        for sink in sinks:
            closing.callback(sink.close)
        video = VideoSource(source, realtime=options.realtime, start_time=options.start_time)
        closing.callback(video.close)
        pipeline = pipeline or FramePipeline(options)  # after the source: a bad source fails fast
        summary = SummarySink(pipeline.classes)
        loop = FrameLoop(video, pipeline, [summary, *sinks], options)
        started = time.perf_counter()
        loop.run()
        seconds = time.perf_counter() - started
    return RunSummary(
        source=str(source),
        frames=loop.frames_read,
        analysed_frames=summary.analysed_frames,
        faces=summary.faces,
        classified_faces=pipeline.classified_faces,
        seconds=seconds,
        skipped_frames=video.skipped_frames,
        dropped_frames=video.dropped_frames,
        reconnects=video.reconnects,
        interrupted=loop.interrupted,
        classes=pipeline.classes,
        tracks=sorted(summary.tracks.values(), key=lambda track: track.id),
    )


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so a stopped service flushes its open visits too."""


def _raise_terminated(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough: a second must not cut the flush short
    raise Terminated


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within this block SIGTERM (``docker stop``, ``systemctl stop``, ``kill``) ends the run like Ctrl-C.

    Only the main thread can receive signals, so elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is _raise_terminated:
            signal.signal(signal.SIGTERM, previous)


class FrameLoop:
    """Reads frames, analyses every ``options.every``-th one, feeds the sinks, shows progress."""

    def __init__(self, video: VideoSource, pipeline: FramePipeline, sinks: list[Sink], options: RunOptions):
        self.video, self.pipeline, self.sinks, self.options = video, pipeline, sinks, options
        self.frames_read = 0
        self.interrupted = False
        self.last: FrameResult | None = None

    def run(self) -> None:
        """Until the source ends, ``max_frames`` are read, or Ctrl-C or SIGTERM; then end the open tracks."""
        try:
            with sigterm_as_interrupt(), self._progress_bar() as bar:
                for frame in self.video.frames():
                    self._handle(frame)
                    bar.update(1)
                    if self.options.max_frames is not None and self.frames_read >= self.options.max_frames:
                        break
        except KeyboardInterrupt:
            self.interrupted = True
        if self.last is not None:
            self._emit(self.pipeline.finish(self.last))

    def _handle(self, frame: Frame) -> None:
        self.frames_read += 1
        if frame.index % max(1, self.options.every) == 0:
            self.last = self.pipeline.process(frame)
            self._emit(self.last)

    def _emit(self, result: FrameResult) -> None:
        for sink in self.sinks:
            sink.on_frame(result)

    def _progress_bar(self) -> tqdm:
        total = self.video.frame_count
        if self.options.max_frames is not None:
            total = min(total or self.options.max_frames, self.options.max_frames)
        return tqdm(
            total=total,
            unit="frame",
            desc=Path(self.video.spec).name or self.video.spec,
            disable=not self.options.progress,
            leave=False,
            file=sys.stderr,
        )
