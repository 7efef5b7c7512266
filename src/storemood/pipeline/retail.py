"""The retail end of a run: store layout → visits → database, for one camera or a whole store.

``storemood run SOURCE --store store.yaml --camera ID --db URL`` passes :func:`build_sinks` to the frame
loop: a :class:`VisitSink` maps faces to the camera's zones, builds one event per visit and writes each
as soon as the visit ends (open visits are flushed when the loop closes its sinks, also after Ctrl-C).
``storemood run --store store.yaml`` calls :func:`run_store`: one worker process per camera, all writing
to the same database.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storemood.config import Analysis, Publish, StoreLayout, Zone, load_store
from storemood.database.camera_table import CameraTable
from storemood.database.engine import DatabaseUnavailable, open_database
from storemood.database.event_table import EventTable
from storemood.delivery.destinations import WEBHOOK_SECRET_ENV, Destination, MqttDestination, WebhookDestination
from storemood.delivery.latest import LatestWriter
from storemood.delivery.outbox import default_outbox_path
from storemood.delivery.writer import EventWriter
from storemood.errors import UserError
from storemood.interrupts import signals_deferred
from storemood.pipeline.camera_state import CameraStateSink
from storemood.pipeline.frames import FrameResult, Sink
from storemood.pipeline.loop import Terminated, sigterm_as_interrupt
from storemood.pipeline.options import run_options
from storemood.pipeline.visit_builder import EventBuilder

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # prctl option: the signal a process gets when its parent dies


class VisitSink:
    """A frame-loop sink that turns one camera's frames into stored visit events."""

    def __init__(self, builder: EventBuilder, writer: EventWriter) -> None:
        self.builder = builder
        self.writer = writer
        self.visits = 0
        self.delivery: dict[str, dict[str, object]] = {}  # per destination, once closed: delivered, pending, refused

    def on_frame(self, result: FrameResult) -> None:
        with signals_deferred():  # a visit leaves the builder and enters the outbox in one step
            self._write(self.builder.on_frame(result))

    def close(self) -> None:
        """Flush open visits, then deliver what can be delivered (the rest waits in the outbox)."""
        try:
            with signals_deferred():
                self._write(self.builder.flush())
        finally:
            self.delivery = self.writer.close()

    def _write(self, visits: list) -> None:
        if visits:
            self.writer.write(visits)
            self.visits += len(visits)


def describe_delivery(visits: int, delivery: dict[str, dict[str, object]]) -> str:
    """One line for the run summary: visits stored, and per destination what still waits or was refused.

    >>> describe_delivery(4, {"database": {"delivered": 3, "pending": 1, "dead_letters": 0, "last_error": "down"}})
    '4 visits: database 3 delivered, 1 waiting in the outbox (down)'
    """
    parts = []
    for name, state in delivery.items():
        text = f"{name} {state['delivered']} delivered"
        if state["pending"]:
            text += f", {state['pending']} waiting in the outbox" + (
                f" ({state['last_error']})" if state["last_error"] else ""
            )
        if state["dead_letters"]:
            text += f", {state['dead_letters']} refused and kept aside"
        parts.append(text)
    return f"{visits} visits: " + "; ".join(parts)


def pick_camera_id(layout: StoreLayout, camera: str | None) -> str:
    """The camera asked for, or the store's only camera; a UserError when the choice is ambiguous."""
    if camera is not None:
        return layout.camera(camera).id
    if len(layout.cameras) == 1:
        return layout.cameras[0].id
    known = ", ".join(c.id for c in layout.cameras)
    raise UserError(f"store {layout.id!r} has {len(layout.cameras)} cameras; pick one with --camera ({known})")


def camera_analysis(store: Path | None, camera: str | None) -> Analysis | None:
    """How store.yaml says the camera's video is analysed (None without a layout: the defaults apply)."""
    if store is None:
        return None
    layout = load_store(store)
    return layout.analysis(pick_camera_id(layout, camera))


def camera_zones(store: Path | None, camera: str | None) -> list[Zone]:
    """The zones store.yaml gives the camera, for drawing (none without a layout)."""
    if store is None:
        return []
    layout = load_store(store)
    return list(layout.camera(pick_camera_id(layout, camera)).zones)


def open_writer(layout: StoreLayout, camera_id: str, db_url: str | None, publish: Publish | None = None) -> EventWriter:
    """A writer for one camera of the store, to the database and the layout's (or ``publish``'s) MQTT broker
    and webhook; once the database is reached, the store's name is recorded and its retention applied
    (from the writer's courier thread, never the frame loop)."""

    def housekeeping(table: EventTable) -> None:
        table.register_store(layout.id, layout.name)
        if days := layout.settings.retention_days:
            deleted = table.prune(days, store=layout.id)
            silent = CameraTable(table.engine).prune(days, store=layout.id)
            log.info(
                "retention: deleted %d events older than %d days, forgot %d cameras silent as long",
                deleted,
                days,
                silent,
            )

    publishers = publishers_for(publish or layout.publish, f"storemood-{layout.id}-{camera_id}")
    outbox = default_outbox_path(layout.id, camera_id)
    return EventWriter(db_url, outbox_path=outbox, publishers=publishers, on_open=housekeeping)


