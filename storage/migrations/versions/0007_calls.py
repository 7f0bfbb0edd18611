"""calls for interest; supervision, peer groups and training (issue 16, items 3 and 10)

calls, call_answers: a coordinator's call for a long-term role (a development group, a
recruitment panel, a steering group) and each invited expert's answer: interested (with an
optional line) or not this time; after the deadline the coordinator picks, and the chosen and
the others are told.

support_sessions, session_seats, training_requirements: a session (group supervision, a peer
group, a training) with a capacity; experts sign up or cancel, a waiting list fills the places
that free up, attendance is recorded afterwards; a gig type can require a completed training.

Revision ID: 0007_calls
Revises: 0007_avail
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_calls"
down_revision = "0007_avail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("involves", sa.Text(), nullable=False),
        sa.Column("commitment", sa.String(length=400), nullable=False),
        sa.Column("fee_cents", sa.Integer(), nullable=True),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(), nullable=False),
        sa.Column("gig_type", sa.String(length=32), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_calls_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
    )
    op.create_index("ix_calls_status_deadline", "calls", ["status", "deadline"])
    op.create_table(
        "call_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("picked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_call_answers_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["users.id"],
            name=op.f("fk_call_answers_expert_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_answers")),
        sa.UniqueConstraint("call_id", "expert_id", name="uq_call_answers_call_expert"),
    )
    op.create_index("ix_call_answers_expert", "call_answers", ["expert_id"])

    op.create_table(
        "support_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("training", sa.String(length=100), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(length=400), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attendance_asked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_support_sessions_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_sessions")),
    )
    op.create_index("ix_support_sessions_starts", "support_sessions", ["starts_at"])
    op.create_table(
        "session_seats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["support_sessions.id"],
            name=op.f("fk_session_seats_session_id_support_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["users.id"],
            name=op.f("fk_session_seats_expert_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_seats")),
        sa.UniqueConstraint("session_id", "expert_id", name="uq_session_seats_session_expert"),
    )
    op.create_index("ix_session_seats_expert", "session_seats", ["expert_id", "status"])
    op.create_table(
        "training_requirements",
        sa.Column("gig_type", sa.String(length=32), nullable=False),
        sa.Column("training", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("gig_type", name=op.f("pk_training_requirements")),
    )


def downgrade() -> None:
    op.drop_table("training_requirements")
    op.drop_index("ix_session_seats_expert", table_name="session_seats")
    op.drop_table("session_seats")
    op.drop_index("ix_support_sessions_starts", table_name="support_sessions")
    op.drop_table("support_sessions")
    op.drop_index("ix_call_answers_expert", table_name="call_answers")
    op.drop_table("call_answers")
    op.drop_index("ix_calls_status_deadline", table_name="calls")
    op.drop_table("calls")
