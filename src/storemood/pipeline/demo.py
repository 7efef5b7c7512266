"""``storemood demo``: the whole live pipeline on a store clip built from photos the installed packages ship.

Nothing is downloaded and nothing outside the installed packages is read: the three shoppers are real
photos bundled with scikit-image (``astronaut``: Eileen Collins; ``camera``: the cameraman) and
matplotlib (``grace_hopper.jpg``). :func:`build_store_clip` pastes their heads onto a drawn shelf with
three product sections and moves them past it (two of them cross, one stops in front of the shelf),
:func:`run_demo_pipeline` runs Source → Detector → Tracker → Classifier → Smoother on the clip, and
:func:`format_summary` says what it saw. Each step is its own function, so the retail layer can add
zones, a database and a report in between.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from storemood.pipeline.frames import Sink
from storemood.pipeline.loop import run_source
from storemood.pipeline.options import RunOptions
from storemood.pipeline.summary import RunSummary

CLIP_SIZE = (640, 480)  # width, height
CLIP_FPS = 15.0
CLIP_SECONDS = 8.0
SHELF_TOP, SHELF_BOTTOM = 40, 300


@dataclass(frozen=True)
class ShelfSection:
    """One product section of the drawn shelf: its name, brand, colour and x-range in pixels."""

    product: str
    brand: str
    color: tuple[int, int, int]
    x0: int
    x1: int


@dataclass(frozen=True)
class Shopper:
    """A real face photo and the path of its face through the clip.

    ``waypoints`` are ``(seconds, x_centre, y_centre, face_side_px)``; positions between them are
    interpolated, outside them the shopper is off screen.
    """

    name: str
    load: Callable[[], np.ndarray]  # BGR photo
    face_box: tuple[int, int, int, int]  # x, y, w, h of the face in the photo
    waypoints: tuple[tuple[float, float, float, float], ...]


@dataclass(frozen=True)
class DemoClip:
    """The built clip and what is in it."""

    path: Path
    fps: float
    frames: int
    size: tuple[int, int]
    shelf: tuple[ShelfSection, ...]
    shoppers: tuple[str, ...]


SHELF: tuple[ShelfSection, ...] = (
    ShelfSection("cereal", "Sunny Farms", (60, 150, 230), 0, 213),
    ShelfSection("coffee", "Roastery", (40, 70, 120), 213, 426),
    ShelfSection("tea", "Leafline", (90, 170, 90), 426, 640),
)


def _astronaut() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def _cameraman() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)


def _grace_hopper() -> np.ndarray:
    from matplotlib import cbook

    return cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))


#: Face boxes in the photos were found with the BlazeFace detector once and checked by eye.
SHOPPERS: tuple[Shopper, ...] = (
    Shopper(
        "astronaut", _astronaut, (173, 68, 107, 107), ((0.0, -80, 200, 110), (3.0, 330, 190, 120), (6.0, 720, 210, 110))
    ),
    Shopper(
        "grace_hopper",
        _grace_hopper,
        (161, 123, 208, 208),
        ((1.0, 720, 240, 130), (4.0, 300, 230, 140), (7.0, -90, 250, 130)),
    ),
    Shopper(
        "cameraman", _cameraman, (204, 125, 71, 71), ((2.0, 560, 560, 90), (3.5, 480, 350, 100), (8.0, 460, 345, 105))
    ),
)


def build_store_clip(
    path: Path, seconds: float = CLIP_SECONDS, fps: float = CLIP_FPS, shoppers: Sequence[Shopper] = SHOPPERS
) -> DemoClip:
    """Write a clip of real faces moving past a drawn shelf to ``path`` (``.avi``, Motion-JPEG)."""
    width, height = CLIP_SIZE
    background = draw_shelf(width, height)
    heads = [(shopper, head_patch(shopper)) for shopper in shoppers]
    frames = round(seconds * fps)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for index in range(frames):
        frame = background.copy()
        for shopper, (patch, mask, face_side) in heads:
            place = position_at(shopper.waypoints, index / fps)
            if place is not None:
                paste_head(frame, patch, mask, face_side, place)
        writer.write(frame)
    writer.release()
    return DemoClip(path, fps, frames, CLIP_SIZE, SHELF, tuple(shopper.name for shopper in shoppers))


def draw_shelf(width: int, height: int) -> np.ndarray:
    """A store wall with a three-section shelf of product boxes and a floor."""
    image = np.full((height, width, 3), (205, 215, 222), np.uint8)
    image[SHELF_BOTTOM + 40 :] = (120, 130, 140)
    for section in SHELF:
        for row, top in enumerate(range(SHELF_TOP, SHELF_BOTTOM, 65)):
            cv2.rectangle(image, (section.x0, top + 58), (section.x1, top + 64), (70, 80, 90), -1)
            for left in range(section.x0 + 8, section.x1 - 30, 34):
                shade = np.array(section.color) * (0.8 + 0.1 * ((left // 34 + row) % 3))
                cv2.rectangle(image, (left, top + 14), (left + 28, top + 57), shade.clip(0, 255).tolist(), -1)
        cv2.putText(image, section.brand, (section.x0 + 10, SHELF_TOP - 12), 0, 0.6, (40, 40, 40), 2)
    return image


def head_patch(shopper: Shopper) -> tuple[np.ndarray, np.ndarray, int]:
    """The square head region around the face, a feathered oval mask for it, and the face side in it."""
    photo = shopper.load()
    x, y, w, h = shopper.face_box
    side = int(max(w, h) * 1.7)
    left, top = int(x + w / 2 - side / 2), int(y + h / 2 - side / 2)
    padded = cv2.copyMakeBorder(photo, side, side, side, side, cv2.BORDER_REPLICATE)
    patch = padded[top + side : top + 2 * side, left + side : left + 2 * side]
    mask = np.zeros((side, side), np.float32)
    cv2.ellipse(mask, (side // 2, side // 2), (int(side * 0.42), int(side * 0.48)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), side * 0.04)
    return patch, mask, max(w, h)


def position_at(waypoints, seconds: float) -> tuple[float, float, float] | None:
    """Interpolated ``(x, y, face_side)`` at ``seconds``, or None outside the waypoints' time span."""
    times = [point[0] for point in waypoints]
    if not times[0] <= seconds <= times[-1]:
        return None
    return tuple(float(np.interp(seconds, times, [point[k] for point in waypoints])) for k in (1, 2, 3))


