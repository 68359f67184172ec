"""payments: indexed by when they succeeded (a month's reconciliation and statement read them)

Revision ID: 0020_payment_succeeded
Revises: 0019_staff_refund
"""
from alembic import op

revision = "0020_payment_succeeded"
down_revision = "0019_staff_refund"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_payment_succeeded_at", "payment", ["succeeded_at"], unique=False,
                    postgresql_where="succeeded_at IS NOT NULL")


def downgrade():
    op.drop_index("ix_payment_succeeded_at", table_name="payment")
