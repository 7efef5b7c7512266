"""Visits that match reality: storemood's tracker against ByteTrack on labelled store clips and the real videos.

Usage: ``python benchmarks/bench_visits.py [--seeds N] [--situation NAME ...] [--out DIR] [--no-real]
[--bytetrack-python PY]``. Run with ``PYTHONPATH=src`` from a checkout (or with storemood installed).

ByteTrack comes from ``supervision`` 0.27, the last release that ships it; it requires the GUI build of OpenCV,
which conflicts with storemood's ``opencv-python-headless``, so it runs in a benchmark-only environment::

    python -m venv .venv-bytetrack && .venv-bytetrack/bin/pip install supervision==0.27.0.post2

For every seed and situation (see ``benchmarks/visits/scenes.py``) a labelled clip is generated, then in the same
run:

* storemood's pipeline runs once through ``run_source`` with a sink that records every frame's faces: its
  tracker's ids are scored, and the same detections (boxes and scores) are handed to ByteTrack from
  ``supervision`` (its defaults, ``frame_rate`` set to the clip's), so both trackers see identical input;
* ``storemood run CLIP --store store.yaml --camera ID --db sqlite:///...`` then ``storemood report --by zone
  --format json`` give the visits per zone a user would read (storemood's own visit builder);
* for each tracker, visits are also counted from its tracks with the benchmark's visit rule
  (``benchmarks/visits/truth.py``), so the trackers compare on equal terms.

The real videos in ``../shared/data/real/videos`` have hand-counted people; for them the table gives the tracks
each tracker makes. Prints Markdown tables for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from machine import machine_and_date
from storemood.config import Zone
from storemood.pipeline.loop import run_source
from storemood.pipeline.options import RunOptions
from visits.generate import CAMERA, generate_clip
from visits.metrics import TrackedFrame, VisitScore, mot_accumulator, mot_summary, track_count
from visits.scenes import HEIGHT, SITUATIONS, WIDTH
from visits.truth import Truth, Visit, visits_from_observations, zone_at

if TYPE_CHECKING:
    from storemood.pipeline.frames import FrameResult

REAL_VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "videos"
#: People in each real video, counted by hand.
REAL_PEOPLE = {"single_face.mp4": 1, "test.mp4": 1, "face_noface.mov": 1, "no_face.mp4": 0}
#: Frame times start here, so stored visit times convert back to frame numbers.
START = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
#: The zones' inertia in the clips' store.yaml (storemood's default, which the layout leaves unset).
INERTIA = Zone.model_fields["inertia"].default
TRACKERS = ("storemood", "bytetrack")
BYTETRACK_RUNNER = Path(__file__).resolve().parent / "visits" / "bytetrack_runner.py"
BYTETRACK_PYTHON = Path(__file__).resolve().parents[1] / ".venv-bytetrack" / "bin" / "python"


@dataclass
class FaceRecorder:
    """Sink keeping every analysed frame's face boxes, detector scores and storemood track ids."""

    frames: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)

    def on_frame(self, result: FrameResult) -> None:
        faces = result.faces  # the first result of a frame: the closing one repeats the last frame with no faces
        self.frames.setdefault(result.index, (faces.boxes.copy(), faces.scores.copy(), faces.track_ids.copy()))

    def close(self) -> None:
        """Nothing to release."""

    def storemood_tracks(self) -> list[TrackedFrame]:
        """Per frame, ``(track_id, x, y, w, h)`` of each face as storemood's tracker labelled it."""
        return [
            [(int(i), *map(float, box)) for box, i in zip(self.frames[f][0], self.frames[f][2], strict=True) if i >= 0]
            for f in range(self.frame_count)
        ]

    @property
    def frame_count(self) -> int:
        return max(self.frames, default=-1) + 1


