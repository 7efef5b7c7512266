"""Face crops as the emotion model wants them: square, with margin, eyes level, grayscale, resized.

One affine warp per face does the crop, the rotation and the resize at once, so a crop costs about as
much as a resize; pixels outside the frame repeat the border rather than turning black, which the model
never saw in training.

>>> import numpy as np
>>> from storemood.vision.faces import Faces
>>> gray = np.zeros((100, 100), np.uint8)
>>> faces = Faces(boxes=np.array([[30, 30, 40, 40]], np.float32), scores=np.ones(1, np.float32))
>>> crop_faces(gray, faces, size=48).shape
(1, 48, 48)
"""

from __future__ import annotations

import cv2
import numpy as np

from storemood.vision.faces import Faces

#: Extra context around the detector's box, as a fraction of its side: FER2013 crops show the whole face
#: with a little forehead and chin, a bit more than a tight detector box.
DEFAULT_MARGIN = 0.15


def eye_angle(landmarks: np.ndarray) -> float:
    """Roll of the face in degrees, from the line through the two eyes (landmark points 0 and 1)."""
    (right_x, right_y), (left_x, left_y) = landmarks[0], landmarks[1]
    return float(np.degrees(np.arctan2(left_y - right_y, left_x - right_x)))


def crop_matrix(box: np.ndarray, size: int, margin: float, angle: float) -> np.ndarray:
    """The 2x3 affine map from frame pixels to a ``size``-pixel square crop centred on ``box``."""
    x, y, width, height = (float(v) for v in box)
    side = max(width, height) * (1.0 + 2.0 * margin)
    center = (x + width / 2.0, y + height / 2.0)
    matrix = cv2.getRotationMatrix2D(center, angle, size / side)
    matrix[:, 2] += np.array([size / 2.0, size / 2.0]) - np.array(center)
    return matrix


def crop_faces(
    gray: np.ndarray, faces: Faces, size: int, margin: float = DEFAULT_MARGIN, align: bool = True
) -> np.ndarray:
    """``(N, size, size)`` uint8 crops of ``faces`` from a grayscale frame.

    With ``align`` and eye landmarks available, each crop is rotated so the eyes are level.
    """
    crops = np.empty((len(faces), size, size), np.uint8)
    for i, box in enumerate(faces.boxes):
        angle = eye_angle(faces.landmarks[i]) if align and faces.landmarks is not None else 0.0
        matrix = crop_matrix(box, size, margin, angle)
        crops[i] = cv2.warpAffine(gray, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    return crops
