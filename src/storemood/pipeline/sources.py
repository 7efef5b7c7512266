"""Where frames come from: a video file, a webcam index, or an RTSP/HTTP stream.

* Video files are read frame by frame, never faster or slower than the pipeline; a frame that fails to
  decode inside the video is skipped and counted (``skipped_frames``), the rest of the video still runs.
* Live sources (webcam, stream) run in *real-time mode* by default: a reader thread keeps only the
  newest frame, so a pipeline slower than the camera drops frames (``dropped_frames``) instead of
  falling ever further behind. A stream that stops delivering is reopened with exponential back-off
  (``reconnects``); after ``max_retries`` failed attempts in a row the source ends.
* A frame rate and size (store.yaml's ``fps`` and ``resolution``) are requested from a webcam through
  OpenCV's capture properties; the camera may pick the nearest mode it has. A video file or a stream
  delivers what it encodes and cannot be asked for another rate or size; either way a difference between
  what was asked and what arrives is logged as a warning, and the run goes on with what arrives.
* Opening a missing file, an unreadable video, a camera index that does not exist or an unreachable URL
  is a ``UserError`` with a one-line reason; network opens and reads time out instead of hanging.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from storemood.errors import UserError
from storemood.urls import mask_url

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's per-packet warnings are ours to report
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
import cv2  # after the logging settings above, which OpenCV reads when it loads

log = logging.getLogger(__name__)

STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
#: Consecutive failed reads after which a video file is considered finished.
MAX_CONSECUTIVE_FAILURES = 25


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its position in the source, its time, and its pixels (BGR)."""

    index: int
    timestamp: datetime
    seconds: float  # since the first frame: video time for files, wall time for live sources
    image: np.ndarray


def is_live(spec: str) -> bool:
    """A webcam index (``0``) or a stream URL, as opposed to a video file.

    >>> is_live("0"), is_live("rtsp://cam-3/stream"), is_live("clip.mp4")
    (True, True, False)
    """
    return spec.isdigit() or spec.lower().startswith(STREAM_PREFIXES)