def bytetrack(recorder: FaceRecorder, fps: float, python: Path) -> list[TrackedFrame]:
    """ByteTrack on the detections storemood's detector made, run by ``python`` (the ByteTrack environment)."""
    frames = sorted(recorder.frames)
    with tempfile.TemporaryDirectory(prefix="bytetrack-") as folder:
        detections, tracks = Path(folder) / "detections.npz", Path(folder) / "tracks.json"
        np.savez(
            detections,
            frame=np.concatenate([np.full(len(recorder.frames[f][1]), f) for f in frames] or [np.zeros(0, int)]),
            boxes=np.concatenate([recorder.frames[f][0] for f in frames] or [np.zeros((0, 4))]).reshape(-1, 4),
            scores=np.concatenate([recorder.frames[f][1] for f in frames] or [np.zeros(0)]),
            frames=recorder.frame_count,
            fps=fps,
        )
        subprocess.run([str(python), str(BYTETRACK_RUNNER), str(detections), str(tracks)], check=True)
        return [[tuple(face) for face in frame] for frame in json.loads(tracks.read_text())]


def rule_visits(tracked: Sequence[TrackedFrame], truth: Truth) -> list[Visit]:
    """Visits from a tracker's tracks by the benchmark's visit rule, with storemood's zone inertia."""
    observations: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
    for frame, faces in enumerate(tracked):
        for track, x, y, w, h in faces:
            observations[track].append((frame, zone_at((x + w / 2) / WIDTH, (y + h / 2) / HEIGHT)))
    return visits_from_observations(observations, truth.fps, truth.min_dwell_s, INERTIA)


