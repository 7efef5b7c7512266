"""Chain-level quarter-hour roll-ups: each product's sums over the whole chain per UTC quarter-hour,
back-filled from the events already stored.

A view that names no store, camera or zone and starts or ends inside an hour read every visit of those
partial hours from the events; it now reads their whole quarter-hours here and only the last minutes raw.
Local hours and days of zones whose offset is not whole hours (India +5:30, Nepal +5:45) are unions of UTC
quarter-hours, so such views read them too.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

from storemood.database import rollups
from storemood.database.schema import PRODUCT_KEYS, rollup_columns

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("product_quarter_rollups", *rollup_columns("quarter", PRODUCT_KEYS))
    op.create_index("ix_product_quarter_rollups_quarter", "product_quarter_rollups", ["quarter"])
    rollups.rebuild(op.get_bind(), names=("product_quarter",))


def downgrade() -> None:
    op.drop_table("product_quarter_rollups")
