"""Roll-ups of the events table per quarter-hour, hour and day, kept exact in the same transaction as every
insert and delete.

A roll-up row (``storemood.database.schema.rollups``) sums one UTC hour of one product in one zone of one
camera, a ``day_rollups`` row one UTC day; the ``product_*`` tables hold the same sums per product over the
whole chain, per UTC day, hour and quarter-hour. Each sums visits, dwell, emotion counts and probability
sums, and a dwell histogram with fixed logarithmic bins (``DWELL_BIN_EDGES``). Writing events adds their
sums (:func:`add_events`), pruning subtracts them before the rows go (:func:`remove_events`); both are one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` per table that runs the same on SQLite and PostgreSQL. The
sums are computed from the events table itself, so an event counts once however many writers send it at
the same time: the insert ignores known ids, and only rows this transaction wrote (marked by its
``recorded_at``) are added.

:func:`histogram_quantile` reads a median (or its interval's bounds) back from the bins.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from types import MappingProxyType

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from storemood.database.schema import (
    DWELL_BIN_COLUMNS,
    DWELL_BIN_EDGES,
    EMOTION_COLUMNS,
    PRODUCT_KEYS,
    ROLLUP_KEYS,
    UTCDateTime,
    day_rollups,
    events,
    product_day_rollups,
    product_hour_rollups,
    product_quarter_rollups,
    rollups,
)
from storemood.emotions import FER7

#: The roll-up periods, coarsest first, and their lengths.
PERIODS = {"day": timedelta(days=1), "hour": timedelta(hours=1), "quarter": timedelta(minutes=15)}


class _PeriodBound(ColumnElement):
    """A bound of the UTC period (``unit``, one of :data:`PERIODS`) of a stored time, in the column's own
    storage format; each subclass compiles one bound."""

    inherit_cache = True
    _traverse_internals = (("column", InternalTraversal.dp_clauseelement), ("unit", InternalTraversal.dp_string))
    type = UTCDateTime()

    def __init__(self, column: ColumnElement, unit: str) -> None:
        self.column = column
        self.unit = unit

    @property
    def seconds(self) -> int:
        return int(PERIODS[self.unit].total_seconds())


class PeriodStart(_PeriodBound):
    """The start of the UTC quarter-hour, hour or day that a stored time falls in."""

    inherit_cache = True


class PeriodEnd(_PeriodBound):
    """The end of the period whose start a roll-up row's time column holds."""

    inherit_cache = True


