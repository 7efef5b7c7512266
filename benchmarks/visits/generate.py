"""Render a situation into a labelled clip: ``clip.avi`` (640x480, 15 fps, MJPG), ``store.yaml`` and ``truth.json``.

Usage: ``python benchmarks/visits/generate.py OUT_DIR [--seed N] [--situation NAME ...]``. Everything comes
from the seed and the real photos in ``../shared/data/real/images``, so nothing generated is committed.

Shoppers are drawn far to near (a smaller face is farther away), the hanging sign over all of them. The
truth follows the drawing: a person's face box is visible when the person faces the camera and at least half
of the box shows that person (not a nearer shopper, the sign, or the outside of the frame).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: import visits.*

from visits.people import PORTRAITS, Sprite, load_sprite
from visits.scenes import FPS, HEIGHT, MIN_DWELL_S, SITUATIONS, WIDTH, ZONES, Pose, Scene, build_scene
from visits.truth import Truth, visits_from_observations, zone_at

REAL_IMAGES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real" / "images"
BACKGROUNDS = ["noface_landscape_1.jpg", "noface_landscape_2.jpg", "noface_landscape_3.jpg", "no-faces.jpg"]
CAMERA = "bench-cam"
#: Share of a face box that must show its own person for the face to count as visible.
VISIBLE_SHARE = 0.5
SIGN_OWNER = -2


@dataclass(frozen=True)
class Clip:
    """One generated clip on disk and its truth."""

    video: Path
    store: Path
    truth: Truth


def store_layout() -> dict:
    """The store.yaml of every clip: one camera, the two shelf zones, storemood's default dwell and inertia."""
    zones = [
        {"id": zone, "rect": list(rect), "product": {"sku": zone.upper(), "name": zone, "brand": "Bench"}}
        for zone, rect in ZONES.items()
    ]
    camera = {"id": CAMERA, "source": "clip.avi", "resolution": [WIDTH, HEIGHT], "fps": FPS, "zones": zones}
    return {
        "id": "visits-bench",
        "name": "Visits benchmark",
        "settings": {"min_dwell_s": MIN_DWELL_S},
        "cameras": [camera],
    }


def background(name: str, images: Path) -> np.ndarray:
    """A real face-free photo filling the upper wall, with a shelf of coloured packs drawn over the lower half."""
    photo = cv2.imread(str(images / name))
    if photo is None:
        raise FileNotFoundError(f"cannot read background {images / name}")
    scale = max(WIDTH / photo.shape[1], HEIGHT / photo.shape[0])
    photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = photo[:HEIGHT, :WIDTH].copy()
    rng = np.random.default_rng(len(name))
    cv2.rectangle(frame, (0, int(0.6 * HEIGHT)), (WIDTH, HEIGHT), (70, 80, 95), -1)
    for board in (0.6, 0.75, 0.9):
        top = int(board * HEIGHT)
        cv2.rectangle(frame, (0, top - 4), (WIDTH, top), (200, 200, 205), -1)
        x = 0
        while x < WIDTH:
            width, height = int(rng.integers(18, 44)), int(rng.integers(30, 60))
            colour = tuple(int(c) for c in rng.integers(40, 240, 3))
            cv2.rectangle(frame, (x, top - 4 - height), (x + width - 3, top - 5), colour, -1)
            x += width
    return frame


def draw_sign(frame: np.ndarray, owner: np.ndarray, sign: tuple[int, int, int, int]) -> None:
    """A hanging sale board, on cords from the ceiling, in front of everyone."""
    x, y, w, h = sign
    cv2.line(frame, (x + 10, 0), (x + 10, y), (30, 30, 30), 2)
    cv2.line(frame, (x + w - 10, 0), (x + w - 10, y), (30, 30, 30), 2)
    cv2.rectangle(frame, (x, y), (x + w, y + h), (20, 40, 210), -1)
    cv2.putText(frame, "SALE", (x + 8, y + h // 2), cv2.FONT_HERSHEY_DUPLEX, 0.9, (255, 255, 255), 2)
    owner[y : y + h, x : x + w] = SIGN_OWNER


def paste(frame: np.ndarray, owner: np.ndarray, sprite: Sprite, pose: Pose, person: int) -> None:
    """Alpha-blend one shopper into the frame with the face centre at the pose; mark the pixels they cover."""
    pixels, alpha, (offset_x, offset_y) = sprite.scaled(pose.side, pose.facing)
    left, top = round(pose.x - offset_x), round(pose.y - offset_y)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + alpha.shape[1], WIDTH), min(top + alpha.shape[0], HEIGHT)
    if x0 >= x1 or y0 >= y1:
        return
    a = alpha[y0 - top : y1 - top, x0 - left : x1 - left, np.newaxis]
    region = frame[y0:y1, x0:x1]
    region[:] = (region * (1 - a) + pixels[y0 - top : y1 - top, x0 - left : x1 - left] * a).astype(np.uint8)
    owner[y0:y1, x0:x1][a[..., 0] > 0.5] = person


def visible_box(owner: np.ndarray, pose: Pose, person: int) -> list[float] | None:
    """The face box clipped to the frame, if the face looks at the camera and at least half of it shows."""
    if pose.facing != "front":
        return None
    x, y, side = pose.x - pose.side / 2, pose.y - pose.side / 2, pose.side
    x0, y0 = max(round(x), 0), max(round(y), 0)
    x1, y1 = min(round(x + side), WIDTH), min(round(y + side), HEIGHT)
    if x0 >= x1 or y0 >= y1:
        return None
    shown = np.count_nonzero(owner[y0:y1, x0:x1] == person) / (side * side)
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)] if shown >= VISIBLE_SHARE else None


