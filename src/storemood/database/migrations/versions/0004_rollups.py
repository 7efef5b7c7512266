"""Hourly roll-ups of the events, back-filled from the events already stored.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storemood.database import rollups
from storemood.database.schema import DWELL_BIN_COLUMNS, EMOTION_COLUMNS
from storemood.emotions import FER7

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollups",
        sa.Column("store", sa.String(64), primary_key=True),
        sa.Column("camera", sa.String(64), primary_key=True),
        sa.Column("zone", sa.String(64), primary_key=True),
        sa.Column("product", sa.String(64), primary_key=True),
        sa.Column("brand", sa.String(200), primary_key=True),
        sa.Column("product_name", sa.String(200), primary_key=True),
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("visits", sa.Integer, nullable=False),
        sa.Column("dwell_sum_s", sa.Float, nullable=False),
        sa.Column("emotion_visits", sa.Integer, nullable=False),
        *(sa.Column(f"n_{emotion}", sa.Integer, nullable=False) for emotion in FER7),
        *(sa.Column(column, sa.Float, nullable=False) for column in EMOTION_COLUMNS.values()),
        *(sa.Column(column, sa.Integer, nullable=False) for column in DWELL_BIN_COLUMNS),
    )
    op.create_index("ix_rollups_hour", "rollups", ["hour"])
    rollups.rebuild(op.get_bind(), names=("hour",))


def downgrade() -> None:
    op.drop_table("rollups")
