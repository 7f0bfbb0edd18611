"""expert_rotation: the fair rotation's figures kept per expert

Ranking aggregated a year of accepted offers for every expert on every ranking. The figures
(gigs and minutes held in the last 90 days, the last gig) are now kept per expert and
recomputed whenever that expert's seats change, or when time moves them (`fresh_until`).
Backfilled here from the existing offers as of the moment of the upgrade, with `fresh_until`
set to that moment, so the bot checks every backfilled row once by its own rule on its first
ranking (bot/services/dispatch/ranking.py).

Revision ID: 0007_perf
Revises: 0007_money
Create Date: 2026-11-29
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0007_perf"
down_revision = "0007_money"
branch_labels = None
depends_on = None

ROTATION_DAYS = 90  # bot.services.dispatch.ranking.ROTATION_DAYS, frozen with this revision
HAPPENING = ("open", "filled", "done")  # storage.models.GigStatus.HAPPENING


def upgrade() -> None:
    op.create_table(
        "expert_rotation",
        sa.Column("expert_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("gigs_90d", sa.Integer(), nullable=False),
        sa.Column("minutes_90d", sa.Integer(), nullable=False),
        sa.Column("last_gig", sa.DateTime(), nullable=True),
        sa.Column("fresh_until", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["expert_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("expert_id"),
    )
    op.create_index("ix_expert_rotation_fresh_until", "expert_rotation", ["fresh_until"])
    _backfill()


def _backfill() -> None:
    """Every expert with a confirmed gig gets their figures as of now (naive UTC, as stored)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    since = now - timedelta(days=ROTATION_DAYS)
    offers = sa.table(
        "offers",
        sa.column("gig_id", sa.Integer),
        sa.column("expert_id", sa.Integer),
        sa.column("status", sa.String),
    )
    gigs = sa.table(
        "gigs",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("starts_at", sa.DateTime),
        sa.column("duration_min", sa.Integer),
    )
    held = gigs.c.starts_at < now
    recent = sa.and_(held, gigs.c.starts_at >= since)
    figures = (
        sa.select(
            offers.c.expert_id,
            sa.func.coalesce(sa.func.sum(sa.case((recent, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((recent, gigs.c.duration_min), else_=0)), 0),
            sa.func.max(sa.case((held, gigs.c.starts_at))),
            sa.literal(now, sa.DateTime()),
        )
        .join(gigs, gigs.c.id == offers.c.gig_id)
        .where(offers.c.status == "accepted", gigs.c.status.in_(HAPPENING))
        .group_by(offers.c.expert_id)
    )
    rotation = sa.table(
        "expert_rotation",
        sa.column("expert_id", sa.Integer),
        sa.column("gigs_90d", sa.Integer),
        sa.column("minutes_90d", sa.Integer),
        sa.column("last_gig", sa.DateTime),
        sa.column("fresh_until", sa.DateTime),
    )
    op.get_bind().execute(
        rotation.insert().from_select(
            ["expert_id", "gigs_90d", "minutes_90d", "last_gig", "fresh_until"], figures
        )
    )


def downgrade() -> None:
    op.drop_index("ix_expert_rotation_fresh_until", table_name="expert_rotation")
    op.drop_table("expert_rotation")