def paste_head(frame: np.ndarray, patch: np.ndarray, mask: np.ndarray, face_side: int, place) -> None:
    """Blend ``patch`` into ``frame`` scaled so the face is ``place[2]`` px wide, centred at ``place[:2]``."""
    x, y, target = place
    scale = target / face_side
    size = max(2, round(patch.shape[0] * scale))
    patch = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.resize(mask, (size, size))[..., np.newaxis]
    left, top = round(x - size / 2), round(y - size / 2)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + size, frame.shape[1]), min(top + size, frame.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    region = frame[y0:y1, x0:x1].astype(np.float32)
    piece = patch[y0 - top : y1 - top, x0 - left : x1 - left]
    weight = alpha[y0 - top : y1 - top, x0 - left : x1 - left]
    frame[y0:y1, x0:x1] = (weight * piece + (1 - weight) * region).astype(np.uint8)


def run_demo_pipeline(clip: DemoClip, options: RunOptions | None = None, sinks: Sequence[Sink] = ()) -> RunSummary:
    """Run the live pipeline on the demo clip (the shipped model unless ``options.model`` says otherwise)."""
    return run_source(clip.path, options or RunOptions(), sinks=sinks)


def format_summary(summary: RunSummary, clip: DemoClip) -> str:
    """What the pipeline saw, as a few lines for the terminal."""
    shelf = ", ".join(section.product for section in clip.shelf)
    header = (
        f"demo clip: {clip.frames} frames {clip.size[0]}x{clip.size[1]} at {clip.fps:g} fps, "
        f"{len(clip.shoppers)} shoppers ({', '.join(clip.shoppers)}) passing a shelf of {shelf}"
    )
    return f"{header}\n{summary.describe()}"


def run_demo(options: RunOptions | None = None, sinks: Sequence[Sink] = ()) -> tuple[RunSummary, DemoClip]:
    """Build the clip in a temporary folder, run the pipeline on it, delete the clip."""
    with tempfile.TemporaryDirectory(prefix="storemood-demo-") as folder:
        clip = build_store_clip(Path(folder) / "store.avi")
        return run_demo_pipeline(clip, options, sinks), clip
