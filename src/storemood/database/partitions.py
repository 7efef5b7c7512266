"""Monthly partitions of the events table on PostgreSQL (declarative range partitioning on ``start``).

A chain writes millions of visits a month; one partition per UTC month keeps each month's indexes small
and lets retention drop a whole month (``DROP TABLE``) instead of deleting its rows one by one. Partitions
are named ``events_YYYY_MM``. Migrations create them from the first stored month to two months ahead;
:class:`~storemood.database.event_table.EventTable` creates a missing one before writing a visit of its
month. SQLite keeps one plain table: nothing here runs there.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: Advisory lock taken while creating partitions, so writers starting at once do not race on one name.
_PARTITION_LOCK_KEY = 0x53544F5245504152  # "STOREPAR"
#: Months created ahead of the current one by migrations.
MONTHS_AHEAD = 2


def month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of the month of ``moment``."""
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def months_between(first: datetime, last: datetime) -> list[datetime]:
    """Every month from the one of ``first`` to the one of ``last``, both included."""
    month, end = month_start(first), month_start(last)
    months = []
    while month <= end:
        months.append(month)
        month = next_month(month)
    return months


def partition_name(month: datetime) -> str:
    return f"events_{month:%Y_%m}"


def is_partitioned(connection: Connection) -> bool:
    """Whether ``events`` in the current schema is a partitioned table."""
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.scalar(sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass('events')"))
    return kind == "p"


def create_partitions(connection: Connection, months: Iterable[datetime]) -> None:
    """Create the partitions of ``months`` that do not exist yet."""
    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PARTITION_LOCK_KEY})
    for month in sorted(set(months)):
        connection.execute(
            sa.text(
                f'CREATE TABLE IF NOT EXISTS "{partition_name(month)}" PARTITION OF events '
                f"FOR VALUES FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')"
            )
        )


def existing_months(connection: Connection) -> list[datetime]:
    """The months that have a partition, oldest first."""
    names = connection.scalars(
        sa.text(
            "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = inhrelid "
            "WHERE inhparent = to_regclass('events')"
        )
    )
    return sorted(datetime.strptime(name, "events_%Y_%m").replace(tzinfo=UTC) for name in names)


def drop_months_ended_before(connection: Connection, cutoff: datetime) -> list[datetime]:
    """Drop the partitions whose every visit ended before ``cutoff``; returns their months.

    A month qualifies once it is wholly before the cut-off and none of its visits (which start in it)
    ended at or after the cut-off; a month that fails the second check keeps its rows for a row delete.
    """
    dropped = []
    for month in existing_months(connection):
        if next_month(month) > cutoff:
            break
        name = partition_name(month)
        late = connection.scalar(
            sa.text(f'SELECT EXISTS (SELECT 1 FROM "{name}" WHERE "end" >= :cutoff)'), {"cutoff": cutoff}
        )
        if not late:
            connection.execute(sa.text(f'DROP TABLE "{name}"'))
            dropped.append(month)
    return dropped
