"""Head pose from the detector's landmarks, and the stage that decides which faces can be read.

An expression model trained on frontal faces guesses on a face turned 60 degrees to the shelf or one
20 pixels tall. Such a guess would still be averaged into the visit and the product's shares, so the
classifier reads only the faces this stage marks ``readable``: yaw and pitch within limits, and a face side
of at least ``min_side`` pixels. The others keep their track and their visit (dwell counts them), but add
no reading; a visit whose face was never readable is stored with no emotion at all.

Pose comes from four landmarks that both detectors give (the two eye centres, the nose tip, and the mouth:
BlazeFace's mouth centre or the mean of MTCNN's corners), fitted to a generic 3D face with OpenCV's
``solvePnP`` (SQPnP, which needs no initial guess and finds the global optimum from 3 points up). The
camera is modelled as a pinhole with a focal length of the frame's larger side, a usual wide-angle
assumption; a few degrees of error from it matter little against limits of 30 degrees.

>>> import cv2
>>> from skimage import data
>>> from storemood.vision.detectors import create_detector
>>> photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
>>> faces = create_detector("blazeface").detect(photo)
>>> yaw, pitch = head_pose(faces.landmarks, photo.shape[:2])
>>> bool(abs(yaw[0]) < 20 and abs(pitch[0]) < 20)      # a portrait facing the camera
True
>>> yaw_mirrored, _ = head_pose(mirror_landmarks(faces.landmarks, photo.shape[1]), photo.shape[:2])
>>> bool(abs(yaw_mirrored[0] + yaw[0]) < 1.0)          # the mirror image turns the other way
True
"""

from __future__ import annotations

import cv2
import numpy as np

from storemood import defaults
from storemood.vision.faces import Faces
from storemood.vision.stage import FrameLike

#: A generic adult face in millimetres (x to the subject's left as seen in the image, y down, z away from
#: the camera): eye centres 63 mm apart, the nose tip 45 mm below them and 30 mm in front, the mouth centre
#: 70 mm below them and 10 mm in front. Anthropometric means; individual faces differ by a few millimetres,
#: which moves the estimate by a few degrees.
FACE_MODEL = np.array(
    [
        [-31.5, 0.0, 0.0],  # image-left eye (the subject's right)
        [31.5, 0.0, 0.0],  # image-right eye
        [0.0, 38.0, -30.0],  # nose tip
        [0.0, 68.0, -10.0],  # mouth centre
    ],
    np.float64,
)


def pose_points(landmarks: np.ndarray) -> np.ndarray:
    """``(N, 4, 2)``: eyes, nose tip and mouth centre from either detector's landmarks.

    BlazeFace gives 6 points (eyes, nose tip, mouth centre, ear tragions), MTCNN 5 (eyes, nose tip, mouth
    corners); both list the image-left eye first.
    """
    mouth = landmarks[:, 3] if landmarks.shape[1] == 6 else landmarks[:, 3:5].mean(axis=1)
    return np.concatenate([landmarks[:, :3], mouth[:, np.newaxis]], axis=1)


def head_pose(landmarks: np.ndarray, frame_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Yaw and pitch in degrees, ``(N,)`` each, for ``(N, K, 2)`` landmarks in a frame of ``(height, width)``.

    Yaw is positive when the face turns towards the image's right, pitch positive when it tilts down;
    0 and 0 is a face looking straight into the camera. In-plane roll does not change either.
    """
    height, width = frame_shape
    focal = float(max(height, width))
    camera = np.array([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]])
    yaw = np.zeros(len(landmarks), np.float32)
    pitch = np.zeros(len(landmarks), np.float32)
    for index, points in enumerate(np.ascontiguousarray(pose_points(landmarks), np.float64)):
        found, rotation, translation = cv2.solvePnP(FACE_MODEL, points, camera, None, flags=cv2.SOLVEPNP_SQPNP)
        if found:
            yaw[index], pitch[index] = _yaw_pitch(cv2.Rodrigues(rotation)[0], translation.ravel())
    return yaw, pitch


def _yaw_pitch(rotation: np.ndarray, translation: np.ndarray) -> tuple[float, float]:
    """How far the face's forward direction (-z in the model) turns away from the line to the camera, about
    the vertical (yaw) and the horizontal (pitch) axis: a face at the frame's edge that looks into the lens
    is frontal, though it does not look along the optical axis."""
    forward = rotation @ np.array([0.0, 0.0, -1.0])
    to_camera = -translation
    yaw = np.arctan2(forward[0], -forward[2]) - np.arctan2(to_camera[0], -to_camera[2])
    pitch = np.arctan2(forward[1], np.hypot(forward[0], forward[2])) - np.arctan2(
        to_camera[1], np.hypot(to_camera[0], to_camera[2])
    )
    return float(np.degrees(yaw)), float(np.degrees(pitch))


def mirror_landmarks(landmarks: np.ndarray, width: int) -> np.ndarray:
    """The landmarks of the horizontally mirrored frame, image-left eye first again (for tests and docs)."""
    mirrored = landmarks.copy()
    mirrored[..., 0] = width - 1 - mirrored[..., 0]
    order = list(range(landmarks.shape[1]))
    order[0], order[1] = 1, 0
    if landmarks.shape[1] == 5:
        order[3], order[4] = 4, 3
    elif landmarks.shape[1] == 6:
        order[4], order[5] = 5, 4
    return mirrored[:, order]


class ReadableFaces:
    """The stage before the classifier: marks which faces are frontal and large enough to read.

    Faces without landmarks (a detector that gives none) are judged by size only.
    """

    def __init__(
        self,
        max_yaw: float = defaults.MAX_YAW,
        max_pitch: float = defaults.MAX_PITCH,
        min_side: float = defaults.READ_MIN_FACE,
    ) -> None:
        self.max_yaw = max_yaw
        self.max_pitch = max_pitch
        self.min_side = min_side

    def update(self, faces: Faces, frame: FrameLike) -> Faces:
        """The faces with ``readable`` set."""
        readable = faces.sizes >= self.min_side
        if faces.landmarks is not None and len(faces):
            yaw, pitch = head_pose(faces.landmarks, frame.image.shape[:2])
            readable &= (np.abs(yaw) <= self.max_yaw) & (np.abs(pitch) <= self.max_pitch)
        return faces.with_(readable=readable)
