"""plans: one active plan per account, one installment per number

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("uq_payment_plan_one_active", "payment_plan", ["account_id"], unique=True,
                    postgresql_where=sa.text("status = 'active'"))
    op.create_unique_constraint("uq_installment_plan_number", "installment", ["plan_id", "number"])


def downgrade():
    op.drop_constraint("uq_installment_plan_number", "installment", type_="unique")
    op.drop_index("uq_payment_plan_one_active", table_name="payment_plan",
                  postgresql_where=sa.text("status = 'active'"))
