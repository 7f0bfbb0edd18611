"""expert_rotation.order_key: the rotation's figures packed in one integer

A ranking of 10,000 experts sorted them in Python by four values each; it now sorts one
integer per expert, kept with the figures (bot/services/dispatch/ranking.py, `order_key`).
The column starts at 0 and every row is made due now, so the bot computes each key by its own
rule before its first ranking reads them, as after 0007_perf.

Revision ID: 0008_order_key
Revises: 0007_perf
Create Date: 2026-11-29
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008_order_key"
down_revision = "0007_perf"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("expert_rotation") as batch:
        batch.add_column(
            sa.Column("order_key", sa.BigInteger(), server_default="0", nullable=False)
        )
    rotation = sa.table("expert_rotation", sa.column("fresh_until", sa.DateTime))
    now = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as stored
    op.get_bind().execute(rotation.update().values(fresh_until=now))


def downgrade() -> None:
    with op.batch_alter_table("expert_rotation") as batch:
        batch.drop_column("order_key")
