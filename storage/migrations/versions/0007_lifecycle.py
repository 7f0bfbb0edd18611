"""offers: "I need more time" and swaps; gigs: content notes

- offers.more_time_at: when the expert asked once for more time to answer (None: not asked).
- offers.swap_from: a direct offer made because a confirmed colleague wants to hand over their
  seat: the id of that colleague's offer (None: an ordinary offer).
- gigs.content_themes, gigs.content_note: especially heavy themes the orderer named (codes of
  the order form's buttons, and a free line).

Revision ID: 0007_lifecycle
Revises: 0006_rank
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_lifecycle"
down_revision = "0006_rank"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("offers") as batch:
        batch.add_column(sa.Column("more_time_at", sa.DateTime(timezone=False), nullable=True))
        batch.add_column(sa.Column("swap_from", sa.Integer(), nullable=True))
    with op.batch_alter_table("gigs") as batch:
        batch.add_column(
            sa.Column("content_themes", sa.JSON(), nullable=False, server_default="[]")
        )
        batch.add_column(sa.Column("content_note", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("gigs") as batch:
        batch.drop_column("content_note")
        batch.drop_column("content_themes")
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("swap_from")
        batch.drop_column("more_time_at")
