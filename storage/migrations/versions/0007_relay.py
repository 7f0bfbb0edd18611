"""relay: the orderer's side of a gig

- feedback_rounds.orderer_told: the orderer has been sent the round's released results;
- gigs.checklist, gigs.talk_first: the responsible-ordering checklist the orderer ticked
  (bit i = the i-th item of bot.services.orders.CHECKLIST), or "not yet, let's talk";
- relay_messages: the messages of a gig's relay (bot/services/relay.py);
- prep_calls, prep_answers: the orderer's proposed preparation meeting and the confirmed
  experts' answers (bot/services/prep.py).

Revision ID: 0007_relay
Revises: 0007_multi
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_relay"
down_revision = "0007_multi"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gig_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("sender_role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gig_id"],
            ["gigs.id"],
            name=op.f("fk_relay_messages_gig_id_gigs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["users.id"], name=op.f("fk_relay_messages_sender_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_messages")),
    )
    op.create_index("ix_relay_messages_gig_id", "relay_messages", ["gig_id"])
    op.create_index("ix_relay_messages_sender_id", "relay_messages", ["sender_id"])
    op.create_table(
        "prep_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gig_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("place", sa.String(400), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gig_id"], ["gigs.id"], name=op.f("fk_prep_calls_gig_id_gigs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prep_calls")),
        sa.UniqueConstraint("gig_id", name=op.f("uq_prep_calls_gig_id")),
    )
    op.create_table(
        "prep_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("suggested_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["prep_calls.id"],
            name=op.f("fk_prep_answers_call_id_prep_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["users.id"], name=op.f("fk_prep_answers_expert_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prep_answers")),
        sa.UniqueConstraint("call_id", "expert_id", name="uq_prep_answers_call_expert"),
    )
    op.create_index("ix_prep_answers_expert_id", "prep_answers", ["expert_id"])
    with op.batch_alter_table("gigs") as batch:
        batch.add_column(sa.Column("checklist", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("talk_first", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("feedback_rounds") as batch:
        batch.add_column(
            sa.Column("orderer_told", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Rounds closed before this revision are not pushed to their orderers all at once on the
    # first tick after the deploy; /myorders shows them.
    rounds = sa.table(
        "feedback_rounds", sa.column("closed", sa.Boolean), sa.column("orderer_told", sa.Boolean)
    )
    op.execute(rounds.update().where(rounds.c.closed.is_(True)).values(orderer_told=True))


def downgrade() -> None:
    op.drop_index("ix_prep_answers_expert_id", table_name="prep_answers")
    op.drop_table("prep_answers")
    op.drop_table("prep_calls")
    op.drop_index("ix_relay_messages_sender_id", table_name="relay_messages")
    op.drop_index("ix_relay_messages_gig_id", table_name="relay_messages")
    op.drop_table("relay_messages")
    with op.batch_alter_table("gigs") as batch:
        batch.drop_column("talk_first")
        batch.drop_column("checklist")
    with op.batch_alter_table("feedback_rounds") as batch:
        batch.drop_column("orderer_told")
