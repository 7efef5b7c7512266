"""Drawing what the pipeline saw: boxes, track ids, the smoothed label and a small probability bar.

Two sinks use it: :class:`AnnotatedVideoWriter` (``storemood run --output``) and :class:`WindowSink`
(``--show``). Both only exist when the user asks for them: by default no pixels are written anywhere.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from storemood.emotions import EMOTION_COLORS, bgr
from storemood.errors import UserError
from storemood.pipeline.frames import FrameResult
from storemood.vision.faces import Faces
from storemood.vision.stills import ImageFaces

#: BGR colour per emotion (the one palette of :data:`storemood.emotions.EMOTION_COLORS`).
EMOTION_BGR: dict[str, tuple[int, int, int]] = {name: bgr(color) for name, color in EMOTION_COLORS.items()}
UNKNOWN_COLOR = (255, 255, 255)
BAR_WIDTH, BAR_HEIGHT = 60, 5
FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


def draw_faces(image: np.ndarray, faces: Faces, classes: tuple[str, ...]) -> np.ndarray:
    """A copy of ``image`` with every face drawn: box, track id (when tracked), label, probability bar."""
    canvas = image.copy()
    probabilities = faces.probabilities
    for row, box in enumerate(faces.boxes.astype(int)):
        x, y, width, height = box.tolist()
        scores = None if probabilities is None or np.isnan(probabilities[row]).any() else probabilities[row]
        label = classes[int(np.argmax(scores))] if scores is not None else "?"
        color = EMOTION_BGR.get(label, UNKNOWN_COLOR)
        cv2.rectangle(canvas, (x, y), (x + width, y + height), color, 2)
        track = f"#{faces.track_ids[row]} " if faces.track_ids[row] >= 0 else ""
        text = f"{track}{label}" + (f" {scores.max():.2f}" if scores is not None else "")
        cv2.putText(canvas, text, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1, cv2.LINE_AA)
        if scores is not None:
            draw_probability_bar(canvas, (x, y + height + 4), scores, classes)
    return canvas


def draw_probability_bar(canvas: np.ndarray, origin: tuple[int, int], scores: np.ndarray, classes) -> None:
    """One thin row per emotion under the box, its length the emotion's probability."""
    x, y = origin
    for offset, (name, score) in enumerate(zip(classes, scores, strict=True)):
        top = y + offset * (BAR_HEIGHT + 1)
        cv2.rectangle(canvas, (x, top), (x + BAR_WIDTH, top + BAR_HEIGHT), (50, 50, 50), -1)
        length = round(float(score) * BAR_WIDTH)
        color = EMOTION_BGR.get(name, UNKNOWN_COLOR)
        cv2.rectangle(canvas, (x, top), (x + length, top + BAR_HEIGHT), color, -1)


def write_annotated_images(results: Sequence[ImageFaces], out: Path) -> list[Path]:
    """Write each analysed image with its faces drawn: to ``out`` for one image, else into folder ``out``."""
    out = Path(out)
    if len(results) == 1 and out.suffix:
        targets = [out]
    else:
        out.mkdir(parents=True, exist_ok=True)
        targets = [out / f"{result.path.stem}.annotated.png" for result in results]
    for result, target in zip(results, targets, strict=True):
        if not target.parent.is_dir():
            raise UserError(f"folder {target.parent} for --annotate does not exist")
        if not cv2.imwrite(str(target), draw_faces(result.image, result.faces, result.classes)):
            raise UserError(f"cannot write {target} (unknown image type?)")
    return targets


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
        self.writer.write(draw_faces(result.image, result.faces, result.classes))

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
            cv2.imshow(self.WINDOW, draw_faces(result.image, result.faces, result.classes))
            cv2.waitKey(1)

    def close(self) -> None:
        cv2.destroyWindow(self.WINDOW)
