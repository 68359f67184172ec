"""The staff queues' indexes: each queue's rows (a partial index of what waits) in its default
order, with the account (the agency's scope) so a count reads the index alone (bench/queues.py)

Revision ID: 0017_queues
Revises: 0016_settlement
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_queues"
down_revision = "0016_settlement"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_dispute_open_queue", "dispute", ["opened_at", "id", "account_id"],
     "status IN ('received', 'under_review', 'verification_sent')"),
    ("ix_payment_plan_referred_queue", "payment_plan", ["created_at", "id", "account_id"],
     "status = 'referred'"),
    ("ix_contact_attempt_violation_queue", "contact_attempt",
     ["at", "id", "account_id", "reported_by"], "violation"),
    ("ix_contact_hold_ending_queue", "contact_hold", ["until"],
     "ended_at IS NULL AND until IS NOT NULL"),
    ("ix_payment_chargeback_queue", "payment", ["updated_at", "id", "account_id"],
     "charged_back_minor > 0 OR chargeback_id IS NOT NULL"),
    ("ix_outgoing_failed_queue", "outgoing_message",
     ["created_at", "id", "account_id"], "status = 'failed'"),
]


def upgrade():
    for name, table, columns, where in INDEXES:
        op.create_index(name, table, columns, postgresql_where=sa.text(where))


def downgrade():
    for name, table, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=table)
