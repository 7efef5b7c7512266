"""The demo clip: three real faces walking past a drawn three-section shelf, built from packaged photos.

Nothing is downloaded and nothing outside the installed packages is read: the three shoppers are real
photos bundled with scikit-image (``astronaut``: Eileen Collins; ``camera``: the cameraman) and
matplotlib (``grace_hopper.jpg``). :func:`build_store_clip` pastes their heads onto a shelf with one
product section per zone of the demo layout (``storemood/demo/store.yaml``, so the sections drawn and the
zones that count visits are one definition) and moves them past it: two of them cross, one stops in front
of the shelf.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from storemood.config import Zone, load_store
from storemood.demo import DEMO_STORE

CLIP_SIZE = (640, 480)  # width, height
CLIP_FPS = 15.0
CLIP_SECONDS = 8.0
#: `storemood demo` plays the shoppers' 8-second walk this many times, so that every product gets enough
#: visits to be shown at all (reports suppress groups under 5 visits; see docs/statistics.md).
DEMO_ROUNDS = 3
SHELF_TOP, SHELF_BOTTOM = 40, 300
#: Colours of the product boxes (BGR), one per zone of the demo layout, in its order.
BOX_COLORS = ((60, 150, 230), (40, 70, 120), (90, 170, 90))


@dataclass(frozen=True)
class ShelfSection:
    """One product section of the drawn shelf: its product (sku), brand, colour and x-range in pixels."""

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


def demo_shelf(width: int) -> tuple[ShelfSection, ...]:
    """The shelf sections of the demo layout's zones, each spanning its zone's x-range in a ``width`` px frame."""
    zones = load_store(DEMO_STORE).cameras[0].zones
    return tuple(
        ShelfSection(zone.product.sku, zone.product.brand, color, *_x_range(zone, width))
        for zone, color in zip(zones, BOX_COLORS, strict=True)
    )


def _x_range(zone: Zone, width: int) -> tuple[int, int]:
    xs = [x for x, _ in zone.polygon()]
    return round(min(xs) * width), round(max(xs) * width)


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


def demo_shoppers(rounds: int = DEMO_ROUNDS) -> tuple[Shopper, ...]:
    """The shoppers walking past the shelf ``rounds`` times, one :data:`CLIP_SECONDS` round after another.

    >>> len(demo_shoppers(3)), demo_shoppers(3)[3].waypoints[0][0] - SHOPPERS[0].waypoints[0][0]
    (9, 8.0)
    """
    return tuple(
        replace(
            shopper, waypoints=tuple((t + CLIP_SECONDS * round_, x, y, side) for t, x, y, side in shopper.waypoints)
        )
        for round_ in range(rounds)
        for shopper in SHOPPERS
    )


def build_store_clip(
    path: Path, seconds: float = CLIP_SECONDS, fps: float = CLIP_FPS, shoppers: Sequence[Shopper] = SHOPPERS
) -> DemoClip:
    """Write a clip of real faces moving past a drawn shelf to ``path`` (``.avi``, Motion-JPEG)."""
    width, height = CLIP_SIZE
    shelf = demo_shelf(width)
    background = draw_shelf(width, height, shelf)
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
    return DemoClip(path, fps, frames, CLIP_SIZE, shelf, tuple(dict.fromkeys(shopper.name for shopper in shoppers)))


def draw_shelf(width: int, height: int, shelf: Sequence[ShelfSection]) -> np.ndarray:
    """A store wall with a shelf of product boxes, one section per ``shelf`` entry, and a floor."""
    image = np.full((height, width, 3), (205, 215, 222), np.uint8)
    image[SHELF_BOTTOM + 40 :] = (120, 130, 140)
    for section in shelf:
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
