"""Faces and emotions in still images (``storemood detect``).

Images are read as they are stored (``IMREAD_UNCHANGED``), so grayscale, RGBA and 16-bit files work:
they are brought to 8-bit BGR for the detector, and the classifier reads its crops from the grayscale
version of the same pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from storemood import image_io
from storemood.errors import UserError
from storemood.vision.classifier import EmotionClassifier
from storemood.vision.detectors import Detector
from storemood.vision.faces import Faces


def check_images_exist(paths: Sequence[Path]) -> None:
    """A UserError naming the first missing image, before any model is loaded."""
    for path in paths:
        if not Path(path).is_file():
            raise UserError(f"image {path} does not exist")


def read_image(path: Path) -> np.ndarray:
    """The image at ``path`` as 8-bit BGR, or a UserError when it is missing or not an image.

    >>> read_image(Path("no-such-photo.jpg"))
    Traceback (most recent call last):
    storemood.errors.UserError: image no-such-photo.jpg does not exist
    """
    check_images_exist([path])
    image = image_io.decode_file(path)
    if image is None or image.size == 0:
        raise UserError(f"cannot read {path} as an image")
    return image_io.to_bgr(image)


@dataclass(frozen=True)
class ImageFaces:
    """The faces of one image with their emotion probabilities (rows in ``classes`` order)."""

    path: Path | None  # None for an image given as an array
    image: np.ndarray
    faces: Faces
    classes: tuple[str, ...]

    def to_dict(self) -> dict:
        """The ``storemood detect --json`` entry for this image."""
        return {"image": str(self.path), "faces": self.faces_as_dicts()}

    def faces_as_dicts(self) -> list[dict]:
        """One dict per face: box, score, landmarks, emotion, probabilities (``storemood.analyze``'s answer)."""
        return [self._face(row) for row in range(len(self.faces))]

    def describe(self) -> str:
        """One line per face for the terminal."""
        lines = [f"{self.path}: {len(self.faces)} face(s)"]
        for face in self.to_dict()["faces"]:
            x, y, width, height = face["box"]
            confidence = face["probabilities"][face["emotion"]]
            lines.append(
                f"  {face['emotion']:<8} {confidence:.2f}  box x={x:g} y={y:g} w={width:g} h={height:g}"
                f"  detector score {face['score']:.2f}"
            )
        return "\n".join(lines)

    def _face(self, row: int) -> dict:
        scores = self.faces.probabilities[row]
        x, y, width, height = (round(float(v), 1) for v in self.faces.boxes[row])
        landmarks = self.faces.landmarks
        return {
            "box": [x, y, width, height],
            "score": round(float(self.faces.scores[row]), 4),
            "landmarks": [] if landmarks is None else [[round(float(v), 1) for v in point] for point in landmarks[row]],
            "emotion": self.classes[int(np.argmax(scores))],
            "probabilities": {name: round(float(p), 4) for name, p in zip(self.classes, scores, strict=True)},
        }


def analyse_image(path: Path, detector: Detector, classifier: EmotionClassifier) -> ImageFaces:
    """Detect the faces of one image file and classify them all in one batch.

    >>> from matplotlib import cbook
    >>> from storemood.vision.detectors import create_detector
    >>> photo = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    >>> found = analyse_image(photo, create_detector(), EmotionClassifier())
    >>> len(found.faces), found.to_dict()["faces"][0]["emotion"]
    (1, 'neutral')
    """
    return analyse_array(read_image(path), detector, classifier, Path(path))


def analyse_array(
    image: np.ndarray, detector: Detector, classifier: EmotionClassifier, path: Path | None = None
) -> ImageFaces:
    """Detect the faces of one 8-bit BGR image and classify them all in one batch."""
    faces = detector.detect(image)
    faces = faces.with_(probabilities=classifier.classify_faces(image, faces))
    return ImageFaces(path, image, faces, classifier.classes)
