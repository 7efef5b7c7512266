"""Recall and false positives of each face detector on real faces.

Usage: ``python benchmarks/detection_quality.py [--sheet PNG]``. Two labelled sets, built here from
``../shared/data`` at run time and never committed:

* real photos: ``real/images`` with the face counts of its README (checked by eye: ``--sheet`` renders every
  photo with the default detector's boxes so they can be checked again);
* pasted faces: real FER2013 face crops pasted at known positions and sizes (24 to 128 px) into real
  face-free photos, 640x480. A detection finds a pasted face when its centre lies inside the pasted square
  and its side is 0.3 to 1.5 times the square's; every other detection is a false positive.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import cv2
import numpy as np

from bench_detectors import REAL_IMAGES, letterbox

FER_TRAIN = REAL_IMAGES.parents[1] / "fer2013" / "train"
#: Face counts from ../shared/data/real/README.md (the face-free photos count 0).
FACE_COUNTS = {
    "multi_face.jpg": 5,
    "single_face.jpg": 1,
    "justin.jpg": 1,
    "wujie_1.jpg": 1,
    "wujie_2.jpg": 1,
    "0-f1-su-ph.jpg": 1,
    "0-f15-hao-ph.jpg": 1,
    "BWPictureHuman.jpg": 1,
    "deepface_couple.jpg": 2,
    "deepface_selfie-many-people.jpg": 7,
    **{f"deepface_img{i}.jpg": 1 for i in range(1, 13)},
    "free-mountain-vector-01.jpg": 0,
    "no-faces.jpg": 0,
    **{f"noface_landscape_{i}.jpg": 0 for i in (1, 2, 3)},
}
PASTE_SIDES = (24, 32, 40, 48, 64, 80, 96, 112, 128)
BACKGROUNDS = (
    "noface_landscape_1.jpg",
    "noface_landscape_2.jpg",
    "noface_landscape_3.jpg",
    "free-mountain-vector-01.jpg",
)


def pasted_scenes(seed: int = 0) -> list[tuple[np.ndarray, list[tuple[int, int, int]]]]:
    """Face-free 640x480 photos with real FER faces pasted in a 3x3 grid: (image, [(x, y, side)])."""
    rng = random.Random(seed)
    faces = sorted(FER_TRAIN.glob("*/*.png"))
    scenes = []
    for background in BACKGROUNDS:
        for _ in range(2):
            image = letterbox(cv2.imread(str(REAL_IMAGES / background)))
            sides = list(PASTE_SIDES)
            rng.shuffle(sides)
            boxes = []
            for cell, side in enumerate(sides):
                x = 20 + (cell % 3) * 210 + rng.randint(0, 200 - side)
                y = 15 + (cell // 3) * 155 + rng.randint(0, 150 - side)
                face = cv2.imread(str(rng.choice(faces)), cv2.IMREAD_GRAYSCALE)
                image[y : y + side, x : x + side] = cv2.cvtColor(cv2.resize(face, (side, side)), cv2.COLOR_GRAY2BGR)
                boxes.append((x, y, side))
            scenes.append((image, boxes))
    return scenes


def matches(found: np.ndarray, pasted: list[tuple[int, int, int]]) -> int:
    """How many pasted squares a detection (centre inside, plausible size) claims, each at most once."""
    claimed = set()
    for x, y, width, height in found:
        cx, cy, side = x + width / 2, y + height / 2, (width + height) / 2
        for index, (px, py, ps) in enumerate(pasted):
            if index not in claimed and px <= cx <= px + ps and py <= cy <= py + ps and 0.3 <= side / ps <= 1.5:
                claimed.add(index)
                break
    return len(claimed)


def score_real(detector) -> dict[str, int]:
    found = faces = extra = false_on_empty = 0
    for name, count in FACE_COUNTS.items():
        detected = len(detector.detect(cv2.imread(str(REAL_IMAGES / name))))
        faces += count
        found += min(detected, count)
        extra += max(detected - count, 0) if count else 0
        false_on_empty += detected if count == 0 else 0
    return {"found": found, "faces": faces, "extra": extra, "false_on_empty": false_on_empty}


def score_pasted(detector, scenes) -> dict[str, int]:
    found = total = false = 0
    small_found = small_total = 0
    for image, pasted in scenes:
        boxes = detector.detect(image).boxes
        hits = matches(boxes, pasted)
        found, total, false = found + hits, total + len(pasted), false + len(boxes) - hits
        small = [box for box in pasted if box[2] < 48]
        small_found += matches(boxes, small)
        small_total += len(small)
    return {"found": found, "total": total, "false": false, "small_found": small_found, "small_total": small_total}


def render_sheet(path: Path, detector) -> None:
    """Every real photo with its detections drawn, 4 to a row, for checking the counts by eye."""
    tiles = []
    for name, count in FACE_COUNTS.items():
        image = cv2.imread(str(REAL_IMAGES / name))
        for x, y, width, height in detector.detect(image).boxes.astype(int):
            cv2.rectangle(image, (x, y), (x + width, y + height), (0, 255, 0), max(2, image.shape[1] // 200))
        tile = letterbox(image, 320, 240)
        cv2.putText(tile, f"{name[:28]} ({count})", (4, 232), 0, 0.4, (0, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 4)
    cv2.imwrite(str(path), np.vstack([np.hstack(tiles[i : i + 4]) for i in range(0, len(tiles), 4)]))


def main() -> None:
    from storemood.vision.detectors import create_detector

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheet", type=Path, help="write the real photos with the default detector's boxes here")
    args = parser.parse_args()
    if not FER_TRAIN.is_dir():
        raise SystemExit(f"{FER_TRAIN} is missing (the shared data folder is not beside the project)")
    scenes = pasted_scenes()
    detectors = {
        "blazeface": create_detector("blazeface"),
        "blazeface (min face 20)": create_detector("blazeface", min_face=20),
        "mtcnn (min face 40)": create_detector("mtcnn"),
        "mtcnn (min face 20)": create_detector("mtcnn", min_face=20),
    }
    print(
        "| detector | real faces found | extra boxes on face photos | false positives on face-free photos "
        "| pasted faces found | of them under 48 px | false positives in pasted scenes |\n|---|---|---|---|---|---|---|"
    )
    for name, detector in detectors.items():
        real, pasted = score_real(detector), score_pasted(detector, scenes)
        print(
            f"| {name} | {real['found']}/{real['faces']} | {real['extra']} | {real['false_on_empty']} "
            f"| {pasted['found']}/{pasted['total']} | {pasted['small_found']}/{pasted['small_total']} "
            f"| {pasted['false']} |"
        )
    if args.sheet:
        render_sheet(args.sheet, detectors["blazeface"])


if __name__ == "__main__":
    main()
