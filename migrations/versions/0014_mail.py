"""messaging: undeliverable contact points, a message's opt-out link, agencies' senders

Revision ID: 0014_mail
Revises: 0014_outgoing
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_mail"
down_revision = "0014_outgoing"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("contact_point", sa.Column("undeliverable_at", sa.DateTime(timezone=True)))
    op.add_column("contact_point", sa.Column("undeliverable_reason", sa.String(300)))
    op.add_column("outgoing_message", sa.Column("unsubscribe", sa.String(300)))
    op.add_column("agency", sa.Column("email_from", sa.String(200)))
    op.add_column("agency", sa.Column("sms_sender", sa.String(40)))
    op.add_column("agency", sa.Column("postal_address", sa.Text()))


def downgrade():
    op.drop_column("agency", "postal_address")
    op.drop_column("agency", "sms_sender")
    op.drop_column("agency", "email_from")
    op.drop_column("outgoing_message", "unsubscribe")
    op.drop_column("contact_point", "undeliverable_reason")
    op.drop_column("contact_point", "undeliverable_at")
