"""Time per 640x480 frame of each face detector, one thread, on real photos.

Usage: ``python benchmarks/bench_detectors.py [--repeats N]``. Frames are the real photos of
``../shared/data/real/images`` letterboxed to 640x480 (faces and face-free alike). Prints a Markdown
table with the median milliseconds per frame and each detector's time relative to the default
(BlazeFace on LiteRT), all measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REAL_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "images"


def one_thread() -> None:
    """Pin this process to one core and every library to one thread, so figures compare per core."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cv2.setNumThreads(1)


def letterbox(image: np.ndarray, width: int = 640, height: int = 480) -> np.ndarray:
    """``image`` scaled to fit ``width`` x ``height`` and padded with black, aspect ratio kept."""
    scale = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    return canvas


def real_frames(folder: Path = REAL_IMAGES) -> list[np.ndarray]:
    if not folder.is_dir():
        raise SystemExit(f"{folder} is missing (the shared data folder is not beside the project)")
    return [letterbox(cv2.imread(str(path))) for path in sorted(folder.glob("*.jpg"))]


def median_ms(work: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``work()`` in milliseconds, after one warm-up call."""
    work()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def detectors() -> dict[str, object]:
    from storemood.vision.detectors import BlazeFaceDetector, MtcnnDetector

    return {
        "blazeface (LiteRT, default)": BlazeFaceDetector(threads=1, backend="litert"),
        "blazeface (cv2.dnn)": BlazeFaceDetector(threads=1, backend="opencv"),
        "mtcnn (cv2.dnn, min face 40)": MtcnnDetector(min_face=40, threads=1),
        "mtcnn (cv2.dnn, min face 20)": MtcnnDetector(min_face=20, threads=1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed passes over all frames (default: 5)")
    args = parser.parse_args()
    one_thread()
    frames = real_frames()
    rows = []
    for name, detector in detectors().items():
        per_pass = median_ms(lambda d=detector: [d.detect(frame) for frame in frames], args.repeats)
        rows.append((name, per_pass / len(frames)))
    baseline = rows[0][1]
    print(f"{len(frames)} real photos letterboxed to 640x480, one thread, median of {args.repeats} passes\n")
    print("| detector | ms per frame | relative to default |\n|---|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} | {ms / baseline:.1f}x |")


if __name__ == "__main__":
    main()
