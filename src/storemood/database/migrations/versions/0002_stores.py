"""The stores table (id and name), backfilled from the stores that already have events.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    # Stores that wrote events before this table existed keep appearing in listings: name = id.
    op.execute("INSERT INTO stores (id, name) SELECT DISTINCT store, store FROM events")


def downgrade() -> None:
    op.drop_table("stores")
