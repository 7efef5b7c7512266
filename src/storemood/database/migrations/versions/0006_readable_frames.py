"""Visits whose face was never readable: emotion columns and ``dominant`` may be NULL, and each visit records
how many of its frames were read (``readable_frames``, NULL for the visits stored before).

Existing visits keep their values. On SQLite the table is rebuilt to relax the columns (``batch_alter_table``
copies every row); on PostgreSQL the columns change in place, partitions included.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storemood.database.schema import EMOTION_COLUMNS

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("readable_frames", sa.Integer, nullable=True))
        for column in EMOTION_COLUMNS.values():
            batch.alter_column(column, existing_type=sa.Float, nullable=True, server_default=None)
        batch.alter_column("dominant", existing_type=sa.String(16), nullable=True)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM events WHERE dominant IS NULL"))
    with op.batch_alter_table("events") as batch:
        batch.alter_column("dominant", existing_type=sa.String(16), nullable=False)
        for column in EMOTION_COLUMNS.values():
            batch.alter_column(column, existing_type=sa.Float, nullable=False)
        batch.drop_column("readable_frames")
