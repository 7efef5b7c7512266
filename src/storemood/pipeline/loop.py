"""The frame loop: Source → Detector → Tracker → Classifier → Smoother → sinks.

:func:`run_source` opens the source, builds the :class:`FramePipeline` (the vision stages of one camera,
each a :class:`~storemood.vision.stage.Stage`), and hands every analysed frame to the sinks (see
:mod:`storemood.pipeline.frames`). Ctrl-C and SIGTERM end a run early and still close every sink, so open
visits are flushed.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from storemood.pipeline.frames import FrameResult, Sink, SourceCounters
from storemood.pipeline.options import RunOptions
from storemood.pipeline.sources import Frame, VideoSource, describe
from storemood.pipeline.summary import RunSummary, SummarySink
from storemood.vision.faces import Faces
from storemood.vision.stage import Stage


class FramePipeline:
    """The vision stages of one camera, in order: detect, track, classify (on schedule), smooth.

    Each is a :class:`~storemood.vision.stage.Stage`; analysing a frame is passing its faces through them.

    >>> import cv2
    >>> from datetime import datetime, timezone
    >>> from skimage import data
    >>> photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    >>> pipeline = FramePipeline(RunOptions())
    >>> result = pipeline.process(Frame(0, datetime.now(timezone.utc), 0.0, photo))
    >>> result.faces.track_ids.tolist(), result.classes[result.faces.probabilities[0].argmax()]
    ([1], 'happy')
    """

    def __init__(self, options: RunOptions) -> None:
        from storemood.vision.classifier import ClassificationSchedule, EmotionClassifier, ScheduledClassifier
        from storemood.vision.detectors import create_detector
        from storemood.vision.pose import ReadableFaces
        from storemood.vision.smoother import EmotionSmoother
        from storemood.vision.tracker import FaceTracker

        classifier = EmotionClassifier(options.model, threads=options.threads, mirror=options.mirror)
        self.classes = classifier.classes
        self.tracker = FaceTracker(options.lost_s, options.match_gate, score_threshold=options.score_threshold)
        candidates = min(options.candidate_threshold, options.score_threshold)  # weaker ones only continue tracks
        self.stages: list[Stage] = [
            create_detector(options.detector, options.min_face, candidates, options.threads),
            self.tracker,
            ReadableFaces(options.max_yaw, options.max_pitch, options.read_min_face),
            ScheduledClassifier(classifier, ClassificationSchedule(options.classify_hz)),
            EmotionSmoother(options.half_life),
        ]

    def process(self, frame: Frame) -> FrameResult:
        """Run every stage on one frame."""
        return self._result(frame, self._run(self.stages, Faces.empty(), frame), frame.image)

    def finish(self, last: Frame) -> FrameResult:
        """A last, face-less result at the last analysed frame that ends every open track.

        The tracker closes its tracks; the stages after it see them in ``ended_tracks`` and drop their state.
        """
        after_tracker = self.stages[self.stages.index(self.tracker) + 1 :]
        return self._result(last, self._run(after_tracker, self.tracker.close(), last), image=None)

    @staticmethod
    def _run(stages: list[Stage], faces: Faces, frame: Frame) -> Faces:
        for stage in stages:
            faces = stage.update(faces, frame)
        return faces

    def _result(self, frame: Frame, faces: Faces, image: np.ndarray | None) -> FrameResult:
        return FrameResult(
            index=frame.index,
            timestamp=frame.timestamp,
            shape=frame.image.shape[:2],
            faces=faces,
            classes=self.classes,
            image=image,
        )


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
        loop = open_loop(source, options, sinks, pipeline, closing)
        started = time.perf_counter()
        loop.run()
        seconds = time.perf_counter() - started
    return loop.summary(str(source), seconds)


def stream_source(
    source: str | Path, options: RunOptions | None = None, sinks: Sequence[Sink] = ()
) -> Iterator[FrameResult]:
    """Like :func:`run_source`, but yields each analysed frame's result as it comes (the last one is the
    closing, face-less result that ends every open track); sinks are fed and closed just the same."""
    options = options or RunOptions(progress=False)
    with ExitStack() as closing:
        yield from open_loop(source, options, sinks, None, closing).results()


def open_loop(
    source: str | Path, options: RunOptions, sinks: Sequence[Sink], pipeline: FramePipeline | None, closing: ExitStack
) -> FrameLoop:
    """Open the source, then the models, and wire the loop; ``closing`` closes sinks and source at the end."""
    for sink in sinks:
        closing.callback(sink.close)
    video = VideoSource(
        source,
        realtime=options.realtime,
        start_time=options.start_time,
        fps=options.fps,
        resolution=options.resolution,
    )
    closing.callback(video.close)
    pipeline = pipeline or FramePipeline(options)  # after the source: a bad source fails fast
    return FrameLoop(video, pipeline, list(sinks), options)


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
        self.video, self.pipeline, self.options = video, pipeline, options
        self.counts = SummarySink(pipeline.classes)
        self.sinks = [self.counts, *sinks]
        self.frames_read = 0
        self.interrupted = False

    def run(self) -> None:
        """Until the source ends, ``max_frames`` are read, or Ctrl-C or SIGTERM; then end the open tracks."""
        for _ in self.results():
            pass

    def results(self) -> Iterator[FrameResult]:
        """Each analysed frame's result, fed to the sinks and yielded; then the closing result."""
        last: Frame | None = None  # the last analysed frame
        try:
            with sigterm_as_interrupt(), self._progress_bar() as bar:
                for frame in self.video.frames():
                    self.frames_read += 1
                    bar.update(1)
                    if frame.index % max(1, self.options.every) == 0:
                        last = frame
                        yield self._emit(self.pipeline.process(frame))
                    if self.options.max_frames is not None and self.frames_read >= self.options.max_frames:
                        break
        except KeyboardInterrupt:
            self.interrupted = True
        if last is not None:
            yield self._emit(self.pipeline.finish(last))

    def summary(self, source: str, seconds: float) -> RunSummary:
        """What this loop did, as ``storemood run --json`` reports it."""
        counts = self.counts
        return RunSummary(
            source=describe(source),
            frames=self.frames_read,
            analysed_frames=counts.analysed_frames,
            faces=counts.faces,
            classified_faces=counts.classified_faces,
            seconds=seconds,
            skipped_frames=self.video.skipped_frames,
            dropped_frames=self.video.dropped_frames,
            reconnects=self.video.reconnects,
            interrupted=self.interrupted,
            source_lost=self.video.lost,
            classes=self.pipeline.classes,
            tracks=sorted(
                (track for track in counts.tracks.values() if track.seconds >= self.options.min_track_s),
                key=lambda track: track.id,
            ),
        )

    def _emit(self, result: FrameResult) -> FrameResult:
        video = self.video
        result = replace(result, source=SourceCounters(self.frames_read, video.dropped_frames, video.reconnects))
        for sink in self.sinks:
            sink.on_frame(result)
        return result

    def _progress_bar(self) -> tqdm:
        total = self.video.frame_count
        if self.options.max_frames is not None:
            total = min(total or self.options.max_frames, self.options.max_frames)
        return tqdm(
            total=total,
            unit="frame",
            desc=Path(self.video.spec).name or describe(self.video.spec),
            disable=not self.options.progress,
            leave=False,
            file=sys.stderr,
        )
