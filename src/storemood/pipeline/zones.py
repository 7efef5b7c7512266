"""ZoneMapper: which shelf zone each tracked face is in, with inertia.

A face counts as inside a zone once its centre has been inside for ``zone.inertia`` consecutive analysed
frames, and as having left once it has been elsewhere for as many frames (Frigate's zone inertia, applied
both ways). Entering late and leaving late by the same number of frames keeps dwell times unbiased, a
shopper walking past never becomes a visit, and a face jittering on a zone border does not split one
visit into many.

>>> import numpy as np
>>> from storemood.config import Product, Zone
>>> shelf = Zone(id="left", rect=(0, 0, 0.5, 1), inertia=2, product=Product(sku="A", brand="Acme"))
>>> mapper = ZoneMapper([shelf])
>>> [mapper.update([7], np.array([[0.2, 0.5]]))[7] for _ in range(3)]
[None, 'left', 'left']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from storemood.config import Zone


@dataclass
class _TrackState:
    confirmed: str | None = None  # the zone the track counts as being in
    candidate: str | None = None  # where its centre was on the latest frames
    streak: int = 0  # consecutive frames the centre has been in ``candidate``


class ZoneMapper:
    """Maps face centres (frame-relative) to zone ids, per track, with each zone's inertia."""

    def __init__(self, zones: Sequence[Zone]) -> None:
        self.zones = list(zones)
        self._outlines = [np.asarray(zone.polygon(), np.float32).reshape(-1, 1, 2) for zone in self.zones]
        self._inertia = {zone.id: zone.inertia for zone in self.zones}
        self._tracks: dict[int, _TrackState] = {}

    def zone_at(self, point: Sequence[float]) -> str | None:
        """The first zone (in store.yaml order) whose outline contains the relative point, if any."""
        x, y = float(point[0]), float(point[1])
        for zone, outline in zip(self.zones, self._outlines, strict=True):
            if cv2.pointPolygonTest(outline, (x, y), False) >= 0:
                return zone.id
        return None

    def update(self, track_ids: Sequence[int], centers: np.ndarray) -> dict[int, str | None]:
        """Feed one frame's track ids and relative face centres; returns each track's confirmed zone."""
        return {
            int(track_id): self._step(int(track_id), self.zone_at(center))
            for track_id, center in zip(track_ids, centers, strict=True)
        }

    def _step(self, track_id: int, observed: str | None) -> str | None:
        state = self._tracks.setdefault(track_id, _TrackState())
        state.streak = state.streak + 1 if observed == state.candidate else 1
        state.candidate = observed
        # Leaving one zone and entering another each take that zone's inertia.
        needed = max((self._inertia[zone] for zone in (state.confirmed, observed) if zone), default=1)
        if observed != state.confirmed and state.streak >= needed:
            state.confirmed = observed
        return state.confirmed

    def forget(self, track_ids: Sequence[int]) -> None:
        """Drop the state of tracks that ended."""
        for track_id in track_ids:
            self._tracks.pop(int(track_id), None)
