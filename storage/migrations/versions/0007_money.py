"""money: gigs.order_ref (order number for billing) and expense_claims (with receipt file_ids)

gigs.order_ref is the orderer's own order number or reference; expense_claims holds an
expert's claimed costs with Telegram's file_id of each receipt.

Revision ID: 0007_money
Revises: 0007_relay
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_money"
down_revision = "0007_relay"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gigs") as batch:
        batch.add_column(sa.Column("order_ref", sa.String(60), nullable=False, server_default=""))
    op.create_table(
        "expense_claims",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "fee_id", sa.Integer(), sa.ForeignKey("fees.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "expert_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("km", sa.Integer(), nullable=True),
        sa.Column("cents_per_km", sa.Integer(), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("what", sa.String(200), nullable=False),
        sa.Column("receipt_file_id", sa.String(256), nullable=True),
        sa.Column("receipt_kind", sa.String(8), nullable=True),
        sa.Column("receipt_name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_claims_expert_status", "expense_claims", ["expert_id", "status"])
    op.create_index("ix_claims_fee", "expense_claims", ["fee_id"])


def downgrade() -> None:
    op.drop_index("ix_claims_fee", table_name="expense_claims")
    op.drop_index("ix_claims_expert_status", table_name="expense_claims")
    op.drop_table("expense_claims")
    with op.batch_alter_table("gigs") as batch:
        batch.drop_column("order_ref")
