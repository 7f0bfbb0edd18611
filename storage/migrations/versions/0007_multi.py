"""several instances: calendar_feeds, inbox.chat_key, outbox.owner

calendar_feeds: a person's private calendar subscription (a hash of its secret);
inbox.chat_key: whose updates must be handled in order across instances;
outbox.owner: the instance sending a row, so only a gone instance's rows are resent.

Revision ID: 0007_multi
Revises: 0007_reorder
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_multi"
down_revision = "0007_reorder"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )

    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("chat_key", sa.BigInteger(), nullable=True))
        batch.create_index("ix_inbox_chat", ["chat_key", "update_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("owner", sa.Integer(), nullable=True))
        batch.create_index("ix_outbox_chat", ["chat_id", "id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_chat")
        batch.drop_column("owner")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_index("ix_inbox_chat")
        batch.drop_column("chat_key")
    op.drop_table("calendar_feeds")
