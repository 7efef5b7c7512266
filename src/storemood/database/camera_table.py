"""Each camera's latest heartbeat and still: one row per (store, camera) in each table, replaced in place.

``storemood run`` writes them (through :class:`storemood.delivery.latest.LatestWriter`, off the frame
loop); the API reads them for the camera panel. Unlike visits they are disposable: only the newest counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from storemood.database.schema import camera_health, camera_stills

Row = Mapping[str, object]


@dataclass(frozen=True)
class Still:
    """A camera's still as stored: JPEG bytes, when the newest of its frames was taken, and its size."""

    jpeg: bytes
    taken_at: datetime
    width: int
    height: int
    frames: int


def _upsert(engine: Engine, table: sa.Table, row: Row) -> None:
    """Insert ``row``, or replace the stored row of the same (store, camera)."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    keys = ("store", "camera")
    statement = dialect.insert(table).values(**row)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in row if name not in keys}
    )
    with engine.begin() as connection:
        connection.execute(statement)


class CameraTable:
    """The camera_health and camera_stills tables of one (already migrated) database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put_heartbeat(self, row: Row) -> None:
        """Store a camera's newest heartbeat (every column of ``camera_health``), replacing the previous one."""
        _upsert(self.engine, camera_health, row)

    def put_still(self, store: str, camera: str, still: Still) -> None:
        """Store a camera's newest still, replacing the previous one."""
        _upsert(self.engine, camera_stills, {"store": store, "camera": camera, **still.__dict__})

    def cameras(self, stores: Sequence[str] = (), cameras: Sequence[str] = ()) -> list[dict]:
        """Every camera with a heartbeat (of ``stores`` and ``cameras`` when given), by store then camera: the
        heartbeat's columns plus its still's ``still_taken_at``, ``still_width`` and ``still_height`` (None
        without a still). Never the JPEG bytes."""
        health, still = camera_health.c, camera_stills.c
        statement = (
            sa.select(
                camera_health,
                still.taken_at.label("still_taken_at"),
                still.width.label("still_width"),
                still.height.label("still_height"),
            )
            .outerjoin(camera_stills, (still.store == health.store) & (still.camera == health.camera))
            .order_by(health.store, health.camera)
        )
        if stores:
            statement = statement.where(health.store.in_(stores))
        if cameras:
            statement = statement.where(health.camera.in_(cameras))
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(statement)]

    def prune(self, older_than_days: float, now: datetime | None = None, store: str | None = None) -> int:
        """Forget the cameras (of one store, or of all) whose latest heartbeat is older than ``older_than_days``
        (the retention of visits), and stills taken before then: a camera taken out of service would
        otherwise stay in the camera panel as down for ever. Returns how many cameras were forgotten."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
        forgotten = {}
        with self.engine.begin() as connection:
            for table, taken in ((camera_stills, "taken_at"), (camera_health, "heartbeat_at")):
                of_store = [] if store is None else [table.c.store == store]
                forgotten[table.name] = connection.execute(
                    table.delete().where(table.c[taken] < cutoff, *of_store)
                ).rowcount
        return forgotten[camera_health.name]

    def still(self, store: str, camera: str) -> Still | None:
        """The camera's latest still, or None when it has none."""
        c = camera_stills.c
        statement = sa.select(c.jpeg, c.taken_at, c.width, c.height, c.frames).where(
            (c.store == store) & (c.camera == camera)
        )
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        return None if row is None else Still(**row._mapping)
