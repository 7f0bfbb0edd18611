"""expert_profiles: bit masks of the list-valued fields ranking filters on

Ranking 10,000 experts decoded five JSON lists per expert in Python. The masks (bit i = the
i-th code of the list in storage.vocab; a code outside it sets storage.vocab.OTHER_BIT) let
SQL do the filtering. Backfilled here from the JSON lists; kept in step by the model on every
flush. An index on offers (status, gig_id, expert_id) lets the rotation's aggregates read
accepted offers without touching the table.

Revision ID: 0006_rank
Revises: 0005_checkin_answer
Create Date: 2026-11-29
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from storage import vocab

revision = "0006_rank"
down_revision = "0005_checkin_answer"
branch_labels = None
depends_on = None

COLUMNS = [f"{kind}_mask" for kind in vocab.KINDS]


def _listed(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table("expert_profiles") as batch:
        for column in COLUMNS:
            batch.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_offers_status_gig_expert", "offers", ["status", "gig_id", "expert_id"])
    bind = op.get_bind()
    profiles = sa.table(
        "expert_profiles",
        sa.column("user_id", sa.Integer),
        *(sa.column(kind, sa.JSON) for kind in vocab.KINDS),
        *(sa.column(column, sa.Integer) for column in COLUMNS),
    )
    rows = bind.execute(sa.select(profiles.c.user_id, *(profiles.c[k] for k in vocab.KINDS)))
    updates = [
        {
            "uid": row[0],
            **{
                f"{kind}_mask": vocab.mask(kind, _listed(value))
                for kind, value in zip(vocab.KINDS, row[1:], strict=True)
            },
        }
        for row in rows
    ]
    if updates:
        bind.execute(
            profiles.update()
            .where(profiles.c.user_id == sa.bindparam("uid"))
            .values({c: sa.bindparam(c) for c in COLUMNS}),
            updates,
        )


def downgrade() -> None:
    op.drop_index("ix_offers_status_gig_expert", table_name="offers")
    with op.batch_alter_table("expert_profiles") as batch:
        for column in COLUMNS:
            batch.drop_column(column)
