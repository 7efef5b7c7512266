"""Writing and pruning visit events: idempotent batched inserts keyed by the event's UUID.

Every insert and delete updates the roll-ups (:mod:`storemood.database.rollups`) in the same
transaction, so they always sum exactly the events stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from storemood.database import partitions, rollups
from storemood.database.engine import open_database
from storemood.database.schema import EMOTION_COLUMNS, events, stores
from storemood.database.schema import rollups as rollup_rows
from storemood.visit_record import VisitEvent

Row = dict[str, object]


def event_to_row(event: VisitEvent) -> Row:
    """The events-table row of a visit: plain values only (the outbox stores it as JSON)."""
    return {
        "id": event.id,
        "store": event.store,
        "camera": event.camera,
        "zone": event.zone,
        "product": event.product,
        "product_name": event.product_name,
        "brand": event.brand,
        "track_id": int(event.track_id),
        "start": event.start.astimezone(UTC).isoformat(),
        "end": event.end.astimezone(UTC).isoformat(),
        "dwell_s": float(event.dwell_seconds),
        "frames": int(event.frames),
        **emotion_values(event.probabilities),
        "dominant": event.dominant_emotion,
        "readable_frames": event.readable_frames,
        "face_score": float(event.face_score),
        "face_size": float(event.face_size),
    }


def emotion_values(probabilities: dict[str, float] | None) -> Row:
    """The emotion columns of a visit: its mean probabilities (0 for a class the model lacks), or all NULL for
    a visit whose face was never readable, so no average ever counts a guess."""
    if probabilities is None:
        return dict.fromkeys(EMOTION_COLUMNS.values())
    return {column: float(probabilities.get(name, 0.0)) for name, column in EMOTION_COLUMNS.items()}


def _bindable(row: Row, recorded_at: datetime) -> Row:
    return {
        **row,
        "start": datetime.fromisoformat(str(row["start"])),
        "end": datetime.fromisoformat(str(row["end"])),
        "recorded_at": recorded_at,
    }


def _insert_ignoring_duplicates(engine: Engine, table: sa.Table, keys: list[str]):
    """``INSERT ... ON CONFLICT (keys) DO NOTHING`` in the engine's dialect (SQLite and PostgreSQL)."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=keys)


def _event_key(engine: Engine) -> list[str]:
    """The unique key of an event: its id, plus its start where events are partitioned by it (PostgreSQL)."""
    return ["id", "start"] if engine.dialect.name == "postgresql" else ["id"]


class EventTable:
    """The events table of one database, opened (and migrated) once.

    >>> store = EventTable("sqlite://")          # an in-memory database
    >>> store.count()
    0
    """

    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        self.engine = engine or open_database(url)
        with self.engine.connect() as connection:
            self._partitioned = partitions.is_partitioned(connection)
        self._months: set[datetime] = set()

    def add(self, visits: Iterable[VisitEvent]) -> int:
        """Insert visits in one transaction; ones already stored (same id) are skipped. Returns rows added."""
        return self.add_rows([event_to_row(visit) for visit in visits])

    def add_rows(self, rows: Sequence[Row]) -> int:
        """Insert rows as made by :func:`event_to_row`, in order, skipping ids already stored.

        Returns how many were new. (Counting them with ``RETURNING`` made PostgreSQL batches 4-6 times
        slower; looking the ids up first is cheap, as ``id`` is indexed.)
        """
        if not rows:
            return 0
        now = datetime.now(UTC)
        statement = _insert_ignoring_duplicates(self.engine, events, _event_key(self.engine))
        ids = [row["id"] for row in rows]
        bound = [_bindable(row, now) for row in rows]
        self.ensure_partitions(row["start"] for row in bound)
        with self.engine.begin() as connection:
            known = connection.scalar(sa.select(sa.func.count()).where(events.c.id.in_(ids)))
            connection.execute(statement, bound)
            rollups.add_events(connection, ids, now)
        return len(set(ids)) - int(known)

    def ensure_partitions(self, starts: Iterable[datetime]) -> None:
        """Create the monthly partitions (PostgreSQL) that visits starting at ``starts`` need, once per month."""
        if not self._partitioned:
            return
        missing = {partitions.month_start(start) for start in starts} - self._months
        if missing:
            with self.engine.begin() as connection:
                partitions.create_partitions(connection, missing)
            self._months |= missing

    def register_store(self, store_id: str, name: str) -> None:
        """Record (or rename) a store so listings show its name."""
        statement = _insert_ignoring_duplicates(self.engine, stores, ["id"])
        with self.engine.begin() as connection:
            connection.execute(statement, {"id": store_id, "name": name or store_id})
            connection.execute(stores.update().where(stores.c.id == store_id).values(name=name or store_id))

    def prune(self, older_than_days: float, now: datetime | None = None, store: str | None = None) -> int:
        """Delete events that ended more than ``older_than_days`` ago (retention), of one store or of all.

        On PostgreSQL, a month wholly past the cut-off is dropped as a partition (with its roll-ups) when
        all stores are pruned; the rest is deleted row by row. Returns rows deleted.
        """
        cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
        condition = events.c.end < cutoff
        if store is not None:
            return self._delete(condition & (events.c.store == store))
        if not self._partitioned:
            return self._delete(condition)
        with self.engine.begin() as connection:
            dropped_rows = self._drop_months(connection, cutoff)
            rollups.remove_events(connection, condition)
            return dropped_rows + connection.execute(events.delete().where(condition)).rowcount

    def _drop_months(self, connection: Connection, cutoff: datetime) -> int:
        """Drop the partitions wholly before ``cutoff`` and their roll-ups; returns the rows they held."""
        rows = 0
        for month in partitions.drop_months_ended_before(connection, cutoff):
            for tier in rollups.TIERS.values():
                table = tier.table
                within = (table.c[tier.period] >= month) & (table.c[tier.period] < partitions.next_month(month))
                if table is rollup_rows:
                    rows += int(
                        connection.scalar(sa.select(sa.func.coalesce(sa.func.sum(table.c.visits), 0)).where(within))
                    )
                connection.execute(table.delete().where(within))
            self._months.discard(month)
        return rows

    def delete_store(self, store_id: str) -> int:
        """Delete every event of one store (the demo replaces its own earlier run this way)."""
        return self._delete(events.c.store == store_id)

    def _delete(self, condition: sa.ColumnElement[bool]) -> int:
        """Delete the events matching ``condition`` and take them out of the roll-ups; returns rows deleted."""
        with self.engine.begin() as connection:
            rollups.remove_events(connection, condition)
            return connection.execute(events.delete().where(condition)).rowcount

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.scalar(sa.select(sa.func.count()).select_from(events)))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> EventTable:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
