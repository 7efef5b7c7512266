"""Reading images of any kind into the arrays the rest of storemood expects.

Cameras, photo folders and data sets come as 8- or 16-bit, grayscale, BGR or BGRA; these helpers turn
each into 8-bit BGR (for detectors) or 8-bit grayscale (for the emotion model) in one place.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"})


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Scale 16-bit or float images to 8 bits; 8-bit images pass through.

    >>> to_uint8(np.array([0, 32768, 65535], np.uint16)).tolist(), to_uint8(np.array([0.0, 0.5, 1.0])).tolist()
    ([0, 128, 255], [0, 127, 255])
    """
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    scale = 255.0 if float(np.nanmax(image, initial=0.0)) <= 1.0 else 1.0
    return np.clip(np.nan_to_num(image) * scale, 0, 255).astype(np.uint8)


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Any image (gray, BGR, BGRA; any depth) as 8-bit 3-channel BGR.

    >>> image = to_bgr(np.zeros((480, 640), np.uint16))
    >>> image.shape, image.dtype
    ((480, 640, 3), dtype('uint8'))
    """
    image = to_uint8(image)
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def to_gray(image: np.ndarray) -> np.ndarray:
    """Any image (gray, BGR, BGRA; any depth) as 8-bit single-channel grayscale.

    >>> to_gray(np.zeros((480, 640, 4), np.uint8)).shape
    (480, 640)
    """
    image = to_uint8(image)
    if image.ndim == 2:
        return image
    if image.shape[2] == 1:
        return image[:, :, 0]
    code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cv2.cvtColor(image, code)


def decode_file(path: Path | str) -> np.ndarray | None:
    """The image at ``path`` as stored (any depth and channels), or None if it cannot be decoded.

    >>> from matplotlib import cbook
    >>> decode_file(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).shape
    (600, 512, 3)
    >>> decode_file(__file__) is None         # not an image
    True
    """
    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size == 0:
        return None
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)


def read_face(path: Path | str, size: int) -> np.ndarray | None:
    """A face image file as ``size x size`` 8-bit grayscale, or None if it cannot be decoded.

    >>> from matplotlib import cbook
    >>> read_face(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), 48).shape
    (48, 48)
    """
    image = decode_file(path)
    if image is None:
        return None
    return resize_square(to_gray(image), size)


def resize_square(gray: np.ndarray, size: int) -> np.ndarray:
    """Resize to ``size x size``: area averaging when shrinking (no aliasing), bilinear when growing.

    >>> resize_square(np.zeros((120, 90), np.uint8), 48).shape
    (48, 48)
    """
    if gray.shape[:2] == (size, size):
        return gray
    shrinking = min(gray.shape[:2]) > size
    return cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
