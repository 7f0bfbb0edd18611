"""outbox: a caption for images and files, and a parse mode for messages with links

Revision ID: 0004_words
Revises: 0003_anon
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_words"
down_revision = "0003_anon"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("caption", sa.Text(), nullable=True))
        batch.add_column(sa.Column("parse_mode", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("parse_mode")
        batch.drop_column("caption")
