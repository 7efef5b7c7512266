"""PostgreSQL: events partitioned by month; an existing table's events moved into the partitions.

A partitioned table's primary key and unique constraints must include the partition key, so the primary key
becomes ``(seq, start)`` and the event id's uniqueness ``(id, start)``. Idempotent delivery still holds: a
visit sent twice carries the same id and the same start, so the second copy is the conflict it was before.
SQLite is left as it is.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from storemood.database import partitions

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_events_start": ["start"],
    "ix_events_store_start": ["store", "start"],
    "ix_events_product": ["product"],
    "ix_events_brand": ["brand"],
}


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    op.rename_table("events", "events_unpartitioned")
    for name in _INDEXES:
        op.drop_index(name, table_name="events_unpartitioned")
    op.drop_constraint("events_pkey", "events_unpartitioned")
    op.drop_constraint("events_id_key", "events_unpartitioned")
    op.execute('CREATE TABLE events (LIKE events_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE ("start")')
    op.execute("ALTER SEQUENCE events_seq_seq OWNED BY events.seq")
    op.create_primary_key("events_pkey", "events", ["seq", "start"])
    op.create_unique_constraint("events_id_start_key", "events", ["id", "start"])
    for name, columns in _INDEXES.items():
        op.create_index(name, "events", columns)
    now = datetime.now(UTC)
    first = connection.scalar(sa.text('SELECT min("start") FROM events_unpartitioned')) or now
    last = max(connection.scalar(sa.text('SELECT max("start") FROM events_unpartitioned')) or now, now)
    ahead = partitions.month_start(last)
    for _ in range(partitions.MONTHS_AHEAD):
        ahead = partitions.next_month(ahead)
    partitions.create_partitions(connection, partitions.months_between(first, ahead))
    op.execute("INSERT INTO events SELECT * FROM events_unpartitioned")
    op.drop_table("events_unpartitioned")


def downgrade() -> None:
    raise NotImplementedError("events stay partitioned; restore a backup to go back")
