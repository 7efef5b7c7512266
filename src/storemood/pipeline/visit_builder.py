"""EventBuilder: turns per-frame zone membership into one VisitEvent per visit.

A visit is a stretch of consecutive frames in which one track counts as inside one zone (after the
zone's inertia, see :mod:`storemood.pipeline.zones`). While it lasts, the builder sums the track's detector
scores and face sizes over every frame, and its smoothed emotion probabilities over the frames in which the
face was readable (frontal and large enough, :mod:`storemood.vision.pose`); when the track leaves the zone,
enters another or ends, the sums become one event of means. A visit whose face was never readable becomes an
event with no emotion (it still counts in visits and dwell). Visits shorter than ``min_dwell_s`` are dropped.
Only these figures are kept: no pixels, crops or embeddings ever reach an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from storemood.config import Camera, Zone
from storemood.pipeline.frames import FrameResult
from storemood.pipeline.zones import ZoneMapper
from storemood.visit_record import VisitEvent


@dataclass
class _OpenVisit:
    """Running sums of one visit in progress."""

    zone: Zone
    start: datetime
    end: datetime
    frames: int = 0
    readable_frames: int = 0
    read_frames: int = 0  # readable frames that had a reading (the smoother's, between classifications)
    probability_sum: np.ndarray | None = None
    score_sum: float = 0.0
    size_sum: float = 0.0

    def add(self, timestamp: datetime, probabilities: np.ndarray | None, score: float, size: float) -> None:
        """Count one frame; ``probabilities`` is None for a frame in which the face could not be read."""
        self.end = timestamp
        self.frames += 1
        self.score_sum += score
        self.size_sum += size
        if probabilities is None:
            return
        self.readable_frames += 1
        if not np.isnan(probabilities).any():
            self.probability_sum = (
                probabilities if self.probability_sum is None else self.probability_sum + probabilities
            )
            self.read_frames += 1


class EventBuilder:
    """Feeds frames of one camera through a ZoneMapper and emits a VisitEvent when a visit ends."""

    def __init__(self, store_id: str, camera: Camera, min_dwell_s: float = 1.0) -> None:
        self.store_id = store_id
        self.camera = camera
        self.min_dwell_s = min_dwell_s
        self.mapper = ZoneMapper(camera.zones)
        self._zones = {zone.id: zone for zone in camera.zones}
        self._open: dict[int, _OpenVisit] = {}
        self._classes: tuple[str, ...] = ()

    def on_frame(self, result: FrameResult) -> list[VisitEvent]:
        """Update visits with one frame; returns the visits that ended at it."""
        self._classes = result.classes
        faces = result.faces.select(result.faces.track_ids >= 0)  # untracked faces cannot make visits
        height, width = result.shape
        relative_centers = faces.centers / np.array([width, height], dtype=np.float32) if len(faces) else faces.centers
        zones = self.mapper.update(faces.track_ids.tolist(), relative_centers)
        finished: list[VisitEvent | None] = []
        for row, track_id in enumerate(faces.track_ids.tolist()):
            visit = self._open.get(track_id)
            zone_id = zones[track_id]
            if visit and visit.zone.id != zone_id:
                finished.append(self._finish(track_id))
                visit = None
            if zone_id is None:
                continue
            if visit is None:
                visit = self._open[track_id] = _OpenVisit(self._zones[zone_id], result.timestamp, result.timestamp)
            readable = faces.probabilities is not None and faces.readable[row]
            probabilities = faces.probabilities[row].astype(np.float64) if readable else None
            visit.add(result.timestamp, probabilities, float(faces.scores[row]), float(faces.sizes[row]))
        finished += [self._finish(track_id) for track_id in result.faces.ended_tracks if track_id in self._open]
        self.mapper.forget(result.faces.ended_tracks)
        return [event for event in finished if event is not None]

    def flush(self) -> list[VisitEvent]:
        """End every open visit (the source ended or the run was interrupted)."""
        finished = [self._finish(track_id) for track_id in list(self._open)]
        return [event for event in finished if event is not None]

    def _finish(self, track_id: int) -> VisitEvent | None:
        visit = self._open.pop(track_id)
        if (visit.end - visit.start).total_seconds() < self.min_dwell_s:
            return None
        probabilities = None
        if visit.probability_sum is not None:
            means = visit.probability_sum / visit.read_frames
            probabilities = {name: float(p) for name, p in zip(self._classes, means, strict=True)}
        return VisitEvent(
            store=self.store_id,
            camera=self.camera.id,
            zone=visit.zone.id,
            product=visit.zone.product.sku,
            product_name=visit.zone.product.name,
            brand=visit.zone.product.brand,
            track_id=track_id,
            start=visit.start,
            end=visit.end,
            frames=visit.frames,
            probabilities=probabilities,
            dominant_emotion=None if probabilities is None else max(probabilities, key=probabilities.__getitem__),
            readable_frames=visit.readable_frames,
            face_score=visit.score_sum / visit.frames,
            face_size=visit.size_sum / visit.frames,
        )
