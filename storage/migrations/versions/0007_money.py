"""gigs.order_ref: the orderer's own order number or reference, for billing

Revision ID: 0007_money
Revises: 0006_rank
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_money"
down_revision = "0006_rank"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gigs") as batch:
        batch.add_column(
            sa.Column("order_ref", sa.String(60), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("gigs") as batch:
        batch.drop_column("order_ref")
