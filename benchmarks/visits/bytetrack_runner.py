"""ByteTrack from ``supervision`` on recorded detections; runs in its own benchmark-only virtual environment.

Usage: ``BYTETRACK_PYTHON bytetrack_runner.py DETECTIONS.npz TRACKS.json``. The input holds every detection of
a clip (``frame``, ``boxes`` as x, y, w, h, ``scores``) and the clip's ``frames`` and ``fps``; the output is, per
frame, ``[track_id, x, y, w, h]`` of each face ByteTrack reports. Only numpy and supervision are imported here:
supervision's ByteTrack (last shipped in 0.27) requires the GUI build of OpenCV, which conflicts with storemood's
``opencv-python-headless``, so it lives in a separate environment (see benchmarks/RESULTS.md).
"""

import json
import sys

import numpy as np
import supervision as sv


def track(detections: dict) -> list[list[list[float]]]:
    """ByteTrack with its default settings, the frame rate set to the clip's."""
    tracker = sv.ByteTrack(frame_rate=round(float(detections["fps"])))
    tracked = []
    for frame in range(int(detections["frames"])):
        rows = detections["frame"] == frame
        boxes, scores = detections["boxes"][rows], detections["scores"][rows]
        xyxy = np.column_stack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]]).reshape(-1, 4).astype(np.float32)
        found = tracker.update_with_detections(
            sv.Detections(xyxy=xyxy, confidence=scores.astype(np.float32), class_id=np.zeros(len(boxes), int))
        )
        tracked.append(
            [
                [int(i), float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
                for (x0, y0, x1, y1), i in zip(found.xyxy, found.tracker_id, strict=True)
            ]
        )
    return tracked


if __name__ == "__main__":
    source, target = sys.argv[1:3]
    with open(target, "w") as out:
        json.dump(track(dict(np.load(source))), out)
