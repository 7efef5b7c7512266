"""The events table: one row per visit.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

EMOTIONS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("store", sa.String(64), nullable=False),
        sa.Column("camera", sa.String(64), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("brand", sa.String(200), nullable=False),
        sa.Column("track_id", sa.Integer, nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dwell_s", sa.Float, nullable=False),
        sa.Column("frames", sa.Integer, nullable=False),
        *(sa.Column(f"p_{emotion}", sa.Float, nullable=False) for emotion in EMOTIONS),
        sa.Column("dominant", sa.String(16), nullable=False),
        sa.Column("face_score", sa.Float, nullable=False),
        sa.Column("face_size", sa.Float, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_events_start", "events", ["start"])
    op.create_index("ix_events_store_start", "events", ["store", "start"])
    op.create_index("ix_events_product", "events", ["product"])
    op.create_index("ix_events_brand", "events", ["brand"])


def downgrade() -> None:
    op.drop_table("events")
