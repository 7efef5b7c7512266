"""EventWriter: every finished visit goes into a durable outbox first; couriers deliver it from there.

An edge machine in a store must lose no visit: not when the network or the chain's PostgreSQL is down,
not when a SQLite file is locked by a long report, not when a broker restarts, not when SIGTERM arrives.
So :meth:`EventWriter.write` only appends the visit to one local outbox per destination (one SQLite
transaction, with Ctrl-C and SIGTERM held back for its duration) and returns; a :class:`Courier` thread
per destination sends each outbox's rows oldest first, removes them only once the destination took them,
and waits with exponential backoff while the destination is down. The frame loop never waits for a
database or a broker. The database skips ids it already has, so a batch re-sent after a crash is stored
once; MQTT and webhook receivers get each visit's id to do the same. Rows refused for their content move
to the outbox's dead-letter table, so they never block the visits behind them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from storemood.database.event_table import EventTable, event_to_row
from storemood.delivery.destinations import DatabaseDestination, Destination, Rejected, Unavailable
from storemood.delivery.outbox import Outbox, Row
from storemood.errors import UserError
from storemood.interrupts import signals_deferred
from storemood.visit_record import VisitEvent

log = logging.getLogger(__name__)

DELIVERY_BATCH = 500
CLOSE_TIMEOUT_S = 15.0
MIN_BACKOFF_S = 0.05


def outbox_file(database_outbox: Path, destination: str) -> Path:
    """The outbox of ``destination``, beside the database's (``x.sqlite`` -> ``x--mqtt.sqlite``)."""
    if destination == "database":
        return database_outbox
    return database_outbox.with_name(f"{database_outbox.stem}--{destination}{database_outbox.suffix}")


