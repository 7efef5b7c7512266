"""Quarter-hour roll-ups, per camera, zone and product and per product over the chain, back-filled from the
events already stored.

A range that starts or ends inside an hour read every visit of those partial hours from the events; it now
reads their whole quarter-hours here and only the last few minutes raw. Hours and days in zones whose
offset is not whole hours (India +5:30, Nepal +5:45) are unions of UTC quarter-hours, so they read them too.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

from storemood.database import rollups
from storemood.database.schema import PRODUCT_KEYS, ROLLUP_KEYS, rollup_columns

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name, keys in (("quarter_rollups", ROLLUP_KEYS), ("product_quarter_rollups", PRODUCT_KEYS)):
        op.create_table(name, *rollup_columns("quarter", keys))
        op.create_index(f"ix_{name}_quarter", name, ["quarter"])
    rollups.rebuild(op.get_bind(), names=("quarter", "product_quarter"))


def downgrade() -> None:
    op.drop_table("product_quarter_rollups")
    op.drop_table("quarter_rollups")
