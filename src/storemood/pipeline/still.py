"""A camera's still: the per-pixel median of frames kept over time, so it shows the shelf and no shopper.

People move and shelves do not: over frames taken seconds apart, each pixel is background in most of
them, so its median is the background's colour. :class:`StillSampler` keeps a small reservoir of
downscaled frames (one every ``sample_s`` seconds of frame time, the newest ``frames`` of them), each with
a mask of where the detector found faces (enlarged to the head); :func:`median_still` takes the median of
each pixel over the frames where it was not masked. One frame is never written: a still needs at least
:data:`storemood.defaults.STILL_MIN_FRAMES` kept frames.

>>> import numpy as np
>>> background = np.full((4, 6, 3), 90, np.uint8)
>>> frames = [background.copy() for _ in range(5)]
>>> frames[2][1:3, 1:3] = 255                       # a "shopper" in one frame only
>>> median_still(frames, [np.zeros((4, 6), bool)] * 5)[1, 1].tolist()
[90, 90, 90]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime

import cv2
import numpy as np

from storemood import defaults
from storemood.config import StillSettings
from storemood.database.camera_table import Still
from storemood.vision.faces import Faces

#: How far a face's mask reaches beyond its box, in box sides: to each side and above (hair, ears), and
#: below (neck and shoulders, which would otherwise leave a shopper's ghost where one stood a while).
HEAD_MARGIN = 0.5
BODY_BELOW = 2.0
JPEG_QUALITY = 85
_HIDDEN = 256  # above any 8-bit value: masked samples sort last


class StillSampler:
    """Keeps downscaled frames over time for one camera's still (see the module's description)."""

    def __init__(self, settings: StillSettings, max_width: int = defaults.STILL_MAX_WIDTH) -> None:
        self.settings = settings
        self.max_width = max_width
        self.kept: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=settings.frames)
        self.last_kept: datetime | None = None

    def offer(self, image: np.ndarray, timestamp: datetime, faces: Faces) -> bool:
        """Keep this frame (downscaled, with its faces masked) when ``sample_s`` has passed since the last
        kept one; True when it was kept."""
        if self.last_kept is not None and (timestamp - self.last_kept).total_seconds() < self.settings.sample_s:
            return False
        scale = min(1.0, self.max_width / image.shape[1])
        small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        self.kept.append((small, face_mask(small.shape[:2], faces.boxes * scale)))
        self.last_kept = timestamp
        return True

    @property
    def ready(self) -> bool:
        """Enough frames are kept for a still."""
        return len(self.kept) >= defaults.STILL_MIN_FRAMES

    def frames(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The kept frames and their face masks, oldest first (the lists are copies; the arrays are never
        changed after they are kept, so another thread may read them)."""
        return [image for image, _ in self.kept], [mask for _, mask in self.kept]


def face_mask(shape: tuple[int, int], boxes: np.ndarray) -> np.ndarray:
    """A boolean (height, width) mask, True over each face box enlarged by :data:`HEAD_MARGIN` to the sides
    and above and by :data:`BODY_BELOW` below."""
    mask = np.zeros(shape, bool)
    height, width = shape
    for x, y, w, h in boxes:
        x0, y0 = int(max(0, x - HEAD_MARGIN * w)), int(max(0, y - HEAD_MARGIN * h))
        x1, y1 = int(min(width, x + w * (1 + HEAD_MARGIN)) + 1), int(min(height, y + h * (1 + BODY_BELOW)) + 1)
        mask[y0:y1, x0:x1] = True
    return mask


def median_still(frames: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> np.ndarray:
    """The per-pixel median of ``frames`` (same size, 8-bit BGR), each pixel over the frames where its mask is
    False; a pixel masked in every frame gets the still's overall median colour, never a face's pixels."""
    stack = np.stack(frames).astype(np.uint16)
    hidden = np.stack(masks)[..., None]
    stack[np.broadcast_to(hidden, stack.shape)] = _HIDDEN
    stack.sort(axis=0)
    valid = len(frames) - hidden.sum(axis=0)  # (height, width, 1)
    lower = np.take_along_axis(stack, (np.maximum(valid - 1, 0) // 2)[None], axis=0)[0]
    upper = np.take_along_axis(stack, (valid // 2)[None], axis=0)[0]
    median = ((lower + upper + 1) // 2).astype(np.uint8)
    nowhere = valid[..., 0] == 0
    if nowhere.any():
        median[nowhere] = np.median(median[~nowhere], axis=0) if (~nowhere).any() else 0
    return median


def encode_still(frames: Sequence[np.ndarray], masks: Sequence[np.ndarray], taken_at: datetime) -> Still:
    """The median of ``frames`` as a JPEG :class:`~storemood.database.camera_table.Still`."""
    image = median_still(frames, masks)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("OpenCV could not encode the still as JPEG")
    height, width = image.shape[:2]
    return Still(jpeg=jpeg.tobytes(), taken_at=taken_at, width=width, height=height, frames=len(frames))
