"""deliver: a queued message's purpose (the rules judge it again at send time), the rule that
holds or cancelled it, and the cancelled status

Revision ID: 0015_deliver
Revises: 0014_ops
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_deliver"
down_revision = "0015_notices"
branch_labels = None
depends_on = None

#: The purpose of each kind queued before the column (portal/messaging/messages.py).
BACKFILL = """
UPDATE outgoing_message SET purpose = CASE
    WHEN kind = 'sign_in_code' THEN 'access'
    WHEN kind IN ('plan_reminder', 'plan_installment_failed', 'plan_broken') THEN 'collection'
    ELSE 'requested' END
"""


def upgrade():
    op.add_column("outgoing_message", sa.Column("purpose", sa.String(20)))
    op.add_column("outgoing_message", sa.Column("rule", sa.String(60)))
    op.execute(BACKFILL)
    op.alter_column("outgoing_message", "purpose", nullable=False)
    op.drop_constraint(op.f("ck_outgoing_message_status"), "outgoing_message", type_="check")
    op.create_check_constraint(
        op.f("ck_outgoing_message_status"), "outgoing_message",
        "status IN ('queued', 'sent', 'delivered', 'failed', 'cancelled')")


def downgrade():
    op.execute("UPDATE outgoing_message SET status = 'failed' WHERE status = 'cancelled'")
    op.drop_constraint(op.f("ck_outgoing_message_status"), "outgoing_message", type_="check")
    op.create_check_constraint(op.f("ck_outgoing_message_status"), "outgoing_message",
                               "status IN ('queued', 'sent', 'delivered', 'failed')")
    op.drop_column("outgoing_message", "rule")
    op.drop_column("outgoing_message", "purpose")
