"""Chain-level roll-ups: each product's sums over the whole chain per UTC hour and per UTC day, back-filled
from the events already stored.

Views without a store, camera or zone filter read one row per product and period here instead of one per
camera, zone and product; ``store_low`` and ``store_high`` keep the span of store ids, so a product seen in
one store only still names it.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

from storemood.database import rollups
from storemood.database.schema import PRODUCT_KEYS, rollup_columns

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name, period in (("product_hour_rollups", "hour"), ("product_day_rollups", "day")):
        op.create_table(name, *rollup_columns(period, PRODUCT_KEYS))
        op.create_index(f"ix_{name}_{period}", name, [period])
    rollups.rebuild(op.get_bind(), names=("product_hour", "product_day"))


def downgrade() -> None:
    op.drop_table("product_day_rollups")
    op.drop_table("product_hour_rollups")
