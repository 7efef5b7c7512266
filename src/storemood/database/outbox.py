"""Store-and-forward: events wait in a local SQLite outbox while the shared database is unreachable.

An edge machine in a store must not lose visits when the network or the chain's PostgreSQL server is
down. :class:`EventWriter` appends every event to a durable local queue first and then delivers the
queue, oldest first, to the database. Delivery commits a batch before removing it from the queue, and the
database skips ids it already has, so a crash between the two steps re-sends a batch without
duplicating it: every event arrives exactly once, in the order it was written.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.exc import OperationalError

from storemood.database.engine import DatabaseUnavailable, is_sqlite, safe_url
from storemood.database.event_table import EventTable, Row, event_to_row
from storemood.errors import UserError
from storemood.paths import data_dir
from storemood.visit_record import VisitEvent

log = logging.getLogger(__name__)

DELIVERY_BATCH = 500


def default_outbox_path(store_id: str, camera_id: str) -> Path:
    """One outbox per store camera in the user's data directory (one writer process each)."""
    return data_dir() / "outbox" / f"{store_id}--{camera_id}.sqlite"


class Outbox:
    """A durable first-in-first-out queue of event rows in a local SQLite file.

    >>> import tempfile
    >>> outbox = Outbox(Path(tempfile.mkdtemp()) / "outbox.sqlite")
    >>> outbox.put([{"id": "a"}, {"id": "b"}])
    >>> len(outbox), outbox.head(1)
    (2, [(1, {'id': 'a'})])
    >>> outbox.drop_through(1)                # delivered
    >>> len(outbox)
    1
    >>> outbox.close()
    """

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30)  # `with self._db:` = one transaction, one fsync
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, row TEXT NOT NULL)")
        except (OSError, sqlite3.Error) as error:
            raise UserError(f"cannot keep an outbox at {path}: {error}") from None
        self.path = path

    def put(self, rows: Iterable[Row]) -> None:
        with self._db:
            self._db.executemany("INSERT INTO outbox (row) VALUES (?)", [(json.dumps(row),) for row in rows])

    def head(self, limit: int) -> list[tuple[int, Row]]:
        """The oldest ``limit`` entries as ``(seq, row)``."""
        cursor = self._db.execute("SELECT seq, row FROM outbox ORDER BY seq LIMIT ?", (limit,))
        return [(seq, json.loads(text)) for seq, text in cursor]

    def drop_through(self, seq: int) -> None:
        """Remove every entry up to and including ``seq`` (they have been delivered)."""
        with self._db:
            self._db.execute("DELETE FROM outbox WHERE seq <= ?", (seq,))

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class EventWriter:
    """Writes visit events to a database, through a local outbox when the database is a server.

    SQLite files are local and written directly. For a server URL every event goes to the outbox at
    ``outbox_path`` and is delivered from there; while the server is unreachable, delivery is retried at
    most every ``retry_s`` seconds (so the frame loop is not slowed) and on :meth:`close`. Events still
    queued at close stay in the outbox and go first when a writer with the same outbox next connects, to
    whatever database it is pointed at then. Without an outbox the server must be reachable at once.
    """

    def __init__(self, url: str | None, outbox_path: Path | None = None, retry_s: float = 10.0) -> None:
        self.url = url
        self.retry_s = retry_s
        self._store: EventTable | None = None
        self._next_try = 0.0
        self.outbox: Outbox | None = None
        if url is None or is_sqlite(url) or outbox_path is None:
            self._store = EventTable(url)
            return
        self.outbox = Outbox(outbox_path)
        self.deliver()

    @property
    def pending(self) -> int:
        """Events waiting in the outbox."""
        return len(self.outbox) if self.outbox else 0

    def write(self, visits: Iterable[VisitEvent]) -> None:
        rows = [event_to_row(visit) for visit in visits]
        if not rows:
            return
        if self.outbox is None:
            self._store.add_rows(rows)  # type: ignore[union-attr]
            return
        self.outbox.put(rows)
        if time.monotonic() >= self._next_try:
            self.deliver()

    def deliver(self) -> int:
        """Send queued events, oldest first, until the queue is empty or the database fails. Returns sent."""
        if self.outbox is None:
            return 0
        sent = 0
        try:
            if self._store is None:
                self._store = EventTable(self.url)
            while batch := self.outbox.head(DELIVERY_BATCH):
                self._store.add_rows([row for _, row in batch])
                self.outbox.drop_through(batch[-1][0])
                sent += len(batch)
        except (DatabaseUnavailable, OperationalError) as error:
            self._next_try = time.monotonic() + self.retry_s
            reason = str(error).strip().splitlines()[0]
            log.warning(
                "database %s unreachable (%s); %d events wait in %s",
                safe_url(self.url or ""),
                reason,
                len(self.outbox),
                self.outbox.path,
            )
        return sent

    def start_run(self, store_id: str, name: str, retention_days: int | None = None) -> None:
        """Housekeeping when a run starts, if the database is reachable now: record the store's name and
        delete this store's events past the retention period. Neither is queued; the next run does them."""
        if self._store is None:
            return
        try:
            self._store.register_store(store_id, name)
            if retention_days:
                deleted = self._store.prune(retention_days, store=store_id)
                log.info("retention: deleted %d events older than %d days", deleted, retention_days)
        except OperationalError:
            log.warning("database unreachable: store name and retention left for the next run")

    def close(self) -> None:
        """Deliver what can be delivered; what cannot stays in the outbox for the next run."""
        self.deliver()
        if self.outbox is not None:
            if self.pending:
                log.warning("%d events remain in outbox %s; they go first next time", self.pending, self.outbox.path)
            self.outbox.close()
        if self._store is not None:
            self._store.close()
