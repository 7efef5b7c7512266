"""Each camera's latest heartbeat (with its zones) and latest still.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_health",
        sa.Column("store", sa.String(64), primary_key=True),
        sa.Column("camera", sa.String(64), primary_key=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("running", sa.Boolean, nullable=False),
        sa.Column("last_frame", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fps", sa.Float, nullable=False),
        sa.Column("analysed_fps", sa.Float, nullable=False),
        sa.Column("frames_read", sa.Integer, nullable=False),
        sa.Column("dropped_frames", sa.Integer, nullable=False),
        sa.Column("reconnects", sa.Integer, nullable=False),
        sa.Column("faces_seen", sa.Integer, nullable=False),
        sa.Column("faces_seen_interval", sa.Integer, nullable=False),
        sa.Column("frame_width", sa.Integer, nullable=False),
        sa.Column("frame_height", sa.Integer, nullable=False),
        sa.Column("zones", sa.JSON, nullable=False),
    )
    op.create_table(
        "camera_stills",
        sa.Column("store", sa.String(64), primary_key=True),
        sa.Column("camera", sa.String(64), primary_key=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("frames", sa.Integer, nullable=False),
        sa.Column("jpeg", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("camera_stills")
    op.drop_table("camera_health")
