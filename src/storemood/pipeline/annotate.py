"""Drawing what the pipeline saw: boxes, track ids, the smoothed label and a small probability bar.

Two sinks use it: :class:`AnnotatedVideoWriter` (``storemood run --output``) and :class:`WindowSink`
(``--show``). Both only exist when the user asks for them: by default no pixels are written anywhere.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

from storemood.errors import UserError
from storemood.pipeline.runner import FrameResult

#: BGR colour per emotion, so the same emotion always looks the same.
EMOTION_COLORS: dict[str, tuple[int, int, int]] = {
    "angry": (40, 40, 220),
    "disgust": (40, 140, 60),
    "fear": (160, 60, 160),
    "happy": (40, 200, 240),
    "neutral": (190, 190, 190),
    "sad": (200, 120, 40),
    "surprise": (40, 150, 250),
    "contempt": (90, 90, 140),
}
UNKNOWN_COLOR = (255, 255, 255)
BAR_WIDTH, BAR_HEIGHT = 60, 5
FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


def draw_faces(image: np.ndarray, result: FrameResult) -> np.ndarray:
    """A copy of ``image`` with every face of ``result`` drawn on it."""
    canvas = image.copy()
    probabilities = result.faces.probabilities
    for row, box in enumerate(result.faces.boxes.astype(int)):
        x, y, width, height = box.tolist()
        track_id = int(result.faces.track_ids[row])
        scores = None if probabilities is None or np.isnan(probabilities[row]).any() else probabilities[row]
        label = result.classes[int(np.argmax(scores))] if scores is not None else "?"
        color = EMOTION_COLORS.get(label, UNKNOWN_COLOR)
        cv2.rectangle(canvas, (x, y), (x + width, y + height), color, 2)
        text = f"#{track_id} {label}" + (f" {scores.max():.2f}" if scores is not None else "")
        cv2.putText(canvas, text, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1, cv2.LINE_AA)
        if scores is not None:
            draw_probability_bar(canvas, (x, y + height + 4), scores, result.classes)
    return canvas


def draw_probability_bar(canvas: np.ndarray, origin: tuple[int, int], scores: np.ndarray, classes) -> None:
    """One thin row per emotion under the box, its length the emotion's probability."""
    x, y = origin
    for offset, (name, score) in enumerate(zip(classes, scores, strict=True)):
        top = y + offset * (BAR_HEIGHT + 1)
        cv2.rectangle(canvas, (x, top), (x + BAR_WIDTH, top + BAR_HEIGHT), (50, 50, 50), -1)
        length = round(float(score) * BAR_WIDTH)
        color = EMOTION_COLORS.get(name, UNKNOWN_COLOR)
        cv2.rectangle(canvas, (x, top), (x + length, top + BAR_HEIGHT), color, -1)


class AnnotatedVideoWriter:
    """Sink writing an annotated copy of the analysed frames to a video file (``.mp4`` or ``.avi``)."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in FOURCC_BY_SUFFIX:
            suffixes = ", ".join(FOURCC_BY_SUFFIX)
            raise UserError(f"--output must end in one of {suffixes}, not {self.path.name}")
        if not self.path.parent.is_dir():
            raise UserError(f"folder {self.path.parent} for --output does not exist")
        self.fps = fps
        self.writer: cv2.VideoWriter | None = None

    def on_frame(self, result: FrameResult) -> None:
        if result.image is None:
            return
        if self.writer is None:
            height, width = result.shape
            fourcc = cv2.VideoWriter_fourcc(*FOURCC_BY_SUFFIX[self.path.suffix.lower()])
            self.writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (width, height))
        self.writer.write(draw_faces(result.image, result))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


class WindowSink:
    """Sink showing the annotated frames in a window (needs a display and OpenCV built with GUI support)."""

    WINDOW = "storemood"

    def __init__(self) -> None:
        has_display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        if sys.platform.startswith("linux") and not has_display:
            raise UserError("--show needs a display, and none is set (DISPLAY/WAYLAND_DISPLAY)")
        try:
            cv2.namedWindow(self.WINDOW, cv2.WINDOW_NORMAL)
        except cv2.error as error:
            raise UserError("--show needs OpenCV with GUI support (pip install opencv-python)") from error

    def on_frame(self, result: FrameResult) -> None:
        if result.image is not None:
            cv2.imshow(self.WINDOW, draw_faces(result.image, result))
            cv2.waitKey(1)

    def close(self) -> None:
        cv2.destroyWindow(self.WINDOW)
