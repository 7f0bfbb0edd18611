"""availability (weekly pattern, dated blocks), interest in open gigs, cascade wave counts

Issue 16 items 1, 2 and 7: `expert_profiles.unavailable_slots` (bit weekday * 3 + slot set =
not available then), `availability_blocks` (dated periods: away, or a note for the
coordinators), `interests` (an expert's "I'm interested" in an open gig) and, on `gigs`, the
cascade's waves sent and planned for the coordinator's status message.

Revision ID: 0007_avail
Revises: 0007_lifecycle
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_avail"
down_revision = "0007_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("expert_profiles") as batch:
        batch.add_column(
            sa.Column("unavailable_slots", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("gigs") as batch:
        batch.add_column(sa.Column("waves_sent", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("waves_planned", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "availability_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("away", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_availability_blocks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_blocks")),
    )
    op.create_index(
        "ix_availability_blocks_user_starts",
        "availability_blocks",
        ["user_id", "starts_on"],
    )
    op.create_table(
        "interests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gig_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gig_id"], ["gigs.id"], name=op.f("fk_interests_gig_id_gigs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["users.id"],
            name=op.f("fk_interests_expert_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interests")),
        sa.UniqueConstraint("gig_id", "expert_id", name="uq_interests_gig_expert"),
    )


def downgrade() -> None:
    op.drop_table("interests")
    op.drop_index("ix_availability_blocks_user_starts", table_name="availability_blocks")
    op.drop_table("availability_blocks")
    with op.batch_alter_table("gigs") as batch:
        batch.drop_column("waves_planned")
        batch.drop_column("waves_sent")
    with op.batch_alter_table("expert_profiles") as batch:
        batch.drop_column("unavailable_slots")
