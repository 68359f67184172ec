"""Someone helping a borrower (grants, helper sign-in codes) and correction requests

Revision ID: 0018_rights
Revises: 0017_reconcile
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_rights"
down_revision = "0017_reconcile"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "helper_grant",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("borrower_id", sa.Integer(), sa.ForeignKey("borrower.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id")),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("email", sa.LargeBinary(), nullable=False),
        sa.Column("email_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("access", sa.String(10), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_helper_grant_borrower_id", "helper_grant", ["borrower_id"])
    op.create_index("ix_helper_grant_email_digest", "helper_grant", ["email_digest"])
    op.create_table(
        "helper_code",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("email_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("code_digest", sa.LargeBinary(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_helper_code_email_digest", "helper_code", ["email_digest"])
    op.create_table(
        "correction_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("borrower_id", sa.Integer(), sa.ForeignKey("borrower.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("details", sa.LargeBinary(), nullable=False),
        sa.Column("law", sa.String(20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(20)),
        sa.Column("answer", sa.LargeBinary()),
        sa.Column("answered_by", sa.Integer(), sa.ForeignKey("staff_user.id")),
    )
    op.create_index("ix_correction_request_borrower_id", "correction_request", ["borrower_id"])


def downgrade():
    op.drop_table("correction_request")
    op.drop_table("helper_code")
    op.drop_table("helper_grant")
