"""contact: holds indexed by borrower, ended or not

A decision at an instant in the past (a dialer asking about yesterday's call, the bulk path's
batches) reads holds that have ended since; the partial index of live holds could not serve it,
and every such decision read the whole table (13 ms at 90,000 holds).

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_contact_hold_borrower_id", "contact_hold", ["borrower_id"])
    op.drop_index("ix_contact_hold_live", table_name="contact_hold")


def downgrade():
    op.create_index("ix_contact_hold_live", "contact_hold", ["borrower_id"],
                    postgresql_where="ended_at IS NULL")
    op.drop_index("ix_contact_hold_borrower_id", table_name="contact_hold")
