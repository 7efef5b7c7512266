"""LatestWriter: disposable records (camera heartbeats and stills) written off the frame loop, newest only.

Visits must never be lost, so they travel through durable outboxes (:mod:`storemood.delivery.writer`).
A heartbeat or a still is different: the next one replaces it, so none is queued. :meth:`LatestWriter.submit`
keeps only the newest job of each kind and returns at once; a background thread opens the database and
runs the jobs. While the database is down the newest job of each kind waits (the older ones are simply
replaced), one warning is logged, and the run goes on: nothing here ever raises into the frame loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from storemood.database.camera_table import CameraTable
from storemood.database.engine import open_database
from storemood.errors import UserError, first_line

log = logging.getLogger(__name__)

Job = Callable[[CameraTable], None]
CLOSE_TIMEOUT_S = 5.0


class LatestWriter:
    """Runs the newest submitted job of each kind against the database ``url``, from its own thread."""

    def __init__(self, url: str | None, retry_s: float = 5.0) -> None:
        self.url, self.retry_s = url, retry_s
        self.written = 0
        self.last_error: str | None = None
        self._pending: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._wake, self._closing = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="storemood-camera-state", daemon=True)
        self._thread.start()

    def submit(self, kind: str, job: Job) -> None:
        """Run ``job`` soon, in place of any job of the same ``kind`` still waiting."""
        with self._lock:
            self._pending[kind] = job
        self._wake.set()

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Write what is waiting (one try each), then stop; gives up after ``timeout`` seconds."""
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        table: CameraTable | None = None
        try:
            while True:
                self._wake.wait(self.retry_s)
                self._wake.clear()
                closing = self._closing.is_set()
                with self._lock:
                    jobs, self._pending = self._pending, {}
                if not jobs:
                    if closing:
                        return
                    continue
                try:
                    table = table or CameraTable(open_database(self.url))
                    for kind, job in list(jobs.items()):
                        job(table)
                        del jobs[kind]  # only once written: a failed job waits for the next try
                        self.written += 1
                    self.last_error = None
                except (UserError, SQLAlchemyError) as error:  # down, unreachable, locked
                    self._outage(error, jobs)
                except Exception:  # a bug here must not end the run: heartbeats are disposable
                    log.exception("writing a camera heartbeat or still failed")
                if closing:
                    return
        finally:
            if table is not None:
                table.engine.dispose()

    def _outage(self, error: Exception, unwritten: dict[str, Job]) -> None:
        """Keep the jobs not yet written unless newer ones of their kind arrived; warn once per outage."""
        with self._lock:
            self._pending = {**unwritten, **self._pending}
        reason = first_line(error)
        if self.last_error is None:
            log.warning("camera heartbeat and still not written (%s); retrying every %g s", reason, self.retry_s)
        self.last_error = reason
