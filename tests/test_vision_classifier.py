"""Face crops and the ONNX Runtime classifier: metadata contract, batching, mirroring, the shipped model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import FER2013, copy_fer_subset, require
from storemood.errors import UserError
from storemood.image_io import to_bgr, to_gray
from storemood.model_metadata import ModelInfo
from storemood.vision.classifier import EmotionClassifier
from storemood.vision.crop import DEFAULT_MARGIN, crop_faces, crop_matrix, eye_angle
from storemood.vision.detectors import create_detector
from vision_fixtures import linear_model, shipped_model


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def eyes_in_crop(faces, size: int, align: bool) -> np.ndarray:
    """Where the first face's eyes land in its crop."""
    angle = eye_angle(faces.landmarks[0]) if align else 0.0
    matrix = crop_matrix(faces.boxes[0], size, DEFAULT_MARGIN, angle)
    return cv2.transform(faces.landmarks[0][np.newaxis, :2], matrix)[0]


def test_alignment_levels_the_eyes_of_a_rolled_head(real_images):
    """The same real face rolled by 25 degrees: aligned, its eyes are level in the crop and the crop looks
    like the upright one; unaligned, neither."""
    image = cv2.imread(str(real_images / "single_face.jpg"))
    detector = create_detector()
    upright = detector.detect(image)
    center = tuple(float(v) for v in upright.centers[0])
    rotation = cv2.getRotationMatrix2D(center, 25, 1.0)
    rotated = cv2.warpAffine(image, rotation, image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
    tilted = detector.detect(rotated)
    (_, right_y), (_, left_y) = eyes_in_crop(tilted, 48, align=True)
    assert abs(right_y - left_y) < 1.5
    (_, right_y), (_, left_y) = eyes_in_crop(tilted, 48, align=False)
    assert abs(right_y - left_y) > 5  # eyes about 17 px apart, rolled 25 degrees
    reference = crop_faces(to_gray(image), upright, 48)[0]
    aligned = crop_faces(to_gray(rotated), tilted, 48, align=True)[0]
    unaligned = crop_faces(to_gray(rotated), tilted, 48, align=False)[0]
    assert correlation(reference, aligned) > correlation(reference, unaligned) + 0.2


def test_gray_conversion_of_rgba_and_16_bit(real_images):
    image = cv2.imread(str(real_images / "justin.jpg"))
    gray = to_gray(image)
    rgba = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    deep = image.astype(np.uint16) * 257
    assert np.array_equal(to_gray(rgba), gray)
    assert np.abs(to_gray(deep).astype(int) - gray).max() <= 1
    assert to_bgr(gray).shape == image.shape


def test_metadata_decides_size_classes_and_layout(tmp_path, real_images):
    image = cv2.imread(str(real_images / "multi_face.jpg"))
    faces = create_detector().detect(image)
    for info in (
        ModelInfo(classes=("sad", "happy", "neutral"), size=32),
        ModelInfo(classes=("happy", "surprise"), size=40, channels=3, layout="NCHW", mean=0.5, std=0.25),
    ):
        classifier = EmotionClassifier(linear_model(tmp_path / f"{info.size}.onnx", info))
        probabilities = classifier.classify_faces(image, faces)
        assert classifier.classes == info.classes
        assert probabilities.shape == (len(faces), len(info.classes))
        assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_batch_equals_one_by_one_and_mirroring_averages(tmp_path, real_images):
    image = cv2.imread(str(real_images / "multi_face.jpg"))
    faces = create_detector().detect(image)
    model = linear_model(tmp_path / "m.onnx", ModelInfo(classes=("happy", "sad", "neutral")))
    crops = crop_faces(to_gray(image), faces, 48)
    plain = EmotionClassifier(model, mirror=False)
    batch = plain.classify_crops(crops)
    single = np.concatenate([plain.classify_crops(crops[i : i + 1]) for i in range(len(crops))])
    assert np.allclose(batch, single, atol=1e-6)
    mirrored = EmotionClassifier(model).classify_crops(crops)  # mirroring by default, as every command does
    assert np.allclose(mirrored, (batch + plain.classify_crops(crops[:, :, ::-1])) / 2, atol=1e-6)
    assert not np.allclose(mirrored, batch, atol=1e-4)


def test_bad_models_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        EmotionClassifier(tmp_path / "missing.onnx")
    with pytest.raises(UserError, match="no 'storemood' metadata"):
        EmotionClassifier(linear_model(tmp_path / "plain.onnx", None))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(UserError, match="not a readable ONNX model"):
        EmotionClassifier(junk)


def test_shipped_model_reads_real_fer_faces(tmp_path):
    classifier = EmotionClassifier(shipped_model())
    root = copy_fer_subset(tmp_path / "val", "val", per_class=10, seed=1)
    crops, truth = [], []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(class_dir.glob("*.png")):
            crops.append(cv2.resize(cv2.imread(str(file), cv2.IMREAD_GRAYSCALE), (classifier.info.size,) * 2))
            truth.append(classifier.classes.index(class_dir.name))
    predicted = classifier.classify_crops(np.stack(crops)).argmax(axis=1)
    assert np.mean(predicted == np.array(truth)) > 0.4  # chance is 1/7


def test_shipped_model_reads_a_posed_smile_in_a_whole_photo(real_images):
    require(FER2013)
    classifier = EmotionClassifier(shipped_model())
    image = cv2.imread(str(real_images / "0-f15-hao-ph.jpg"))  # the README: posed happy
    probabilities = classifier.classify_faces(image, create_detector().detect(image))
    assert classifier.classes[int(probabilities[0].argmax())] == "happy"
