"""A camera's health and view for the dashboard: a heartbeat every few seconds and a still now and then.

:class:`CameraStateSink` is a frame-loop sink that ``storemood run --store`` adds beside the visits. Every
:data:`storemood.defaults.HEARTBEAT_S` seconds (wall clock) and when the run ends it records the camera's
frame rate, dropped frames, reconnects, last frame time, faces seen (distinct tracks) and its zones; every
``still.every_s`` seconds (frame time) and at the end it records the still (:mod:`storemood.pipeline.still`).
Both go through a :class:`~storemood.delivery.latest.LatestWriter`, so the frame loop never waits for the
database and a database outage never ends the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from storemood import defaults
from storemood.config import Camera, StillSettings
from storemood.delivery.latest import LatestWriter
from storemood.pipeline.frames import FrameResult, SourceCounters
from storemood.pipeline.still import StillSampler, encode_still


def zone_outlines(camera: Camera) -> list[dict]:
    """The camera's zones as the dashboard draws them: id, product, name, brand, relative polygon."""
    return [
        {
            "zone": zone.id,
            "product": zone.product.sku,
            "product_name": zone.product.name,
            "brand": zone.product.brand,
            "polygon": [[x, y] for x, y in zone.polygon()],
        }
        for zone in camera.zones
    ]


class CameraStateSink:
    """Records one camera's heartbeat and still (``still=None``: no still) through ``writer``."""

    def __init__(
        self,
        store: str,
        camera: Camera,
        writer: LatestWriter,
        still: StillSettings | None,
        heartbeat_s: float = defaults.HEARTBEAT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.camera, self.writer = store, camera.id, writer
        self.zones = zone_outlines(camera)
        self.still = StillSampler(still) if still is not None else None
        self.still_every_s = still.every_s if still is not None else 0.0
        self.heartbeat_s, self.clock = heartbeat_s, clock
        self.started_at = datetime.now(UTC)
        self.last_beat = clock()
        self.last_frame: FrameResult | None = None
        self.read_at_last_beat = self.analysed = 0
        self.tracks_total: set[int] = set()
        self.tracks_interval: set[int] = set()
        self.last_still: datetime | None = None

    def on_frame(self, result: FrameResult) -> None:
        if result.image is None:  # the closing result: no new frame
            return
        self.last_frame = result
        self.analysed += 1
        tracks = {int(track) for track in result.faces.track_ids if track >= 0}
        self.tracks_total |= tracks
        self.tracks_interval |= tracks
        if self.still is not None and self.still.offer(result.image, result.timestamp, result.faces):
            self._still_if_due(result.timestamp)
        if self.clock() - self.last_beat >= self.heartbeat_s:
            self._beat(running=True)

    def close(self) -> None:
        """A last heartbeat (``running: false``) and a last still, then wait briefly for them to be written."""
        try:
            if self.last_frame is not None:
                self._beat(running=False)
                self._still_if_due(self.last_frame.timestamp, final=True)
        finally:
            self.writer.close()

    def _still_if_due(self, now: datetime, final: bool = False) -> None:
        if self.still is None or not self.still.ready:
            return
        if not final and self.last_still is not None and (now - self.last_still).total_seconds() < self.still_every_s:
            return
        self.last_still = now
        frames, masks = self.still.frames()
        taken_at = self.still.last_kept or now
        store, camera = self.store, self.camera
        # the median and the JPEG are made in the writer's thread, not the frame loop's
        self.writer.submit("still", lambda table: table.put_still(store, camera, encode_still(frames, masks, taken_at)))

    def _beat(self, running: bool) -> None:
        row = self._heartbeat(running)
        self.writer.submit("heartbeat", lambda table: table.put_heartbeat(row))

    def _heartbeat(self, running: bool) -> dict:
        """The camera_health row for the interval since the previous heartbeat, and start a new interval."""
        last = self.last_frame
        assert last is not None  # a heartbeat follows a frame
        source = last.source or SourceCounters(0, 0, 0)  # a result from outside the frame loop
        now = self.clock()
        seconds = max(now - self.last_beat, 1e-9)
        height, width = last.shape
        row = {
            "store": self.store,
            "camera": self.camera,
            "heartbeat_at": datetime.now(UTC),
            "run_started_at": self.started_at,
            "running": running,
            "last_frame": last.timestamp,
            "fps": (source.frames_read - self.read_at_last_beat) / seconds,
            "analysed_fps": self.analysed / seconds,
            "frames_read": source.frames_read,
            "dropped_frames": source.dropped_frames,
            "reconnects": source.reconnects,
            "faces_seen": len(self.tracks_total),
            "faces_seen_interval": len(self.tracks_interval),
            "frame_width": width,
            "frame_height": height,
            "zones": self.zones,
        }
        self.last_beat, self.read_at_last_beat, self.analysed = now, source.frames_read, 0
        self.tracks_interval = set()
        return row
