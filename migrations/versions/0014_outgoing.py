"""messaging: the outgoing queue (email, SMS and letters sent by the worker)

Revision ID: 0014_outgoing
Revises: 0013_holds
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_outgoing"
down_revision = "0013_holds"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outgoing_message",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("destination", sa.LargeBinary(), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("text", sa.LargeBinary(), nullable=False),
        sa.Column("html", sa.LargeBinary()),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("borrower_id", sa.Integer(), sa.ForeignKey("borrower.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id")),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agency.id")),
        sa.Column("attempt_id", sa.BigInteger(), sa.ForeignKey("contact_attempt.id")),
        sa.Column("contact_point_id", sa.Integer(), sa.ForeignKey("contact_point.id")),
        sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(20)),
        sa.Column("provider_ref", sa.String(100)),
        sa.Column("error_code", sa.String(40)),
        sa.Column("error", sa.String(300)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("settled_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('queued', 'sent', 'delivered', 'failed')",
                           name=op.f("ck_outgoing_message_status")),
        sa.CheckConstraint("channel IN ('email', 'sms', 'letter')",
                           name=op.f("ck_outgoing_message_channel")),
        sa.UniqueConstraint("provider", "provider_ref", name="uq_outgoing_provider_ref"),
    )
    op.create_index("ix_outgoing_message_borrower_id", "outgoing_message", ["borrower_id"])
    op.create_index("ix_outgoing_due", "outgoing_message", ["urgent", "next_try_at"],
                    postgresql_where=sa.text("status = 'queued'"))


def downgrade():
    op.drop_table("outgoing_message")
