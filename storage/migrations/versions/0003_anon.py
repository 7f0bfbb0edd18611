"""anonymity: inbox payloads only until handled, answers under random keys, named decided early

- inbox: the payload becomes nullable and is dropped once an update is handled (done rows lose
  theirs now); the exact arrival time goes (the update_id is all that is needed).
- feedback_answers: random 32-hex keys instead of arrival-order integers, and no answer day.
  The table is rebuilt so that neither keys nor row order follow arrival.
- gigs.feedback_named: named or anonymous is decided before the link is sent.

Revision ID: 0003_anon
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003_anon"
down_revision = "0002_erasure"
branch_labels = None
depends_on = None

ANSWER_FIELDS = ("round_id", "person_hash", "usefulness", "stayed", "better", "step", "respondent")


def _answers_table(id_type: sa.types.TypeEngine[Any], with_day: bool) -> None:
    columns: list[sa.Column[Any]] = [
        sa.Column("id", id_type, nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("person_hash", sa.String(length=64), nullable=True),
        sa.Column("usefulness", sa.Integer(), nullable=False),
        sa.Column("stayed", sa.Text(), nullable=False),
        sa.Column("better", sa.Text(), nullable=False),
        sa.Column("step", sa.String(length=12), nullable=False),
    ]
    if with_day:
        columns.append(sa.Column("answered_on", sa.Date(), nullable=False))
    columns.append(sa.Column("respondent", sa.String(length=100), nullable=False))
    op.create_table(
        "feedback_answers",
        *columns,
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["feedback_rounds.id"],
            name=op.f("fk_feedback_answers_round_id_feedback_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_answers")),
        sa.UniqueConstraint("round_id", "person_hash", name="uq_feedback_round_person"),
    )


def _rebuild_answers(id_type: sa.types.TypeEngine[Any], with_day: bool) -> None:
    conn = op.get_bind()
    old = sa.table("feedback_answers", *(sa.column(f) for f in ANSWER_FIELDS))
    rows = [dict(r._mapping) for r in conn.execute(sa.select(*old.c))]
    op.drop_table("feedback_answers")
    _answers_table(id_type, with_day)
    if not rows:
        return
    fields = ("id", *ANSWER_FIELDS, *(("answered_on",) if with_day else ()))
    new = sa.table("feedback_answers", *(sa.column(f) for f in fields))
    if with_day:
        # The day was not kept; the downgrade can only say "some day".
        fresh = [{**r, "id": i + 1, "answered_on": date(1970, 1, 1)} for i, r in enumerate(rows)]
    else:
        # Inserted in the order of the new random keys, so storage order says nothing either.
        fresh = sorted(({**r, "id": uuid.uuid4().hex} for r in rows), key=lambda r: r["id"])
    conn.execute(new.insert(), fresh)


def upgrade() -> None:
    inbox = sa.table("inbox", sa.column("payload", sa.JSON()), sa.column("done", sa.Boolean()))
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.alter_column("payload", existing_type=sa.JSON(), nullable=True)
        batch_op.drop_column("received_at")
    op.execute(inbox.update().where(inbox.c.done.is_(True)).values(payload=sa.null()))

    with op.batch_alter_table("gigs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("feedback_named", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    _rebuild_answers(sa.String(length=32), with_day=False)


def downgrade() -> None:
    _rebuild_answers(sa.Integer(), with_day=True)

    with op.batch_alter_table("gigs", schema=None) as batch_op:
        batch_op.drop_column("feedback_named")

    inbox = sa.table("inbox", sa.column("done", sa.Boolean()))
    op.execute(inbox.delete().where(inbox.c.done.is_(True)))
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("received_at", sa.DateTime(), nullable=False, server_default=sa.func.now())
        )
        batch_op.alter_column("payload", existing_type=sa.JSON(), nullable=False)
