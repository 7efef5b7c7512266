"""Ground truth of a clip, and the one rule that turns "who stood where, frame by frame" into visits.

**What a visit is** (as storemood's visit builder counts them): one person standing in one shelf zone for an
unbroken stretch, at least ``min_dwell_s`` long, the zone being the one that contains the centre of the face.
Dwell is the time from the first to the last frame of the stretch. In the truth the stretch is the person's:
a shopper who turns away or is hidden behind a sign is still standing there, so the visit goes on through
it. A shopper who walks through a zone without stopping stays in it for well under ``min_dwell_s`` (see
:mod:`visits.scenes`) and makes no visit.

The same rule, :func:`visits_from_observations`, counts the visits of a tracker's tracks (for trackers the
benchmark runs outside storemood's own visit builder): a track's stretch in a zone continues over frames where
the track was not seen, and zone changes shorter than the zone's inertia are ignored, as storemood's zone
mapper does.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from visits.scenes import ZONES


@dataclass(frozen=True)
class Visit:
    """One person's (or track's) stay in one zone, first and last frame inclusive."""

    track: int
    zone: str
    start: int
    end: int

    def dwell(self, fps: float) -> float:
        return (self.end - self.start) / fps


@dataclass
class Truth:
    """Per-frame truth of one clip: visible face boxes with person ids, each present person's zone, visits.

    ``boxes[f]`` lists ``[person, x, y, w, h]`` for every face visible in frame ``f`` (facing the camera, at least
    half of the face box unhidden and inside the frame; boxes clipped to the frame); ``zones[f]`` maps every person
    whose face centre is inside the frame, visible or not, to the zone that contains that centre (or None).
    """

    situation: str
    seed: int
    fps: float
    width: int
    height: int
    persons: int
    min_dwell_s: float
    boxes: list[list[list[float]]] = field(default_factory=list)
    zones: list[dict[int, str | None]] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return len(self.boxes)

    def save(self, path: Path) -> None:
        data = asdict(self)
        data["zones"] = [{str(person): zone for person, zone in frame.items()} for frame in self.zones]
        path.write_text(json.dumps(data))

    @classmethod
    def load(cls, path: Path) -> Truth:
        data = json.loads(path.read_text())
        data["zones"] = [{int(person): zone for person, zone in frame.items()} for frame in data["zones"]]
        data["visits"] = [Visit(**visit) for visit in data["visits"]]
        return cls(**data)


def zone_at(x: float, y: float) -> str | None:
    """The zone containing the frame-relative point (borders inclusive, first zone wins), or None."""
    for zone, (left, top, width, height) in ZONES.items():
        if left <= x <= left + width and top <= y <= top + height:
            return zone
    return None


def visits_from_observations(
    observations: dict[int, list[tuple[int, str | None]]], fps: float, min_dwell_s: float, inertia: int = 1
) -> list[Visit]:
    """Visits from each track's ``(frame, zone)`` observations, in frame order.

    Runs of consecutive observations in one zone shorter than ``inertia`` observations are dropped (a border
    flicker), runs of the same zone that then touch are joined, and each run in a zone lasting at least
    ``min_dwell_s`` is a visit.
    """
    visits = []
    for track, seen in observations.items():
        runs: list[list] = []  # [zone, start, end, observations]
        for frame, zone in seen:
            if runs and runs[-1][0] == zone:
                runs[-1][2], runs[-1][3] = frame, runs[-1][3] + 1
            else:
                runs.append([zone, frame, frame, 1])
        joined: list[list] = []
        for run in (run for run in runs if run[3] >= inertia):
            if joined and joined[-1][0] == run[0]:
                joined[-1][2] = run[2]
            else:
                joined.append(run)
        visits += [
            Visit(track, zone, start, end)
            for zone, start, end, _ in joined
            if zone is not None and (end - start) / fps >= min_dwell_s
        ]
    return sorted(visits, key=lambda visit: (visit.start, visit.track))
