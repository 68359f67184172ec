"""contact: consents to contact outside the usual hours; disputes: original creditor sent

A borrower's direct prior consent (12 CFR 1006.6(b)(1)) per channel, captured in the portal or
by staff (with what was said, encrypted); and the original creditor's name and address sent to a
borrower who asked for them (1006.38(c)), which the dispute hold waits for.

Revision ID: 0013_holds
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_holds"
down_revision = "0013_rules"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "contact_consent",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("start", sa.Time(), nullable=False),
        sa.Column("end", sa.Time(), nullable=False),
        sa.Column("days", postgresql.ARRAY(sa.SmallInteger()), nullable=True),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("taken_by", sa.Integer(), nullable=True),
        sa.Column("statement", sa.LargeBinary(), nullable=True),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("given_by_event_id", sa.BigInteger(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_event_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrower.id"]),
        sa.ForeignKeyConstraint(["taken_by"], ["staff_user.id"]),
        sa.ForeignKeyConstraint(["given_by_event_id"], ["case_event.id"]),
        sa.ForeignKeyConstraint(["withdrawn_by_event_id"], ["case_event.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_contact_consent_borrower_id", "contact_consent", ["borrower_id"])
    op.add_column("dispute", sa.Column("original_creditor", sa.LargeBinary(), nullable=True))
    op.add_column("dispute", sa.Column("original_creditor_sent_at",
                                       sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("dispute", "original_creditor_sent_at")
    op.drop_column("dispute", "original_creditor")
    op.drop_index("ix_contact_consent_borrower_id", table_name="contact_consent")
    op.drop_table("contact_consent")
