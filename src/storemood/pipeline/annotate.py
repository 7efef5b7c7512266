"""Drawing what the pipeline saw: the shelf zones and their products, each face's box, track id, smoothed
label and probability bars, and a legend of the bars' colours.

Text and lines grow with the image (:class:`Style`), and every label is kept inside the frame. The colours
are the one emotion palette, :data:`storemood.emotions.EMOTION_COLORS`, that the reports and the dashboard
use too. Two sinks use it: :class:`AnnotatedVideoWriter` (``storemood run --output``) and
:class:`WindowSink` (``--show``); ``storemood detect --annotate`` draws images with
:func:`write_annotated_images`. Nothing is drawn or written unless the user asks for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from storemood.config import Zone
from storemood.emotions import EMOTION_COLORS, bgr
from storemood.errors import UserError
from storemood.pipeline.frames import FrameResult
from storemood.vision.faces import Faces
from storemood.vision.stills import ImageFaces

#: BGR colour per emotion (the one palette of :data:`storemood.emotions.EMOTION_COLORS`).
EMOTION_BGR: dict[str, tuple[int, int, int]] = {name: bgr(color) for name, color in EMOTION_COLORS.items()}
UNKNOWN_COLOR = (255, 255, 255)
ZONE_COLOR = (255, 255, 255)  # zones are outlined in white over a dark edge: no emotion colour
EDGE_COLOR = (20, 20, 20)
LABEL_BACKGROUND = (30, 30, 30)
BAR_BACKGROUND = (60, 60, 60)
FONT = cv2.FONT_HERSHEY_SIMPLEX
#: The image size (shorter side, pixels) at which :class:`Style` draws at scale 1.
REFERENCE_SIDE = 480
FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


@dataclass(frozen=True)
class Style:
    """Sizes for one image: text, lines and bars grow with its shorter side (never below readable).

    >>> Style.for_shape((480, 640)).font_scale, Style.for_shape((2160, 3840)).line
    (0.5, 9)
    """

    font_scale: float
    line: int
    bar_width: int
    bar_height: int
    pad: int

    @classmethod
    def for_shape(cls, shape: tuple[int, ...]) -> Style:
        scale = max(min(shape[:2]) / REFERENCE_SIDE, 0.6)
        return cls(
            font_scale=0.5 * scale,
            line=max(1, round(2 * scale)),
            bar_width=round(60 * scale),
            bar_height=max(3, round(5 * scale)),
            pad=max(2, round(3 * scale)),
        )

    @property
    def text_line(self) -> int:
        return max(1, round(self.line / 2))


def draw_faces(image: np.ndarray, faces: Faces, classes: tuple[str, ...], zones: Sequence[Zone] = ()) -> np.ndarray:
    """A copy of ``image`` with the ``zones`` (outline and product), every face (box, track id when tracked,
    label, probability bars) and a legend of the bars' colours drawn on it."""
    canvas = image.copy()
    style = Style.for_shape(canvas.shape)
    draw_zones(canvas, zones, style)
    probabilities = faces.probabilities
    for row, box in enumerate(faces.boxes.astype(int)):
        x, y, width, height = box.tolist()
        scores = None if probabilities is None or np.isnan(probabilities[row]).any() else probabilities[row]
        label = classes[int(np.argmax(scores))] if scores is not None else "?"
        color = EMOTION_BGR.get(label, UNKNOWN_COLOR)
        cv2.rectangle(canvas, (x, y), (x + width, y + height), color, style.line)
        track = f"#{faces.track_ids[row]} " if faces.track_ids[row] >= 0 else ""
        text = f"{track}{label}" + (f" {scores.max():.2f}" if scores is not None else "")
        put_label(canvas, text, (x, y - style.pad), color, style, above=True)
        if scores is not None:
            draw_probability_bars(canvas, (x, y + height + style.pad), scores, classes, style)
    draw_legend(canvas, classes, style)
    return canvas


def text_box(text: str, style: Style) -> tuple[int, int, int]:
    """Width, height above the baseline, and depth below it of ``text`` in ``style``, pixels."""
    (width, height), baseline = cv2.getTextSize(text, FONT, style.font_scale, style.text_line)
    return width, height, baseline


