"""Daily roll-ups beside the hourly ones, back-filled from the events already stored.

A range of whole days reads a 24th of the rows it read from the hourly roll-ups alone; the day table's
columns are the hourly table's, with ``day`` (its UTC midnight) in place of ``hour``.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

from storemood.database import rollups
from storemood.database.schema import rollup_columns

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("day_rollups", *rollup_columns("day"))
    op.create_index("ix_day_rollups_day", "day_rollups", ["day"])
    rollups.rebuild(op.get_bind(), names=("day",))


def downgrade() -> None:
    op.drop_table("day_rollups")
