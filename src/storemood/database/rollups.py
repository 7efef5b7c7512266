"""Hourly roll-ups of the events table, kept exact in the same transaction as every insert and delete.

A roll-up row (:class:`storemood.database.schema.RollupRow`) sums one UTC hour of one product in one zone
of one camera: visits, dwell, emotion counts and probability sums, and a dwell histogram with fixed
logarithmic bins (``DWELL_BIN_EDGES``). Writing events adds their sums (:func:`add_events`), pruning
subtracts them before the rows go (:func:`remove_events`); both are one ``INSERT ... SELECT ... ON CONFLICT
DO UPDATE`` that runs the same on SQLite and PostgreSQL. The sums are computed from the events table
itself, so an event counts once however many writers send it at the same time: the insert ignores known
ids, and only rows this transaction wrote (marked by its ``recorded_at``) are added.

:func:`histogram_quantile` reads a median (or its interval's bounds) back from the bins.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from functools import cache
from types import MappingProxyType

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

from storemood.database.schema import (
    DWELL_BIN_COLUMNS,
    DWELL_BIN_EDGES,
    EMOTION_COLUMNS,
    ROLLUP_KEYS,
    UTCDateTime,
    events,
    rollups,
)
from storemood.emotions import FER7


class HourStart(ColumnElement):
    """The start of the UTC hour of a stored time, in the column's own storage format."""

    inherit_cache = True
    type = UTCDateTime()

    def __init__(self, column: ColumnElement) -> None:
        self.column = column


@compiles(HourStart, "sqlite")
def _hour_start_sqlite(element: HourStart, compiler, **kw) -> str:
    return f"strftime('%Y-%m-%d %H:00:00.000000', {compiler.process(element.column, **kw)})"


@compiles(HourStart, "postgresql")
def _hour_start_postgresql(element: HourStart, compiler, **kw) -> str:
    # date_trunc on a timestamptz truncates in the session's zone, which may be half an hour off UTC.
    return f"(date_trunc('hour', {compiler.process(element.column, **kw)} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


def _dwell_bin(index: int) -> ColumnElement:
    """1 when an event's dwell falls in histogram bin ``index``, else 0."""
    lower = events.c.dwell_s >= DWELL_BIN_EDGES[index]
    if index + 1 < len(DWELL_BIN_EDGES):
        lower = lower & (events.c.dwell_s < DWELL_BIN_EDGES[index + 1])
    return sa.case((lower, 1), else_=0)


@cache
def event_measures() -> Mapping[str, ColumnElement]:
    """Each summed roll-up column as an expression over one event row (a group's sum is the roll-up's value).

    A visit without emotion probabilities (NULL) counts in visits, dwell and the histogram only. Built once
    and shared (read-only): building its 80 expressions took a third of a dashboard query's Python time.
    """
    probabilities_known = events.c[EMOTION_COLUMNS[FER7[0]]].is_not(None)
    return MappingProxyType(
        {
            "visits": sa.literal(1, sa.Integer),
            "dwell_sum_s": events.c.dwell_s,
            "emotion_visits": sa.case((probabilities_known, 1), else_=0),
            **{f"n_{emotion}": sa.case((events.c.dominant == emotion, 1), else_=0) for emotion in FER7},
            **{column: sa.func.coalesce(events.c[column], 0.0) for column in EMOTION_COLUMNS.values()},
            **{column: _dwell_bin(index) for index, column in enumerate(DWELL_BIN_COLUMNS)},
        }
    )


def _apply(connection: Connection, condition: ColumnElement[bool], sign: int) -> None:
    """Add (``sign`` 1) or subtract (-1) the sums of the events matching ``condition`` to the roll-ups."""
    keys = [events.c[name] for name in ROLLUP_KEYS]
    measures = event_measures()
    summed = sa.select(
        *keys, HourStart(events.c.start).label("hour"), *(sign * sa.func.sum(value) for value in measures.values())
    ).where(condition)
    summed = summed.group_by(*keys, HourStart(events.c.start))
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(rollups).from_select([*ROLLUP_KEYS, "hour", *measures], summed)
    statement = statement.on_conflict_do_update(
        index_elements=[*ROLLUP_KEYS, "hour"],
        set_={name: rollups.c[name] + statement.excluded[name] for name in measures},
    )
    connection.execute(statement)


def add_events(connection: Connection, condition: ColumnElement[bool]) -> None:
    """Add the events matching ``condition`` (just inserted, in this transaction) to the roll-ups."""
    _apply(connection, condition, 1)


def remove_events(connection: Connection, condition: ColumnElement[bool]) -> None:
    """Subtract the events matching ``condition`` (about to be deleted, in this transaction) from the roll-ups."""
    _apply(connection, condition, -1)
    connection.execute(rollups.delete().where(rollups.c.visits <= 0))


def rebuild(connection: Connection) -> None:
    """Recompute every roll-up from the events (after a migration or a bulk load that bypassed them)."""
    connection.execute(rollups.delete())
    add_events(connection, sa.true())


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
