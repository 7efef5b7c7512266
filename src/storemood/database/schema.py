"""The database tables: one row per visit event, the stores that wrote them, and each camera's latest
heartbeat and still.

Times are stored in UTC. SQLite keeps datetimes as naive text, PostgreSQL as ``timestamptz``; the
:class:`UTCDateTime` type makes both hand back timezone-aware UTC datetimes, so queries and reports
behave the same on either. The emotion columns are FER2013's seven classes; a model with fewer classes
leaves the others at 0. A visit whose face was never readable (turned away, too small) has NULL in every
emotion column and in ``dominant``; ``readable_frames`` is NULL for visits written before it was recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storemood.emotions import FER7

#: Column name of each emotion's mean probability, e.g. ``p_happy``.
EMOTION_COLUMNS: dict[str, str] = {emotion: f"p_{emotion}" for emotion in FER7}


class UTCDateTime(sa.TypeDecorator):
    """A datetime column that always stores UTC and always returns timezone-aware UTC datetimes."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC time is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Auto-increment sequence: BIGINT identity on PostgreSQL, SQLite's INTEGER rowid alias.
SequenceInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class EventRow(Base):
    """One visit of one track to one zone (see :class:`storemood.visit_record.VisitEvent`)."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(SequenceInt, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(sa.String(36), unique=True, nullable=False)
    store: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    camera: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    zone: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    product: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    product_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    brand: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    track_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    dwell_s: Mapped[float] = mapped_column(sa.Float, nullable=False)
    frames: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    p_angry: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    p_disgust: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    p_fear: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    p_happy: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    p_neutral: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    p_sad: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    p_surprise: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    dominant: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    readable_frames: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    face_score: Mapped[float] = mapped_column(sa.Float, nullable=False)
    face_size: Mapped[float] = mapped_column(sa.Float, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        sa.Index("ix_events_start", "start"),
        sa.Index("ix_events_store_start", "store", "start"),
        sa.Index("ix_events_product", "product"),
        sa.Index("ix_events_brand", "brand"),
    )


#: Lower edges (seconds) of the roll-ups' dwell histogram: 0, then four bins per doubling from 3/32 s to
#: 3072 s (3·2^(k/4), k = -20..40), so the default engagement threshold (3 s) and its doublings are edges.
#: Bin ``i`` holds dwell in ``[edges[i], edges[i+1])``; the last bin is open-ended.
DWELL_BIN_EDGES: tuple[float, ...] = (0.0, *(3.0 * 2 ** (k / 4) for k in range(-20, 41)))
#: Column name of each dwell histogram bin, e.g. ``dwell_bin_09``.
DWELL_BIN_COLUMNS: tuple[str, ...] = tuple(f"dwell_bin_{index:02d}" for index in range(len(DWELL_BIN_EDGES)))
#: Columns that identify a roll-up row besides its hour (brand and name follow the product, so add no rows).
ROLLUP_KEYS = ("store", "camera", "zone", "product", "brand", "product_name")
#: Columns that identify a chain-level roll-up row besides its period: a product wherever it was seen.
PRODUCT_KEYS = ("product", "brand", "product_name")


def rollup_columns(period: str, keys: tuple[str, ...] = ROLLUP_KEYS) -> list[sa.Column]:
    """A roll-up table's columns: its keys, the start of its ``period`` (primary key), and every sum; a table
    without ``store`` among its keys also keeps the lowest and highest store id of its visits, so that a
    group seen in one store only still names it."""
    return [
        *(
            sa.Column(key, sa.String(64 if key in ("store", "camera", "zone", "product") else 200), primary_key=True)
            for key in keys
        ),
        sa.Column(period, UTCDateTime, primary_key=True),
        *(
            sa.Column(name, sa.String(64), nullable=False)
            for name in ("store_low", "store_high")
            if "store" not in keys
        ),
        sa.Column("visits", sa.Integer, nullable=False),
        sa.Column("dwell_sum_s", sa.Float, nullable=False),
        sa.Column("emotion_visits", sa.Integer, nullable=False),
        *(sa.Column(f"n_{emotion}", sa.Integer, nullable=False) for emotion in FER7),
        *(sa.Column(column, sa.Float, nullable=False) for column in EMOTION_COLUMNS.values()),
        *(sa.Column(column, sa.Integer, nullable=False) for column in DWELL_BIN_COLUMNS),
    ]


#: The visits of one product in one zone of one camera, summed over one UTC hour (``hour`` is its start).
#: Kept in step with ``events`` in the same transaction (:mod:`storemood.database.rollups`), so reports read
#: whole hours here instead of scanning every visit. Per emotion: ``n_*`` visits whose dominant emotion it
#: was, ``p_*`` the sum of its probability over the ``emotion_visits`` that had probabilities.
rollups = sa.Table("rollups", Base.metadata, *rollup_columns("hour"), sa.Index("ix_rollups_hour", "hour"))
#: The same sums per UTC day (``day`` is its midnight): what a range of whole days reads, a
#: 24th of the hourly rows. Kept in the same transaction as the hourly ones.
day_rollups = sa.Table("day_rollups", Base.metadata, *rollup_columns("day"), sa.Index("ix_day_rollups_day", "day"))
#: The same sums per product over the whole chain, per UTC quarter-hour, hour and day: what a view without a
#: store, camera or zone filter reads, one row per product instead of one per camera, zone and product.
#: Quarter-hours (``quarter`` is the start: 00, 15, 30 or 45 minutes past a UTC hour) are what the edges of
#: a range read instead of raw events, and what local hours of zones such as India's (+5:30) are made of.
#: There are none per camera: at a chain's density a camera sees a visit or two a quarter-hour, so such a
#: table would hold a row per visit (half as much again as the whole database) and save no reading.
product_quarter_rollups = sa.Table(
    "product_quarter_rollups",
    Base.metadata,
    *rollup_columns("quarter", PRODUCT_KEYS),
    sa.Index("ix_product_quarter_rollups_quarter", "quarter"),
)
product_hour_rollups = sa.Table(
    "product_hour_rollups",
    Base.metadata,
    *rollup_columns("hour", PRODUCT_KEYS),
    sa.Index("ix_product_hour_rollups_hour", "hour"),
)
product_day_rollups = sa.Table(
    "product_day_rollups",
    Base.metadata,
    *rollup_columns("day", PRODUCT_KEYS),
    sa.Index("ix_product_day_rollups_day", "day"),
)


class StoreRow(Base):
    """A store that has written events: its id and human-readable name (from its store.yaml)."""

    __tablename__ = "stores"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")


class CameraHealthRow(Base):
    """The latest heartbeat of one camera's run (replaced every few seconds) and the zones it sees.

    Disposable: a lost heartbeat is replaced by the next one. Nothing in it can identify a person.
    """

    __tablename__ = "camera_health"

    store: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    camera: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    run_started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    running: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    last_frame: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    fps: Mapped[float] = mapped_column(sa.Float, nullable=False)
    analysed_fps: Mapped[float] = mapped_column(sa.Float, nullable=False)
    frames_read: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    dropped_frames: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    reconnects: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    faces_seen: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    faces_seen_interval: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    frame_width: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    frame_height: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    zones: Mapped[list] = mapped_column(sa.JSON, nullable=False)


class CameraStillRow(Base):
    """The latest still of one camera: a JPEG of the per-pixel median of frames kept over time."""

    __tablename__ = "camera_stills"

    store: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    camera: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    width: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    height: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    frames: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    jpeg: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)


events = EventRow.__table__
stores = StoreRow.__table__
camera_health = CameraHealthRow.__table__
camera_stills = CameraStillRow.__table__