def storemood_cli(*args: str) -> str:
    """Run the storemood command line (this interpreter, this environment) and return its stdout."""
    done = subprocess.run([sys.executable, "-m", "storemood", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"storemood {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def cli_visits(video: Path, store: Path, fps: float) -> list[Visit]:
    """The visits ``storemood run`` stored, checked against ``report --by zone --format json``'s counts per zone.

    The report gives counts and medians only; the per-visit times (for the dwell error) are read from the
    SQLite ``events`` table the run wrote.
    """
    database = video.with_suffix(".db")
    database.unlink(missing_ok=True)  # a fresh database: an earlier run on the same folder must not count
    url = f"sqlite:///{database}"
    storemood_cli(
        "run",
        str(video),
        "--store",
        str(store),
        "--camera",
        CAMERA,
        "--db",
        url,
        "--quiet",
        "--start-time",
        START.isoformat(),
    )
    report = json.loads(storemood_cli("report", "--by", "zone", "--format", "json", "--db", url))
    per_zone = {row["zone"]: int(row["visits"]) for row in report["rows"] if row["visits"]}
    with sqlite3.connect(database) as connection:
        rows = connection.execute('SELECT track_id, zone, start, "end" FROM events').fetchall()
    visits = [Visit(track, zone, frame_at(start, fps), frame_at(end, fps)) for track, zone, start, end in rows]
    if Counter(visit.zone for visit in visits) != per_zone:
        raise RuntimeError(f"{video}: report counts {per_zone}, the events table {Counter(v.zone for v in visits)}")
    return visits


def frame_at(stored_time: str, fps: float) -> int:
    """The frame number of a time stored by SQLite (naive UTC text) in a run started at :data:`START`."""
    seconds = (datetime.fromisoformat(stored_time).replace(tzinfo=START.tzinfo) - START).total_seconds()
    return round(seconds * fps)


@dataclass
class Tally:
    """Everything measured for one situation (or all), per tracker."""

    accumulators: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    tracks: Counter = field(default_factory=Counter)
    persons: int = 0
    rule: dict[str, VisitScore] = field(default_factory=lambda: defaultdict(VisitScore))
    cli: VisitScore = field(default_factory=VisitScore)


def measure_clip(video: Path, store: Path, truth: Truth, tallies: Sequence[Tally], python: Path) -> None:
    """Run both trackers and the CLI on one clip and add the scores to every tally given."""
    recorder = FaceRecorder()
    run_source(video, RunOptions(progress=False), sinks=[recorder])
    outputs = {"storemood": recorder.storemood_tracks(), "bytetrack": bytetrack(recorder, truth.fps, python)}
    stored = cli_visits(video, store, truth.fps)
    for tally in tallies:
        tally.persons += truth.persons
        for name, tracked in outputs.items():
            tally.accumulators[name].append(mot_accumulator(truth, tracked))
            tally.tracks[name] += track_count(tracked)
            tally.rule[name].add(truth, rule_visits(tracked, truth))
        tally.cli.add(truth, stored)


def percent(share: float) -> str:
    """A share as a whole percentage; a dash where there was nothing to measure (NaN)."""
    return "–" if math.isnan(share) else f"{100 * share:.0f}%"


def dwell(score: VisitScore) -> str:
    """Median dwell error, and the share of truth visits off by more than 10% (or not counted)."""
    return f"{percent(score.median_dwell_error)} / {percent(score.dwell_off)}"


def table(tallies: dict[str, Tally]) -> str:
    """One row per situation and tracker."""
    lines = [
        "| situation | clips | people | tracker | MOTA | IDF1 | ID sw. | frag. | tracks/person | visits truth "
        "| visits (rule) | count error (rule) | dwell error median / >10% (rule) "
        "| visits `report` | count error `report` | exact clips `report` | dwell error median / >10% `report` |",
        "|" + "---|" * 17,
    ]
    for situation, tally in tallies.items():
        for name in TRACKERS:
            mot, rule = mot_summary(tally.accumulators[name]), tally.rule[name]
            cli = tally.cli if name == "storemood" else None
            cells = [
                situation, str(rule.clips), str(tally.persons), name, f"{mot['mota']:.3f}", f"{mot['idf1']:.3f}",
                f"{mot['num_switches']:.0f}", f"{mot['num_fragmentations']:.0f}",
                f"{tally.tracks[name] / tally.persons:.2f}", str(sum(rule.truth.values())),
                str(sum(rule.counted.values())), percent(rule.count_error), dwell(rule),
                str(sum(cli.counted.values())) if cli else "–", percent(cli.count_error) if cli else "–",
                f"{cli.exact_clips}/{cli.clips}" if cli else "–", dwell(cli) if cli else "–",
            ]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def real_videos_table(videos: Path, python: Path) -> str:
    """Tracks each tracker makes on the real videos, against the hand-counted people."""
    lines = ["| video | frames | people | storemood tracks | ByteTrack tracks |", "|---|---|---|---|---|"]
    for name, people in REAL_PEOPLE.items():
        recorder = FaceRecorder()
        summary = run_source(videos / name, RunOptions(progress=False), sinks=[recorder])
        tracks = [
            track_count(recorder.storemood_tracks()),
            track_count(bytetrack(recorder, video_fps(videos / name), python)),
        ]
        lines.append(f"| {name} | {summary.frames} | {people} | {tracks[0]} | {tracks[1]} |")
    return "\n".join(lines)


def video_fps(path: Path) -> float:
    """The frame rate a video file declares."""
    capture = cv2.VideoCapture(str(path))
    try:
        return float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="clips per situation (seeds 0..N-1)")
    parser.add_argument("--situation", nargs="*", choices=list(SITUATIONS), default=list(SITUATIONS))
    parser.add_argument("--out", type=Path, help="keep the generated clips here (default: a temporary folder)")
    parser.add_argument("--no-real", action="store_true", help="skip the real videos")
    parser.add_argument(
        "--bytetrack-python", type=Path, default=BYTETRACK_PYTHON, help="python of the environment with supervision"
    )
    args = parser.parse_args()
    if not args.bytetrack_python.exists():
        parser.error(
            f"{args.bytetrack_python} not found: python -m venv .venv-bytetrack && "
            ".venv-bytetrack/bin/pip install supervision==0.27.0.post2 (or pass --bytetrack-python)"
        )
    with tempfile.TemporaryDirectory(prefix="visits-bench-") as scratch:
        out = args.out or Path(scratch)
        tallies = {situation: Tally() for situation in args.situation}
        overall = Tally()
        for situation in args.situation:
            for seed in range(args.seeds):
                clip = generate_clip(situation, seed, out / f"{situation}-{seed}")
                measure_clip(clip.video, clip.store, clip.truth, [tallies[situation], overall], args.bytetrack_python)
                print(f"measured {situation} seed {seed}", file=sys.stderr)
        tallies["all"] = overall
        print(machine_and_date())
        print(f"Command: python benchmarks/bench_visits.py {' '.join(sys.argv[1:])}".rstrip())
        print()
        print(table(tallies))
        if not args.no_real:
            print()
            print(real_videos_table(REAL_VIDEOS, args.bytetrack_python))


if __name__ == "__main__":
    main()
