"""The outcome of a run: per-track summaries and :class:`RunSummary` (``storemood run --json``).

The summary is for the terminal and the caller only: it is never stored (visits are what is stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from storemood.pipeline.frames import FrameResult


@dataclass
class TrackSummary:
    """What one track looked like over the run (for the summary, never stored)."""

    id: int
    first: datetime
    last: datetime | None = None
    frames: int = 0
    probability_sum: np.ndarray | None = None

    @property
    def seconds(self) -> float:
        """Time from the first to the last frame the face was seen."""
        return ((self.last or self.first) - self.first).total_seconds()

    def add(self, timestamp: datetime, probabilities: np.ndarray) -> None:
        self.last = timestamp
        self.frames += 1
        if not np.isnan(probabilities).any():
            self.probability_sum = probabilities + (0 if self.probability_sum is None else self.probability_sum)

    def probabilities(self, classes: tuple[str, ...]) -> dict[str, float]:
        """Mean smoothed probability of each emotion over the track (empty if never classified)."""
        if self.probability_sum is None:
            return {}
        mean = self.probability_sum / self.probability_sum.sum()
        return {name: round(float(p), 4) for name, p in zip(classes, mean, strict=True)}

    def to_dict(self, classes: tuple[str, ...]) -> dict:
        probabilities = self.probabilities(classes)
        dominant = max(probabilities, key=probabilities.__getitem__) if probabilities else None
        return {
            "id": self.id,
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "dominant_emotion": dominant,
            "probabilities": probabilities,
        }


class SummarySink:
    """Counts faces and classifier readings, and accumulates each track's smoothed probabilities."""

    def __init__(self, classes: tuple[str, ...]) -> None:
        self.classes = classes
        self.faces = 0
        self.classified_faces = 0
        self.analysed_frames = 0
        self.tracks: dict[int, TrackSummary] = {}

    def on_frame(self, result: FrameResult) -> None:
        if result.image is None:  # the closing result carries no frame
            return
        self.analysed_frames += 1
        self.faces += len(result.faces)
        self.classified_faces += int(result.faces.classified.sum())
        faces = result.faces
        unread = np.full(len(self.classes), np.nan)
        for row, track_id in enumerate(faces.track_ids.tolist()):
            track = self.tracks.setdefault(track_id, TrackSummary(track_id, result.timestamp))
            readable = faces.probabilities is not None and faces.readable[row]  # as visits count their reading
            track.add(result.timestamp, faces.probabilities[row] if readable else unread)

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class RunSummary:
    """The outcome of a run; ``to_dict()`` is the ``storemood run --json`` object."""

    source: str
    frames: int
    analysed_frames: int
    faces: int
    classified_faces: int
    seconds: float
    skipped_frames: int
    dropped_frames: int
    reconnects: int
    interrupted: bool
    classes: tuple[str, ...]
    tracks: list[TrackSummary]
    source_lost: bool = False  # a live source dropped and could not be reopened: the run did not finish

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "frames": self.frames,
            "analysed_frames": self.analysed_frames,
            "faces": self.faces,
            "classified_faces": self.classified_faces,
            "fps": round(self.fps, 2),
            "seconds": round(self.seconds, 3),
            "tracks": [track.to_dict(self.classes) for track in self.tracks],
            "skipped_frames": self.skipped_frames,
            "dropped_frames": self.dropped_frames,
            "reconnects": self.reconnects,
            "interrupted": self.interrupted,
            "source_lost": self.source_lost,
        }

    def describe(self) -> str:
        """A few lines for the terminal: throughput, counts, and each track's main emotions."""
        lines = [
            f"{self.frames} frames in {self.seconds:.2f} s ({self.fps:.0f} fps): {self.faces} face detections, "
            f"{len(self.tracks)} tracks, {self.classified_faces} face classifications"
            + (f", {self.skipped_frames} corrupt frames skipped" if self.skipped_frames else "")
            + (f", {self.dropped_frames} frames dropped to keep up" if self.dropped_frames else "")
            + (" (interrupted)" if self.interrupted else "")
        ]
        for track in self.tracks:
            info = track.to_dict(self.classes)
            top = sorted(info["probabilities"].items(), key=lambda item: -item[1])[:3]
            shares = ", ".join(f"{name} {p:.2f}" for name, p in top)
            lines.append(f"  track {track.id}: {track.frames} frames, mostly {info['dominant_emotion']} ({shares})")
        return "\n".join(lines)
