"""notices: consent to receive notices by email (E-SIGN, 12 CFR 1006.42(b))

Revision ID: 0015_notices
Revises: 0014_ops
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_notices"
down_revision = "0014_ops"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "electronic_delivery_consent",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), sa.ForeignKey("borrower.id"), nullable=False),
        sa.Column("contact_point_id", sa.Integer(), sa.ForeignKey("contact_point.id"),
                  nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("given_by_event_id", sa.BigInteger(), sa.ForeignKey("case_event.id"),
                  nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_event_id", sa.BigInteger(), sa.ForeignKey("case_event.id"),
                  nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_electronic_delivery_consent_borrower_id",
                    "electronic_delivery_consent", ["borrower_id"])
    op.create_index("uq_electronic_delivery_consent_live", "electronic_delivery_consent",
                    ["borrower_id"], unique=True, postgresql_where=sa.text("withdrawn_at IS NULL"))


def downgrade():
    op.drop_table("electronic_delivery_consent")