class Courier:
    """Empties one destination's outbox from a background thread: oldest first, backoff while it is down."""

    def __init__(self, destination: Destination, path: Path, retry_s: float = 1.0, max_retry_s: float = 30.0):
        self.destination, self.path = destination, path
        self.retry_s, self.max_retry_s = max(retry_s, MIN_BACKOFF_S), max(max_retry_s, retry_s, MIN_BACKOFF_S)
        self.delivered = 0
        self.last_error: str | None = None
        self._wake, self._stop, self._draining = threading.Event(), threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"courier-{destination.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """New rows are waiting: send now rather than at the next poll."""
        self._wake.set()

    def finish(self, timeout: float) -> bool:
        """Deliver what can be delivered now, then stop; False when still busy after ``timeout`` seconds."""
        self._draining.set()
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._stop.set()  # the rows stay queued for the next run; the daemon thread is abandoned
            return False
        return True

    def _run(self) -> None:
        outbox = Outbox(self.path)
        backoff = self.retry_s
        try:
            self._open()
            while not self._stop.is_set():
                batch = outbox.head(DELIVERY_BATCH)
                if not batch:
                    if self._draining.is_set():
                        return
                    self._wake.wait(1.0)
                    self._wake.clear()
                    continue
                try:
                    self._send(outbox, batch)
                except Unavailable as error:
                    self._outage(str(error), len(outbox))
                    if self._draining.is_set():
                        return  # closing: what is queued goes first next time
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.max_retry_s)
                else:
                    backoff = self.retry_s
                    self._recovered()
        finally:
            outbox.close()
            self.destination.close()

    def _open(self) -> None:
        """Connect (and run the destination's housekeeping) at once, not at the first visit."""
        try:
            self.destination.send([])
        except Unavailable as error:
            self._outage(str(error), 0)

    def _send(self, outbox: Outbox, batch: list[tuple[int, Row]]) -> None:
        try:
            self.destination.send([row for _, row in batch])
        except Unavailable as error:
            self._taken(outbox, batch, error.delivered)
            raise
        except Rejected as error:
            if error.at is None:
                self._send_one_by_one(outbox, batch)
            else:
                self._taken(outbox, batch, error.at)
                self._set_aside(outbox, *batch[error.at], str(error))
            return
        self._taken(outbox, batch, len(batch))

    def _taken(self, outbox: Outbox, batch: list[tuple[int, Row]], count: int) -> None:
        """The first ``count`` rows of ``batch`` reached the destination: remove them from the queue."""
        if count:
            outbox.drop_through(batch[count - 1][0])
            self.delivered += count

    def _send_one_by_one(self, outbox: Outbox, batch: list[tuple[int, Row]]) -> None:
        """A batch was refused as a whole: find the refused rows, set them aside, deliver the others."""
        for index, (seq, row) in enumerate(batch):
            try:
                self.destination.send([row])
            except Rejected as error:
                self._set_aside(outbox, seq, row, str(error))
                continue
            self._taken(outbox, batch[index:], 1)

    def _set_aside(self, outbox: Outbox, seq: int, row: Row, reason: str) -> None:
        outbox.bury(seq, row, reason)
        log.warning("%s refused visit %s (%s); kept aside in %s", self.destination, row["id"], reason, self.path)

    def _outage(self, reason: str, waiting: int) -> None:
        if self.last_error is None:
            log.warning("%s unavailable (%s); %d visits wait in %s", self.destination, reason, waiting, self.path)
        self.last_error = reason

    def _recovered(self) -> None:
        if self.last_error is not None:
            log.info("%s reachable again", self.destination)
        self.last_error = None


class EventWriter:
    """Writes visit events to a database and to any publishers, through durable outboxes.

    With ``outbox_path`` (what ``storemood run`` always gives) every destination gets an outbox and a
    courier, and :meth:`write` returns as soon as the visit is safe on local disk. Without one, rows go
    straight into the database, which must then be reachable at once (the Python API's in-process use).
    ``on_open`` runs once when the database is first opened (the run's housekeeping).
    """

    def __init__(
        self,
        url: str | None,
        outbox_path: Path | None = None,
        *,
        publishers: Sequence[Destination] = (),
        retry_s: float = 1.0,
        on_open: Callable[[EventTable], None] | None = None,
    ) -> None:
        self.database = DatabaseDestination(url, on_open)
        self.couriers: list[Courier] = []
        self._outboxes: list[Outbox] = []
        if outbox_path is None:
            if publishers:
                raise UserError("publishing visits needs an outbox; give the writer an outbox path")
            self.database.table()  # reachable now, or DatabaseUnavailable
            return
        for destination in (self.database, *publishers):
            path = outbox_file(outbox_path, destination.name)
            self._outboxes.append(Outbox(path))
            self.couriers.append(Courier(destination, path, retry_s=retry_s))
        for courier in self.couriers:
            courier.start()

    def write(self, visits: Sequence[VisitEvent]) -> None:
        """Queue finished visits for every destination (or store them, without an outbox)."""
        rows = [event_to_row(visit) for visit in visits]
        if not rows:
            return
        if not self.couriers:
            self.database.table().add_rows(rows)
            return
        with signals_deferred():
            for outbox in self._outboxes:
                outbox.put(rows)
        for courier in self.couriers:
            courier.wake()

    @property
    def pending(self) -> int:
        """Visit deliveries still waiting, summed over destinations."""
        return sum(len(outbox) for outbox in self._outboxes)

    def flush(self, timeout: float) -> bool:
        """Wait until every outbox is empty (True) or ``timeout`` seconds have passed (False)."""
        deadline = time.monotonic() + timeout
        for courier in self.couriers:
            courier.wake()
        while self.pending:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def status(self) -> dict[str, dict[str, object]]:
        """Per destination: visits delivered by this writer, still waiting, and refused (dead letters)."""
        return {
            courier.destination.name: {
                "delivered": courier.delivered,
                "pending": len(outbox),
                "dead_letters": outbox.dead_count(),
                "last_error": courier.last_error,
            }
            for courier, outbox in zip(self.couriers, self._outboxes, strict=True)
        }

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> dict[str, dict[str, object]]:
        """Deliver what can be delivered within ``timeout``; the rest waits in the outboxes for next time.

        Returns :meth:`status` as it stands at the end (what the run summary reports)."""
        deadline = time.monotonic() + timeout
        for courier in self.couriers:
            courier.finish(max(0.0, deadline - time.monotonic()))
        final = self.status()
        for courier, outbox in zip(self.couriers, self._outboxes, strict=True):
            waiting, dead = final[courier.destination.name]["pending"], final[courier.destination.name]["dead_letters"]
            if waiting:
                log.warning(
                    "%d visits wait in %s for %s; they go first next time", waiting, outbox.path, courier.destination
                )
            if dead:
                log.warning("%d visits refused by %s are kept in %s", dead, courier.destination, outbox.path)
            outbox.close()
        if not self.couriers:
            self.database.close()
        return final