def publishers_for(publish: Publish, client_id: str) -> list[Destination]:
    """The MQTT and webhook destinations ``publish`` names (the webhook signs with STOREMOOD_WEBHOOK_SECRET)."""
    found: list[Destination] = []
    if publish.mqtt:
        found.append(MqttDestination(publish.mqtt, client_id=client_id))
    if publish.webhook:
        found.append(WebhookDestination(publish.webhook, secret=os.environ.get(WEBHOOK_SECRET_ENV)))
    return found


def build_sinks(
    store: Path | None,
    camera: str | None,
    db_url: str | None,
    publish: Publish | None = None,
    still: bool | None = None,
) -> list[Sink]:
    """The sinks ``storemood run`` adds for ``--store/--camera/--db`` (none without a store layout): the
    camera's visits first, then its heartbeat and still. ``publish`` replaces the layout's MQTT broker and
    webhook; ``still`` (``--still/--no-still``; None: as the layout says) turns the still on or off."""
    if store is None:
        return []
    layout = load_store(store)
    camera_id = pick_camera_id(layout, camera)
    builder = EventBuilder(layout.id, layout.camera(camera_id), min_dwell_s=layout.settings.min_dwell_s)
    still_settings = layout.still if (layout.still.enabled if still is None else still) else None
    return [
        VisitSink(builder, open_writer(layout, camera_id, db_url, publish)),
        CameraStateSink(layout.id, layout.camera(camera_id), LatestWriter(db_url), still_settings),
    ]


def run_store(
    store: Path,
    db_url: str | None,
    flags: Mapping[str, Any],
    publish: Publish | None = None,
    still: bool | None = None,
) -> dict[str, dict]:
    """Run every camera of the store at once, one worker process each; returns each camera's summary.

    Each camera runs with its own settings from the layout, over which ``flags`` (RunOptions fields; None
    for a flag not given) and ``still`` (as in :func:`build_sinks`) win.

    The database is created and migrated here first, so workers never race to upgrade it. Ctrl-C reaches
    every worker (same process group); SIGTERM to this process is passed on to them; either way each
    worker flushes its open visits before this returns.
    """
    layout = load_store(store)
    prepare_database(db_url)
    flags = {**flags, "progress": False}  # several bars from several processes would garble
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(
            target=_camera_worker,
            args=(store, camera.id, db_url, flags, publish, still, results, os.getpid()),
            name=f"camera-{camera.id}",
        )
        for camera in layout.cameras
    ]
    for worker in workers:
        worker.start()
    try:
        with sigterm_as_interrupt():
            for worker in workers:
                worker.join()
    except KeyboardInterrupt as stop:
        for worker in workers:
            if isinstance(stop, Terminated):
                worker.terminate()  # SIGTERM reached only this process: pass it on, each worker flushes
            worker.join()  # after Ctrl-C they got the same SIGINT and are flushing their visits
        raise
    return _collect(results, len(workers))


def prepare_database(db_url: str | None) -> None:
    """Create or upgrade the database before the camera workers start, when it is reachable now."""
    try:
        open_database(db_url).dispose()
    except DatabaseUnavailable as error:
        log.warning("%s; visits wait in each camera's outbox until it is back", error)


def _collect(results, expected: int) -> dict[str, dict]:
    summaries: dict[str, dict] = {}
    for _ in range(expected):
        try:
            camera, summary = results.get(timeout=5)
        except queue.Empty:  # a worker died without reporting (killed)
            break
        summaries[camera] = summary
    failed = {camera: s["error"] for camera, s in summaries.items() if "error" in s}
    if failed and len(failed) == len(summaries):
        raise UserError("; ".join(f"camera {camera}: {error}" for camera, error in failed.items()))
    return summaries


def _end_with_parent(parent: int) -> None:
    """Have the kernel send this worker SIGTERM when its parent dies, however it dies (Linux; elsewhere
    a no-op), so a killed ``run --store`` leaves no camera running; the worker then flushes as on SIGTERM."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _camera_worker(
    store: Path,
    camera_id: str,
    db_url: str | None,
    flags: Mapping[str, Any],
    publish: Publish | None,
    still: bool | None,
    results,
    parent: int,
) -> None:
    """One camera's run in its own process; reports a summary (or the error) on ``results``."""
    from storemood.pipeline.loop import run_source

    _end_with_parent(parent)

    try:
        layout = load_store(store)
        sinks = build_sinks(store, camera_id, db_url, publish, still)
        options = run_options(layout.analysis(camera_id), flags)
        summary = run_source(layout.camera(camera_id).source, options, sinks=sinks)
        results.put((camera_id, {**summary.to_dict(), "visits": sinks[0].visits, "delivery": sinks[0].delivery}))
    except UserError as error:
        results.put((camera_id, {"error": str(error)}))
    except KeyboardInterrupt:
        results.put((camera_id, {"error": "interrupted"}))