@compiles(PeriodStart, "sqlite")
def _period_start_sqlite(element: PeriodStart, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    if element.unit == "quarter":
        minute = f"printf('%02d', CAST(strftime('%M', {column}) AS INTEGER) / 15 * 15)"
        return f"(strftime('%Y-%m-%d %H:', {column}) || {minute} || ':00.000000')"
    text = "%Y-%m-%d %H:00:00.000000" if element.unit == "hour" else "%Y-%m-%d 00:00:00.000000"
    return f"strftime('{text}', {column})"


@compiles(PeriodStart, "postgresql")
def _period_start_postgresql(element: PeriodStart, compiler, **kw) -> str:
    # date_trunc on a timestamptz truncates in the session's zone, which may be half an hour off UTC.
    column = compiler.process(element.column, **kw)
    if element.unit == "quarter":
        return f"date_bin(interval '{element.seconds} seconds', {column}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
    return f"(date_trunc('{element.unit}', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


@compiles(PeriodEnd, "sqlite")
def _period_end_sqlite(element: PeriodEnd, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    return f"strftime('%Y-%m-%d %H:%M:%S.000000', {column}, '+{element.seconds} seconds')"


@compiles(PeriodEnd, "postgresql")
def _period_end_postgresql(element: PeriodEnd, compiler, **kw) -> str:
    return f"({compiler.process(element.column, **kw)} + interval '{element.seconds} seconds')"


@dataclass(frozen=True)
class Tier:
    """One roll-up table: the keys its rows are summed by and the period each sums (its time column)."""

    table: sa.Table
    keys: tuple[str, ...]
    period: str

    @property
    def per_product(self) -> bool:
        """Whether its rows sum a product over the whole chain (no store among the keys)."""
        return "store" not in self.keys


#: The roll-up tables by name, camera-level first (the chain-level ones take their store span from them).
#: Whole days are read from a daily table, the remaining whole hours from an hourly one; views without a
#: store, camera or zone filter read the chain-level ones, and their remaining whole quarter-hours too.
TIERS: dict[str, Tier] = {
    "hour": Tier(rollups, ROLLUP_KEYS, "hour"),
    "day": Tier(day_rollups, ROLLUP_KEYS, "day"),
    "product_hour": Tier(product_hour_rollups, PRODUCT_KEYS, "hour"),
    "product_day": Tier(product_day_rollups, PRODUCT_KEYS, "day"),
    "product_quarter": Tier(product_quarter_rollups, PRODUCT_KEYS, "quarter"),
}


def constant(value: int | float | str) -> ColumnElement:
    """``value`` written into the SQL text instead of sent as a bound parameter.

    A roll-up read carries hundreds of constants (histogram edges, bin numbers, 1 and 0 of every count);
    as parameters, the driver rewrote and sent them on every query, which cost more than reading the rows.
    """
    if isinstance(value, str):
        return sa.literal_column("'" + value.replace("'", "''") + "'", sa.String)
    return sa.literal_column(repr(value), sa.Integer if isinstance(value, int) else sa.Float)


ONE, ZERO = constant(1), constant(0)


def _dwell_bin(index: int) -> ColumnElement:
    """1 when an event's dwell falls in histogram bin ``index``, else 0."""
    lower = events.c.dwell_s >= constant(DWELL_BIN_EDGES[index])
    if index + 1 < len(DWELL_BIN_EDGES):
        lower = lower & (events.c.dwell_s < constant(DWELL_BIN_EDGES[index + 1]))
    return sa.case((lower, ONE), else_=ZERO)


@cache
def event_measures() -> Mapping[str, ColumnElement]:
    """Each summed roll-up column as an expression over one event row (a group's sum is the roll-up's value).

    A visit without emotion probabilities (NULL) counts in visits, dwell and the histogram only. Built once
    and shared (read-only): building its 80 expressions took a third of a dashboard query's Python time.
    """
    probabilities_known = events.c[EMOTION_COLUMNS[FER7[0]]].is_not(None)
    return MappingProxyType(
        {
            "visits": ONE,
            "dwell_sum_s": events.c.dwell_s,
            "emotion_visits": sa.case((probabilities_known, ONE), else_=ZERO),
            **{f"n_{emotion}": sa.case((events.c.dominant == constant(emotion), ONE), else_=ZERO) for emotion in FER7},
            **{column: sa.func.coalesce(events.c[column], constant(0.0)) for column in EMOTION_COLUMNS.values()},
            **{column: _dwell_bin(index) for index, column in enumerate(DWELL_BIN_COLUMNS)},
        }
    )


def _upsert(tier: Tier, condition: ColumnElement[bool], sign: int, dialect_name: str) -> sa.Insert:
    """The statement that adds (``sign`` 1) or subtracts (-1) the sums of the events matching ``condition`` to
    ``tier``'s table, its rows upserted in key order: chain-level rows are written by every store's writers at
    once, and one lock order means no deadlock between them."""
    measures = event_measures()
    keys, start = [events.c[key] for key in tier.keys], PeriodStart(events.c.start, tier.period)
    span = [sa.func.min(events.c.store).label("store_low"), sa.func.max(events.c.store).label("store_high")]
    summed = (
        sa.select(
            *keys,
            start.label(tier.period),
            *(span if tier.per_product else ()),
            *(sign * sa.func.sum(value) for value in measures.values()),
        )
        .where(condition)
        .group_by(*keys, start)
        .order_by(*keys, start)
    )
    columns = [*tier.keys, tier.period, *(("store_low", "store_high") if tier.per_product else ()), *measures]
    statement = (postgresql if dialect_name == "postgresql" else sqlite).insert(tier.table).from_select(columns, summed)
    table, new = tier.table, statement.excluded
    updates = {column: table.c[column] + new[column] for column in measures}
    if tier.per_product:
        updates["store_low"] = sa.case((new.store_low < table.c.store_low, new.store_low), else_=table.c.store_low)
        updates["store_high"] = sa.case((new.store_high > table.c.store_high, new.store_high), else_=table.c.store_high)
    return statement.on_conflict_do_update(index_elements=[*tier.keys, tier.period], set_=updates)


def _apply(connection: Connection, condition: ColumnElement[bool], sign: int, names: Sequence[str]) -> None:
    """Add (``sign`` 1) or subtract (-1) the sums of the events matching ``condition`` to the roll-up tables
    ``names``."""
    for name in names:
        connection.execute(_upsert(TIERS[name], condition, sign, connection.dialect.name))


#: The events one write just inserted: its ids, stamped with its ``recorded_at`` (ids it skipped as known
#: carry an earlier stamp).
_JUST_WRITTEN = events.c.id.in_(sa.bindparam("written_ids", expanding=True)) & (
    events.c.recorded_at == sa.bindparam("recorded_at")
)


@cache
def _add_statements(dialect_name: str) -> tuple[sa.Insert, ...]:
    """Every table's upsert of the events a write just inserted, built once: building the statements of 80
    sums took longer than a whole write of a hundred visits with them (38 ms against 31 ms on PostgreSQL)."""
    return tuple(_upsert(tier, _JUST_WRITTEN, 1, dialect_name) for tier in TIERS.values())


def add_events(connection: Connection, ids: Sequence[str], recorded_at: datetime) -> None:
    """Add the events with ``ids`` that this transaction just inserted, stamped ``recorded_at``, to the
    roll-ups."""
    for statement in _add_statements(connection.dialect.name):
        connection.execute(statement, {"written_ids": list(ids), "recorded_at": recorded_at})


def remove_events(connection: Connection, condition: ColumnElement[bool]) -> None:
    """Subtract the events matching ``condition`` (about to be deleted, in this transaction) from the roll-ups;
    the chain-level rows they touched take their store span again from the camera-level rows left."""
    _apply(connection, condition, -1, tuple(TIERS))
    for tier in TIERS.values():
        connection.execute(tier.table.delete().where(tier.table.c.visits <= 0))
    for tier in TIERS.values():
        if tier.per_product:
            _restore_store_span(connection, tier, condition)


def _restore_store_span(connection: Connection, tier: Tier, condition: ColumnElement[bool]) -> None:
    """Recompute ``store_low`` and ``store_high`` of the chain-level rows that events matching ``condition``
    fall in (a subtraction cannot say which stores remain), from the camera-level rows of the same period, or,
    for quarter-hours, which have none, from the other events of that quarter-hour."""
    table = tier.table
    camera_level = (other.table for other in TIERS.values() if other.period == tier.period and not other.per_product)
    source = next(camera_level, None)
    if source is None:
        period = table.c[tier.period]
        source, same = events, [events.c.start >= period, events.c.start < PeriodEnd(period, tier.period), ~condition]
    else:
        same = [source.c[tier.period] == table.c[tier.period]]
    same += [source.c[key] == table.c[key] for key in tier.keys]
    touched = sa.exists().where(
        condition,
        *(events.c[key] == table.c[key] for key in tier.keys),
        PeriodStart(events.c.start, tier.period) == table.c[tier.period],
    )
    connection.execute(
        table.update()
        .where(touched)
        .values(
            store_low=sa.select(sa.func.min(source.c.store)).where(*same).scalar_subquery(),
            store_high=sa.select(sa.func.max(source.c.store)).where(*same).scalar_subquery(),
        )
    )


def rebuild(connection: Connection, names: Sequence[str] = tuple(TIERS)) -> None:
    """Recompute the roll-up tables ``names`` from the events (after a migration, or a bulk load that bypassed
    them); a migration names the tables that exist at its revision."""
    for name in names:
        connection.execute(TIERS[name].table.delete())
    _apply(connection, sa.true(), 1, names)


def histogram_quantile(counts: Sequence[int], rank: float) -> float | None:
    """The dwell at ``rank`` (0..visits, fractional) of a histogram over ``DWELL_BIN_EDGES``; None if empty.

    Within a bin the values are taken as spread evenly in log-dwell (linearly in the first bin, which
    starts at 0); the open last bin answers its lower edge. The median is ``rank = visits / 2``.

    >>> round(histogram_quantile([0] * 29 + [2] + [0] * 32, 1.0), 2)  # two visits in bin [12 s, 14.27 s)
    13.09
    """
    total = sum(counts)
    if not total:
        return None
    cumulative, running = [], 0
    for count in counts:
        running += count
        cumulative.append(running)
    index = min(bisect.bisect_left(cumulative, rank), len(counts) - 1)
    while counts[index] == 0:  # rank 0 falls before the first filled bin
        index += 1
    below = cumulative[index] - counts[index]
    fraction = min(max((rank - below) / counts[index], 0.0), 1.0)
    lower = DWELL_BIN_EDGES[index]
    if index + 1 == len(DWELL_BIN_EDGES):
        return lower
    upper = DWELL_BIN_EDGES[index + 1]
    return lower + fraction * (upper - lower) if lower == 0 else lower * (upper / lower) ** fraction
