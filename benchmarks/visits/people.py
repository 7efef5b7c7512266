"""Shoppers cut from real portraits: head and shoulders under a soft mask, seen from the front or from behind.

Each portrait's face box is the one ``storemood detect --json`` reports on it (BlazeFace, square boxes), so the
ground-truth boxes of a composited clip follow the detector's own box convention and an IoU of 0.5 matches them.
The cut-out keeps the hair and the shoulders around the face, with the portrait's background faded out by a
blurred mask, so a detector sees a person in a scene rather than a pasted square. The back view paints the face
over with the colour of the person's own hair, which is what a camera on the shelf sees when a shopper turns
round to the other aisle: a head with no face on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

#: Portraits with head and shoulders in frame, and the face box (x, y, side) BlazeFace finds in each.
PORTRAITS: dict[str, tuple[int, int, int]] = {
    "justin.jpg": (97, 104, 181),
    "single_face.jpg": (164, 180, 216),
    "deepface_img3.jpg": (335, 403, 854),
    "deepface_img6.jpg": (147, 260, 462),
    "deepface_img8.jpg": (156, 164, 323),
    "deepface_img10.jpg": (74, 143, 243),
    "deepface_img11.jpg": (151, 128, 313),
    "deepface_img12.jpg": (202, 81, 168),
}

#: The cut-out around the face, in face sides: left/right of the face centre, above the face box, below it.
HALF_WIDTH, ABOVE, BELOW = 1.45, 0.5, 1.9
#: Side of the face in the stored cut-out, pixels (shoppers are drawn at 40-110 px, so this is only scaled down).
SPRITE_FACE = 120


@dataclass(frozen=True)
class Sprite:
    """One person's cut-out: BGR pixels, a float alpha mask, and where the face box sits in it."""

    front: np.ndarray
    back: np.ndarray
    alpha: np.ndarray
    face: tuple[int, int, int]  # x, y, side of the face box inside the cut-out

    def scaled(self, face_side: float, facing: str) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
        """Pixels and alpha resized so the face is ``face_side`` px, and the face centre's offset in them."""
        scale = face_side / self.face[2]
        height, width = self.alpha.shape
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        pixels = cv2.resize(self.front if facing == "front" else self.back, size, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(self.alpha, size, interpolation=cv2.INTER_AREA)
        x, y, side = self.face
        return pixels, alpha, ((x + side / 2) * scale, (y + side / 2) * scale)


def head_and_shoulders_mask(width: int, height: int, face: tuple[int, int, int]) -> np.ndarray:
    """A soft alpha mask: an ellipse around head and hair joined to a wider one for the shoulders."""
    x, y, side = face
    center_x = x + side / 2
    mask = np.zeros((height, width), np.float32)
    head_center = (round(center_x), round(y + 0.42 * side))
    cv2.ellipse(mask, head_center, (round(0.66 * side), round(0.9 * side)), 0, 0, 360, 1.0, -1)
    neck = (round(0.3 * side), round(0.6 * side))
    cv2.rectangle(
        mask, (round(center_x) - neck[0], y + side // 2), (round(center_x) + neck[0], y + side + neck[1]), 1.0, -1
    )
    shoulders_center = (round(center_x), round(y + 2.35 * side))
    cv2.ellipse(mask, shoulders_center, (round(1.4 * side), round(1.05 * side)), 0, 180, 360, 1.0, -1)
    below = ((round(center_x - 1.4 * side), round(y + 2.35 * side)), (round(center_x + 1.4 * side), height))
    cv2.rectangle(mask, *below, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.06 * side)
    fade = np.clip((y + (1 + BELOW) * side - np.arange(height)) / (0.4 * side), 0, 1)  # chest fades out
    return mask * fade[:, np.newaxis].astype(np.float32)


def back_of_head(front: np.ndarray, alpha: np.ndarray, face: tuple[int, int, int]) -> np.ndarray:
    """The cut-out with its face painted over in the hair's colour and a little hair-like texture."""
    x, y, side = face
    rows, cols = slice(max(0, y - side // 2), max(1, y - side // 5)), slice(x + side // 4, x + 3 * side // 4)
    hair, hair_alpha = front[rows, cols], alpha[rows, cols]
    colour = np.median(hair[hair_alpha > 0.5], axis=0) if (hair_alpha > 0.5).any() else np.array([40, 40, 40])
    rng = np.random.default_rng(side)
    texture = rng.normal(0, 14, front.shape[:2]).astype(np.float32)
    texture = cv2.GaussianBlur(texture, (0, 0), sigmaX=side / 60, sigmaY=side / 12)  # vertical strands
    painted = np.clip(colour[np.newaxis, np.newaxis].astype(np.float32) + texture[..., np.newaxis], 0, 255)
    cover = np.zeros(front.shape[:2], np.float32)
    cv2.ellipse(cover, (x + side // 2, y + side // 2), (round(0.55 * side), round(0.62 * side)), 0, 0, 360, 1.0, -1)
    cover = cv2.GaussianBlur(cover, (0, 0), 0.05 * side)[..., np.newaxis]
    return (front * (1 - cover) + painted * cover).astype(np.uint8)


@cache
def load_sprite(path: Path) -> Sprite:
    """Cut one portrait (a name in :data:`PORTRAITS`) into a :class:`Sprite` with a 120 px face."""
    x, y, side = PORTRAITS[path.name]
    image = cv2.imread(str(path))
    if image is None:
        raise FileNotFoundError(f"cannot read portrait {path}")
    scale = SPRITE_FACE / side
    center_x = x + side / 2
    left, top = round(center_x - HALF_WIDTH * side), round(y - ABOVE * side)
    right, bottom = round(center_x + HALF_WIDTH * side), round(y + (1 + BELOW) * side)
    padded = cv2.copyMakeBorder(image, side * 2, side * 3, side * 2, side * 2, cv2.BORDER_REPLICATE)
    crop = padded[top + side * 2 : bottom + side * 2, left + side * 2 : right + side * 2]
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    face = (round((x - left) * scale), round((y - top) * scale), SPRITE_FACE)
    alpha = head_and_shoulders_mask(crop.shape[1], crop.shape[0], face)
    alpha *= _inside_photo(crop, image, left, top, scale)
    return Sprite(front=crop, back=back_of_head(crop, alpha, face), alpha=alpha, face=face)


def _inside_photo(crop: np.ndarray, image: np.ndarray, left: int, top: int, scale: float) -> np.ndarray:
    """1 where the cut-out shows the photo itself, 0 where it shows the replicated border beyond the photo."""
    height, width = image.shape[:2]
    rows = (np.arange(crop.shape[0]) / scale + top).astype(np.float32)
    cols = (np.arange(crop.shape[1]) / scale + left).astype(np.float32)
    return ((rows >= 0) & (rows < height))[:, np.newaxis].astype(np.float32) * ((cols >= 0) & (cols < width))[
        np.newaxis
    ]