def render(scene: Scene, seed: int, video: Path, images: Path = REAL_IMAGES) -> Truth:
    """Write the scene's frames to ``video`` and return the per-frame truth."""
    sprites = {shopper.id: load_sprite(images / shopper.portrait) for shopper in scene.shoppers}
    wall = background(scene.background, images)
    noise = np.random.default_rng(seed).normal(0, 2.5, (4, HEIGHT, WIDTH, 3)).astype(np.int16)
    truth = Truth(scene.situation, seed, FPS, WIDTH, HEIGHT, len(scene.shoppers), MIN_DWELL_S)
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    try:
        for index in range(round(scene.seconds * FPS)):
            frame, owner = wall.copy(), np.full((HEIGHT, WIDTH), -1, np.int16)
            poses = {shopper.id: shopper.at(index / FPS) for shopper in scene.shoppers}
            present = {person: pose for person, pose in poses.items() if pose is not None}
            for person, pose in sorted(present.items(), key=lambda item: item[1].side):
                paste(frame, owner, sprites[person], pose, person)
            if scene.sign:
                draw_sign(frame, owner, scene.sign)
            boxes = ((person, visible_box(owner, pose, person)) for person, pose in present.items())
            truth.boxes.append([[person, *box] for person, box in boxes if box is not None])
            truth.zones.append(
                {
                    person: zone_at(pose.x / WIDTH, pose.y / HEIGHT)
                    for person, pose in present.items()
                    if 0 <= pose.x < WIDTH and 0 <= pose.y < HEIGHT
                }
            )
            writer.write(np.clip(frame + noise[index % 4], 0, 255).astype(np.uint8))
    finally:
        writer.release()
    truth.visits = truth_visits(truth)
    return truth


def truth_visits(truth: Truth) -> list:
    """The truth's visits: every person's stretches in a zone (seen or not) lasting ``min_dwell_s``."""
    observations: dict[int, list[tuple[int, str | None]]] = {}
    for frame, zones in enumerate(truth.zones):
        for person, zone in zones.items():
            observations.setdefault(person, []).append((frame, zone))
    return visits_from_observations(observations, truth.fps, truth.min_dwell_s)


def generate_clip(situation: str, seed: int, out_dir: Path, images: Path = REAL_IMAGES) -> Clip:
    """Generate one labelled clip of ``situation`` for ``seed`` in ``out_dir`` (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scene = build_scene(situation, seed, sorted(PORTRAITS), BACKGROUNDS)
    truth = render(scene, seed, out_dir / "clip.avi", images)
    truth.save(out_dir / "truth.json")
    store = out_dir / "store.yaml"
    store.write_text(yaml.safe_dump(store_layout(), sort_keys=False))
    return Clip(out_dir / "clip.avi", store, truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the clips (one sub-folder per clip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--situation", nargs="*", choices=list(SITUATIONS), default=list(SITUATIONS))
    args = parser.parse_args()
    for situation in args.situation:
        clip = generate_clip(situation, args.seed, args.out / f"{situation}-{args.seed}")
        visits = ", ".join(f"{v.zone} {v.dwell(FPS):.1f}s (person {v.track})" for v in clip.truth.visits)
        print(f"{clip.video}: {clip.truth.frames} frames, {clip.truth.persons} people; visits: {visits}")


if __name__ == "__main__":
    main()
