"""How the shipped model's accuracy falls as faces get small: the measurement behind ``classify.read_min_face``.

A face the detector boxes at ``side`` pixels is cropped with the runtime's 15% margin on each side, so the
model sees ``1.3 * side`` pixels of the frame resized to its 48 px input: from 37 px down, it sees an upscaled,
blurred face. This takes each FER2013 validation face (48 px, tightly cropped like the runtime's crop),
shrinks it to what a face of ``side`` pixels would give (area-averaged, as a camera's sensor does) and
scales it back up to 48 px as the runtime's affine crop does (bilinear), then measures accuracy with the
runtime's classifier (mirroring on, calibrated), beside the untouched faces in the same run.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_readability.py [--data ../shared/data/fer2013/val]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from storemood.data.folders import load_folder
from storemood.emotions import FER7
from storemood.vision.classifier import EmotionClassifier
from storemood.vision.crop import DEFAULT_MARGIN

ROOT = Path(__file__).resolve().parents[1]
SIDES = (16, 20, 24, 28, 32, 40, 48)


def as_if_seen_at(images: np.ndarray, side: int, size: int) -> np.ndarray:
    """The faces as the model would get them from a face boxed at ``side`` px (unchanged from 37 px up)."""
    crop = round(side * (1 + 2 * DEFAULT_MARGIN))
    if crop >= size:
        return images
    small = [cv2.resize(image, (crop, crop), interpolation=cv2.INTER_AREA) for image in images]
    return np.stack([cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR) for image in small])


def accuracy(classifier: EmotionClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    predictions = np.concatenate(
        [classifier.classify_crops(images[start : start + 256]).argmax(axis=1) for start in range(0, len(images), 256)]
    )
    return float((predictions == labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "fer2013" / "val")
    args = parser.parse_args()
    classifier = EmotionClassifier(threads=1)
    faces = load_folder(args.data, FER7, size=classifier.info.size)
    labels = faces.targets.argmax(axis=1)
    print(f"{len(labels)} FER2013 validation faces; shipped model, mirrored, one thread\n")
    print("| face side (px) | model input | accuracy | change |")
    print("|---|---|---|---|")
    full = accuracy(classifier, faces.images, labels)
    for side in SIDES:
        crop = round(side * (1 + 2 * DEFAULT_MARGIN))
        seen = "native" if crop >= classifier.info.size else f"{crop} px upscaled"
        value = accuracy(classifier, as_if_seen_at(faces.images, side, classifier.info.size), labels)
        print(f"| {side} | {seen} | {value:.1%} | {100 * (value - full):+.1f} pts |")


if __name__ == "__main__":
    main()