def open_capture(spec: str, timeout_s: float) -> cv2.VideoCapture:
    """A ``cv2.VideoCapture`` for a file, camera index or URL (network opens and reads time out)."""
    if spec.isdigit():
        return cv2.VideoCapture(int(spec))
    if spec.lower().startswith(STREAM_PREFIXES):
        timeout_ms = int(timeout_s * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
        return cv2.VideoCapture(spec, cv2.CAP_FFMPEG, params)
    return cv2.VideoCapture(spec)


def _requested(resolution: tuple[int, int] | None, fps: float | None) -> str:
    parts = ([f"{resolution[0]}x{resolution[1]}"] if resolution else []) + ([f"{fps:g} fps"] if fps else [])
    return " at ".join(parts)


def describe(spec: str) -> str:
    """How a source is named in messages and logs: never with the password a URL may carry.

    >>> describe("rtsp://admin:hunter2@10.0.0.5/stream"), describe("0")
    ('rtsp://admin:***@10.0.0.5/stream', 'camera 0')
    """
    if spec.isdigit():
        return f"camera {spec}"
    return mask_url(spec) if is_live(spec) else f"video {spec}"


class VideoSource:
    """Frames of one source, with counters of what was skipped, dropped and reconnected.

    Args:
        spec: a video file path, a webcam index such as ``"0"``, or an ``rtsp://``/``http(s)://`` URL.
        realtime: drop frames rather than fall behind; None means on for live sources, off for files.
        start_time: UTC time of a file's first frame (now when None); live frames carry the wall clock.
        timeout_s: how long opening or reading a network stream may take before it counts as failed.
        max_retries: reconnection attempts in a row before a dropped live stream ends.
        retry_delay_s: wait before the first reconnection attempt; it doubles after each failed one.
        fps: frame rate to request from a webcam (None: its own).
        resolution: (width, height) to request from a webcam (None: its own).
    """

    def __init__(
        self,
        spec: str | Path,
        realtime: bool | None = None,
        start_time: datetime | None = None,
        timeout_s: float = 10.0,
        max_retries: int = 6,
        retry_delay_s: float = 0.5,
        fps: float | None = None,
        resolution: tuple[int, int] | None = None,
    ) -> None:
        self.spec = str(spec)
        self.live = is_live(self.spec)
        self.realtime = self.live if realtime is None else realtime
        self.start_time = start_time or datetime.now(UTC)
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.retry_delay_s = retry_delay_s
        self.requested_fps = fps
        self.requested_resolution = resolution
        self.skipped_frames = 0
        self.dropped_frames = 0
        self.reconnects = 0
        self.lost = False  # a live source that dropped and could not be reopened
        self.capture = self._open()
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 25.0
        count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count: int | None = None if self.live or count <= 0 else count
        self._stop = threading.Event()

    def _open(self) -> cv2.VideoCapture:
        if not self.live and not Path(self.spec).is_file():
            raise UserError(f"video file {self.spec} does not exist")
        capture = open_capture(self.spec, self.timeout_s)
        if not capture.isOpened():
            raise UserError(f"cannot open {describe(self.spec)} (not found, unreachable or not a video)")
        self._request_mode(capture)
        return capture

    def _request_mode(self, capture: cv2.VideoCapture) -> None:
        """Ask a webcam for the requested rate and size; warn when any source delivers something else."""
        wanted = {}
        if self.requested_resolution is not None:
            width, height = self.requested_resolution
            wanted |= {cv2.CAP_PROP_FRAME_WIDTH: width, cv2.CAP_PROP_FRAME_HEIGHT: height}
        if self.requested_fps is not None:
            wanted[cv2.CAP_PROP_FPS] = self.requested_fps
        if self.spec.isdigit():
            for prop, value in wanted.items():
                capture.set(prop, float(value))
        delivered = {prop: capture.get(prop) for prop in wanted}
        if any(abs(delivered[prop] - value) > 0.5 for prop, value in wanted.items()):
            log.warning(
                "%s delivers %gx%g at %g fps, not the %s asked for in the store layout",
                describe(self.spec),
                capture.get(cv2.CAP_PROP_FRAME_WIDTH),
                capture.get(cv2.CAP_PROP_FRAME_HEIGHT),
                capture.get(cv2.CAP_PROP_FPS),
                _requested(self.requested_resolution, self.requested_fps),
            )

    def frames(self) -> Iterator[Frame]:
        """Every frame (files) or the newest frames (live, real-time), until the source ends or ``stop()``."""
        if not self.live:
            return self._file_frames()
        if self.realtime:
            return self._newest_frames()
        return self._live_frames()

    def stop(self) -> None:
        """Ask the source to end (another thread, or Ctrl-C)."""
        self._stop.set()

    def close(self) -> None:
        self.stop()
        self.capture.release()

    def _file_frames(self) -> Iterator[Frame]:
        """Decode a file in order; undecodable frames inside it are skipped and counted.

        Failed reads at the very end are not counted: containers often over-estimate their frame count,
        so the end of a file cannot be told from a damaged tail.
        """
        index, failures = 0, 0
        while not self._stop.is_set() and failures < MAX_CONSECUTIVE_FAILURES:
            ok, image = self.capture.read()
            if not ok or image is None:
                failures += 1
                continue
            self.skipped_frames += failures  # failures followed by a good frame were corrupt frames
            index, failures = index + failures, 0
            seconds = index / self.fps
            yield Frame(index, self.start_time + timedelta(seconds=seconds), seconds, image)
            index += 1
        if index == 0 and not self._stop.is_set():
            raise UserError(f"cannot decode any frame of {describe(self.spec)}")

    def _live_frames(self) -> Iterator[Frame]:
        """Read a live source in order, reconnecting with back-off when it stops delivering."""
        started, index = time.monotonic(), 0
        while not self._stop.is_set():
            ok, image = self.capture.read()
            if not ok or image is None:
                if not self._reconnect():
                    return
                continue
            yield Frame(index, datetime.now(UTC), time.monotonic() - started, image)
            index += 1

    def _reconnect(self) -> bool:
        """Reopen a dropped live source with doubling waits (0.5, 1, 2 ... s); False when it gives up."""
        self.capture.release()
        for attempt in range(self.max_retries):
            if self._stop.wait(min(self.retry_delay_s * 2**attempt, 30.0)):
                return False
            log.warning("%s dropped; reconnecting (attempt %d)", describe(self.spec), attempt + 1)
            self.capture = open_capture(self.spec, self.timeout_s)
            if self.capture.isOpened():
                self._request_mode(self.capture)
                self.reconnects += 1
                return True
        log.warning("%s: giving up after %d reconnection attempts", describe(self.spec), self.max_retries)
        self.lost = True
        return False

    def _newest_frames(self) -> Iterator[Frame]:
        """Live frames read by a background thread; frames the consumer was too slow for are dropped."""
        slot: list[Frame] = []
        ready = threading.Condition()
        finished = threading.Event()

        def read() -> None:
            try:
                for frame in self._live_frames():
                    with ready:
                        self.dropped_frames += len(slot)
                        slot[:] = [frame]
                        ready.notify()
            finally:
                finished.set()
                with ready:
                    ready.notify()

        reader = threading.Thread(target=read, name="storemood-source", daemon=True)
        reader.start()
        try:
            while True:
                with ready:
                    ready.wait_for(lambda: slot or finished.is_set())
                    if not slot:
                        return
                    frame = slot.pop()
                yield frame
        finally:
            self.stop()
            reader.join(timeout=self.timeout_s)
