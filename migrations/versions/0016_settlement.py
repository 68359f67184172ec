"""Stripe's balance transactions, kept (what Stripe settled; lenders' statements and
reconciliation read them)

Revision ID: 0016_settlement
Revises: 0015_admin
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_settlement"
down_revision = "0015_admin"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "balance_transaction",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("reporting_category", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=100), nullable=True),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payout_id", sa.String(length=100), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"],
                                name=op.f("fk_balance_transaction_payment_id_payment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_transaction")),
    )
    op.create_index("ix_balance_transaction_payment", "balance_transaction", ["payment_id"])
    op.create_index("ix_balance_transaction_payout", "balance_transaction", ["payout_id"])
    op.create_index("ix_balance_transaction_available", "balance_transaction",
                    ["available_on"])
    op.create_index(op.f("ix_balance_transaction_source_id"), "balance_transaction",
                    ["source_id"])


def downgrade():
    op.drop_table("balance_transaction")