def put_label(
    canvas: np.ndarray,
    text: str,
    anchor: tuple[int, int],
    color: tuple[int, int, int],
    style: Style,
    above: bool = False,
) -> tuple[int, int, int, int]:
    """Write ``text`` on a dark box at ``anchor`` (its top left; its bottom left with ``above``), moved as
    little as needed to lie wholly inside the image. Returns the box drawn (x0, y0, x1, y1)."""
    width, height, depth = text_box(text, style)
    box_w, box_h = width + 2 * style.pad, height + depth + 2 * style.pad
    x, y = anchor
    top = y - box_h if above else y
    x0 = int(np.clip(x, 0, max(0, canvas.shape[1] - box_w)))
    y0 = int(np.clip(top, 0, max(0, canvas.shape[0] - box_h)))
    cv2.rectangle(canvas, (x0, y0), (x0 + box_w - 1, y0 + box_h - 1), LABEL_BACKGROUND, -1)
    baseline = (x0 + style.pad, y0 + style.pad + height)
    cv2.putText(canvas, text, baseline, FONT, style.font_scale, color, style.text_line, cv2.LINE_AA)
    return x0, y0, x0 + box_w - 1, y0 + box_h - 1


def draw_zones(canvas: np.ndarray, zones: Sequence[Zone], style: Style) -> None:
    """Each zone's outline, and its product's name (its SKU when it has none) in its top-left corner."""
    height, width = canvas.shape[:2]
    scale = np.array([width - 1, height - 1], dtype=float)
    for zone in zones:
        points = np.round(np.array(zone.polygon()) * scale).astype(np.int32)
        cv2.polylines(canvas, [points], True, EDGE_COLOR, style.line + 2, cv2.LINE_AA)
        cv2.polylines(canvas, [points], True, ZONE_COLOR, style.line, cv2.LINE_AA)
        corner = points[np.argmin(points.sum(axis=1))]
        name = zone.product.name or zone.product.sku
        put_label(canvas, name, (int(corner[0]) + style.line + 1, int(corner[1]) + style.line + 1), ZONE_COLOR, style)


def draw_probability_bars(
    canvas: np.ndarray, origin: tuple[int, int], scores: np.ndarray, classes: Sequence[str], style: Style
) -> None:
    """One thin bar per emotion, in ``classes`` order, its length the emotion's probability; placed at
    ``origin`` (under the face) or moved up and left as far as needed to stay inside the image."""
    rows = len(classes) * (style.bar_height + 1)
    x = int(np.clip(origin[0], 0, max(0, canvas.shape[1] - style.bar_width - 1)))
    y = int(np.clip(origin[1], 0, max(0, canvas.shape[0] - rows)))
    for offset, (name, score) in enumerate(zip(classes, scores, strict=True)):
        top = y + offset * (style.bar_height + 1)
        bottom = top + style.bar_height - 1
        cv2.rectangle(canvas, (x, top), (x + style.bar_width, bottom), BAR_BACKGROUND, -1)
        length = round(float(score) * style.bar_width)
        cv2.rectangle(canvas, (x, top), (x + length, bottom), EMOTION_BGR.get(name, UNKNOWN_COLOR), -1)


