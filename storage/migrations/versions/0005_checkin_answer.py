"""checkins: room for the longest answer code ("debrief_coordinator" is 19 characters)

PostgreSQL refused the request for a debrief talk with the coordinator ("value too long for
type character varying(16)"); SQLite does not enforce lengths, so only the PostgreSQL run saw it.

Revision ID: 0005_checkin_answer
Revises: 0004_words
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_checkin_answer"
down_revision = "0004_words"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkins") as batch:
        batch.alter_column("answer", existing_type=sa.String(length=16), type_=sa.String(length=32))


def downgrade() -> None:
    with op.batch_alter_table("checkins") as batch:
        batch.alter_column("answer", existing_type=sa.String(length=32), type_=sa.String(length=16))
