"""The emotion classifier at run time: an ONNX model run by ONNX Runtime, all faces of a frame in one batch.

The model describes itself in its ONNX metadata (``storemood.model_metadata.ModelInfo`` under the key
``storemood``): class names and order, input size, channels, layout and normalisation. Nothing about the
model is hard-coded here, so a retrained model with a different input size or class set just works.

Classifying is the most expensive step per face, so in the frame pipeline :class:`ScheduledClassifier`
(the classifier's stage) reads each track only as often as its :class:`ClassificationSchedule` says (new
tracks at once); the smoother carries the value in between.

>>> import cv2
>>> from skimage import data
>>> from storemood.vision.detectors import create_detector
>>> photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
>>> faces = create_detector("blazeface").detect(photo)
>>> classifier = EmotionClassifier()                  # the shipped model
>>> probabilities = classifier.classify_faces(photo, faces)
>>> probabilities.shape, classifier.classes[probabilities[0].argmax()]
((1, 7), 'happy')
>>> from types import SimpleNamespace
>>> stage = ScheduledClassifier(classifier, ClassificationSchedule(rate=5.0))
>>> tracked = faces.with_(track_ids=faces.track_ids + 2)     # as the tracker would (id 1)
>>> stage.update(tracked, SimpleNamespace(image=photo, seconds=0.0)).classified.tolist()
[True]
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from storemood import defaults
from storemood.errors import UserError
from storemood.image_io import to_gray
from storemood.model_metadata import METADATA_KEY, ModelInfo
from storemood.paths import DEFAULT_MODEL
from storemood.vision.crop import crop_faces
from storemood.vision.faces import Faces
from storemood.vision.stage import FrameLike


def load_session(path: Path, threads: int):
    """An ONNX Runtime session for ``path`` on the CPU with ``threads`` threads, or a UserError."""
    import onnxruntime as ort

    if not path.is_file():
        raise UserError(f"model file {path} does not exist")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for unreadable models
        raise UserError(f"{path} is not a readable ONNX model ({type(error).__name__})") from error


def model_info(session, path: Path) -> ModelInfo:
    """The model's self-description from its ONNX metadata, or a UserError when it has none."""
    metadata = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in metadata:
        raise UserError(f"{path} has no '{METADATA_KEY}' metadata (class names, input size); not a storemood model")
    try:
        return ModelInfo.from_json(metadata[METADATA_KEY])
    except (ValueError, TypeError, KeyError) as error:
        raise UserError(f"{path} has malformed '{METADATA_KEY}' metadata: {error}") from error


class EmotionClassifier:
    """Emotion probabilities for face crops, in the model's class order (``self.classes``).

    Args:
        model: path of the ONNX model; the shipped one when None.
        threads: ONNX Runtime intra-op threads.
        mirror: test-time mirroring: average the output for each face and its mirror image (twice the work).
        calibrated: apply the temperature the model's metadata carries (see ``ModelInfo.calibrate``), so that
            every probability storemood produces, stores and averages is calibrated; off only to fit it.
    """

    def __init__(
        self, model: Path | None = None, threads: int = 1, mirror: bool = defaults.MIRROR, calibrated: bool = True
    ) -> None:
        self.path = Path(model) if model is not None else DEFAULT_MODEL
        self.session = load_session(self.path, threads)
        self.info = model_info(self.session, self.path)
        self.classes: tuple[str, ...] = self.info.classes
        self.input_name = self.session.get_inputs()[0].name
        self.mirror = mirror
        self.calibrated = calibrated

    def classify_faces(self, image: np.ndarray, faces: Faces) -> np.ndarray:
        """``(N, C)`` probabilities for the faces of one frame (BGR, BGRA, gray or 16-bit), one batch."""
        if len(faces) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        return self.classify_crops(crop_faces(to_gray(image), faces, self.info.size))

    def classify_crops(self, crops: np.ndarray) -> np.ndarray:
        """``(N, C)`` probabilities for ``(N, size, size)`` grayscale crops (uint8, or float pixel values 0-255)."""
        if self.mirror:
            both = self._run(np.concatenate([crops, crops[:, :, ::-1]]))
            probabilities = (both[: len(crops)] + both[len(crops) :]) / 2.0
        else:
            probabilities = self._run(crops)
        return self.info.calibrate(probabilities) if self.calibrated else probabilities

    def _run(self, crops: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: self._tensor(crops)})[0].astype(np.float32)

    def _tensor(self, crops: np.ndarray) -> np.ndarray:
        """Normalise ``(p/255 - mean)/std`` and shape the batch as the metadata says (NHWC or NCHW)."""
        tensor = (crops.astype(np.float32) / 255.0 - self.info.mean) / self.info.std
        tensor = np.repeat(tensor[..., np.newaxis], self.info.channels, axis=-1)
        return tensor.transpose(0, 3, 1, 2) if self.info.layout.upper() == "NCHW" else tensor


class ClassificationSchedule:
    """Which tracks are due for a new emotion reading: new ones at once, then ``rate`` times per second.

    ``rate`` 0 means every face on every frame.
    """

    def __init__(self, rate: float = 5.0) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.last: dict[int, float] = {}

    def due(self, track_ids: np.ndarray, now: float) -> np.ndarray:
        """Boolean mask of the faces to classify now; marks them as classified at ``now``."""
        mask = np.array(
            [now - self.last.get(track_id, -np.inf) >= self.interval for track_id in track_ids.tolist()], bool
        )
        for track_id in track_ids[mask].tolist():
            self.last[track_id] = now
        return mask

    def forget(self, track_ids: Iterable[int]) -> None:
        """Drop ended tracks (a later track never reuses an id, so this only frees memory)."""
        for track_id in track_ids:
            self.last.pop(track_id, None)


class ScheduledClassifier:
    """The classifier's pipeline stage: reads the readable faces that are due, leaves the others' rows NaN.

    Sets ``probabilities`` (raw readings, for the smoother) and ``classified`` (which faces were read). A
    face that is not readable (turned away, too small) is not due: it is read as soon as it turns back.
    """

    def __init__(self, classifier: EmotionClassifier, schedule: ClassificationSchedule) -> None:
        self.classifier = classifier
        self.schedule = schedule

    def update(self, faces: Faces, frame: FrameLike) -> Faces:
        """The tracked faces with this frame's readings; ended tracks leave the schedule."""
        self.schedule.forget(faces.ended_tracks)
        due = np.zeros(len(faces), bool)
        due[faces.readable] = self.schedule.due(faces.track_ids[faces.readable], frame.seconds)
        readings = np.full((len(faces), len(self.classifier.classes)), np.nan, np.float32)
        if due.any():
            readings[due] = self.classifier.classify_faces(frame.image, faces.select(due))
        return faces.with_(probabilities=readings, classified=due)
