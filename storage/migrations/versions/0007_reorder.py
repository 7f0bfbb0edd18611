"""gig_series: an order for several dates, and gigs.series_id linking each date to it

A series is approved once; each date is its own gig (check-ins, fees, feedback and reports
count it as one), linked by `series_id`. `whole` says whether experts take every date at once.

Revision ID: 0007_reorder
Revises: 0007_calls
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_reorder"
down_revision = "0007_calls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gig_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("orderer_id", sa.Integer(), nullable=False),
        sa.Column("repeat", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("whole", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["orderer_id"], ["users.id"], name=op.f("fk_gig_series_orderer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gig_series")),
    )
    with op.batch_alter_table("gigs") as batch:
        batch.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_gigs_series_id_gig_series"),
            "gig_series",
            ["series_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(batch.f("ix_gigs_series_id"), ["series_id"])


def downgrade() -> None:
    with op.batch_alter_table("gigs") as batch:
        batch.drop_index(batch.f("ix_gigs_series_id"))
        batch.drop_constraint(batch.f("fk_gigs_series_id_gig_series"), type_="foreignkey")
        batch.drop_column("series_id")
    op.drop_table("gig_series")
