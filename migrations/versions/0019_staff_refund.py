"""Refunds staff give at Stripe, with their reason (sealed)

Revision ID: 0019_staff_refund
Revises: 0018_rights
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_staff_refund"
down_revision = "0018_rights"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_refund",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("refunded_before", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("stripe_refund_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_staff_refund_amount_positive")),
        sa.CheckConstraint("status IN ('pending', 'done')", name=op.f("ck_staff_refund_status")),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"],
                                name=op.f("fk_staff_refund_payment_id_payment")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_user.id"],
                                name=op.f("fk_staff_refund_staff_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_refund")),
    )
    op.create_index(op.f("ix_staff_refund_payment_id"), "staff_refund", ["payment_id"],
                    unique=False)
    op.create_index("ix_staff_refund_one_pending", "staff_refund", ["payment_id"], unique=True,
                    postgresql_where="status = 'pending'")


def downgrade():
    op.drop_index("ix_staff_refund_one_pending", table_name="staff_refund")
    op.drop_index(op.f("ix_staff_refund_payment_id"), table_name="staff_refund")
    op.drop_table("staff_refund")
