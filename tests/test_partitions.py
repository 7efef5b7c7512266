"""PostgreSQL's monthly event partitions: the migration keeps every event, writers create missing months,
retention drops whole months, and a visit sent twice is still stored once."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from storemood.database import partitions
from storemood.database import rollups as rollup_sums
from storemood.database.engine import create_db_engine, migrate
from storemood.database.event_table import EventTable
from storemood.database.schema import events, rollups
from synthetic_events import EPOCH, row_before_0006, synthetic_events

pytestmark = pytest.mark.postgres

#: Visits from 1 November 2026 over 70 days: three months.
VISITS = list(synthetic_events(900, seed=21, days=70))


def _assert_rollups_count_the_events(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        summed = connection.scalar(sa.select(sa.func.coalesce(sa.func.sum(rollups.c.visits), 0)))
        assert summed == connection.scalar(sa.select(sa.func.count()).select_from(events))


def _months(engine: sa.Engine) -> list[datetime]:
    with engine.connect() as connection:
        return partitions.existing_months(connection)


def test_migration_moves_an_unpartitioned_table_without_losing_events(pg_url):
    engine = create_db_engine(pg_url)
    migrate(engine, "0004")
    rows = [row_before_0006(visit) for visit in VISITS]
    with engine.begin() as connection:
        connection.execute(events.insert(), rows)
        rollup_sums.rebuild(connection, names=("hour",))  # the tables of revision 0004
    migrate(engine)
    with engine.connect() as connection:
        assert partitions.is_partitioned(connection)
        stored = set(connection.scalars(sa.select(events.c.id)))
    assert stored == {visit.id for visit in VISITS}
    assert _months(engine)[:3] == partitions.months_between(EPOCH, EPOCH + timedelta(days=69))
    assert _months(engine)[-1] >= partitions.month_start(datetime.now(UTC))
    _assert_rollups_count_the_events(engine)
    with EventTable(engine=engine) as table:
        assert table.add(VISITS[::3]) == 0  # exactly once: the same ids and starts conflict as before
        assert table.add([dataclasses.replace(VISITS[0], id="after-migration")]) == 1
        assert table.count() == len(VISITS) + 1
        _assert_rollups_count_the_events(engine)


def test_writer_creates_the_month_a_visit_needs(pg_url):
    later = datetime(2031, 5, 17, 10, tzinfo=UTC)
    visit = dataclasses.replace(VISITS[0], start=later, end=later + timedelta(seconds=4))
    with EventTable(pg_url) as table:
        assert partitions.month_start(later) not in _months(table.engine)
        assert table.add([visit]) == 1
        assert table.add([visit]) == 0
        assert partitions.month_start(later) in _months(table.engine)


def test_retention_drops_whole_months_and_keeps_a_visit_that_ends_after_the_cutoff(pg_url):
    month_end = datetime(2026, 12, 1, tzinfo=UTC)
    straddling = dataclasses.replace(
        VISITS[0], id="straddling", start=month_end - timedelta(seconds=2), end=month_end + timedelta(seconds=5)
    )
    with EventTable(pg_url) as table:
        table.add([*VISITS, straddling])
        cutoff = month_end + timedelta(seconds=1)
        before_cutoff = sum(visit.end < cutoff for visit in VISITS)
        assert table.prune(older_than_days=1, now=cutoff + timedelta(days=1)) == before_cutoff
        assert datetime(2026, 11, 1, tzinfo=UTC) in _months(table.engine)  # kept for its straddling visit
        assert table.count() == len(VISITS) + 1 - before_cutoff
        _assert_rollups_count_the_events(table.engine)
        january = datetime(2027, 1, 1, tzinfo=UTC)
        in_2026 = sum(visit.end < january for visit in VISITS) + 1 - before_cutoff
        assert table.prune(older_than_days=1, now=january + timedelta(days=1)) == in_2026
        assert _months(table.engine)[0] == january
        assert table.count() == sum(visit.end >= january for visit in VISITS)
        _assert_rollups_count_the_events(table.engine)