def draw_legend(canvas: np.ndarray, classes: Sequence[str], style: Style) -> None:
    """A key to the probability bars at the top right: one row per emotion, in the bars' order, a bar of its
    colour then its name, on one dark panel (kept inside the image)."""
    if not classes:
        return
    sizes = [text_box(name, style) for name in classes]
    row = max(height + depth for _, height, depth in sizes) + style.pad
    panel_w = style.bar_width // 2 + 3 * style.pad + max(width for width, _, _ in sizes)
    panel_h = row * len(classes) + style.pad
    x0 = max(0, canvas.shape[1] - panel_w)
    cv2.rectangle(canvas, (x0, 0), (x0 + panel_w - 1, min(panel_h, canvas.shape[0]) - 1), LABEL_BACKGROUND, -1)
    for index, (name, (_, height, _)) in enumerate(zip(classes, sizes, strict=True)):
        color = EMOTION_BGR.get(name, UNKNOWN_COLOR)
        baseline = style.pad + index * row + height
        swatch_top = baseline - (height + style.bar_height) // 2
        cv2.rectangle(
            canvas,
            (x0 + style.pad, swatch_top),
            (x0 + style.pad + style.bar_width // 2, swatch_top + style.bar_height - 1),
            color,
            -1,
        )
        origin = (x0 + 2 * style.pad + style.bar_width // 2, baseline)
        cv2.putText(canvas, name, origin, FONT, style.font_scale, color, style.text_line, cv2.LINE_AA)


def annotated_targets(images: Sequence[Path], out: Path) -> list[Path]:
    """Where ``detect --annotate out`` writes each image: ``out`` itself for one image given a file name, else
    ``<name>.annotated.png`` in folder ``out``. Checked before any image is analysed, so a bad name costs nothing.
    """
    out = Path(out)
    if len(images) == 1 and out.suffix and not out.is_dir():
        if not cv2.haveImageWriter(str(out)):
            raise UserError(f"--annotate {out.name}: not an image type OpenCV can write; use .png or .jpg")
        targets = [out]
    elif out.exists() and not out.is_dir():
        raise UserError(f"--annotate {out} is a file; with several images give a folder")
    else:
        targets = [out / f"{Path(image).stem}.annotated.png" for image in images]
    if not (out.is_dir() or out.parent.is_dir()):
        raise UserError(f"folder {out.parent} for --annotate does not exist")
    return targets


def write_annotated_images(results: Sequence[ImageFaces], targets: Sequence[Path], zones: Sequence[Zone] = ()) -> None:
    """Write each analysed image with its faces (and ``zones``) drawn to its target (:func:`annotated_targets`)."""
    for result, target in zip(results, targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(target), draw_faces(result.image, result.faces, result.classes, zones)):
            raise UserError(f"cannot write {target}")


class AnnotatedVideoWriter:
    """Sink writing an annotated copy of the analysed frames to a video file (``.mp4`` or ``.avi``), with the
    camera's ``zones`` drawn when given."""

    def __init__(self, path: Path, fps: float, zones: Sequence[Zone] = ()) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in FOURCC_BY_SUFFIX:
            suffixes = ", ".join(FOURCC_BY_SUFFIX)
            raise UserError(f"--output must end in one of {suffixes}, not {self.path.name}")
        if not self.path.parent.is_dir():
            raise UserError(f"folder {self.path.parent} for --output does not exist")
        self.fps = fps
        self.zones = tuple(zones)
        self.writer: cv2.VideoWriter | None = None

    def on_frame(self, result: FrameResult) -> None:
        if result.image is None:
            return
        if self.writer is None:
            height, width = result.shape
            fourcc = cv2.VideoWriter_fourcc(*FOURCC_BY_SUFFIX[self.path.suffix.lower()])
            self.writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (width, height))
        self.writer.write(draw_faces(result.image, result.faces, result.classes, self.zones))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


class WindowSink:
    """Sink showing the annotated frames in a window (needs a display and OpenCV built with GUI support)."""

    WINDOW = "storemood"

    def __init__(self, zones: Sequence[Zone] = ()) -> None:
        self.zones = tuple(zones)
        has_display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        if sys.platform.startswith("linux") and not has_display:
            raise UserError("--show needs a display, and none is set (DISPLAY/WAYLAND_DISPLAY)")
        try:
            cv2.namedWindow(self.WINDOW, cv2.WINDOW_NORMAL)
        except cv2.error as error:
            raise UserError("--show needs OpenCV with GUI support (pip install opencv-python)") from error

    def on_frame(self, result: FrameResult) -> None:
        if result.image is not None:
            cv2.imshow(self.WINDOW, draw_faces(result.image, result.faces, result.classes, self.zones))
            cv2.waitKey(1)

    def close(self) -> None:
        cv2.destroyWindow(self.WINDOW)
