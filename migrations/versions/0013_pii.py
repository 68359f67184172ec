"""contact: what a borrower tells us about their situation, encrypted, out of the case record

Attorney names and contacts, bankruptcy case numbers and breathing-space kinds and references
were written into case_event.data in plain JSON. New statements keep them in contact_statement
(encrypted) and the event holds the row's id. Old events are left as they are: case events are
hash-chained and the database refuses to update them (see README, "Personal data").

Revision ID: 0013_pii
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_pii"
down_revision = "0013_tenancy"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "contact_statement",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("borrower_id", sa.Integer(), sa.ForeignKey("borrower.id"), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("details", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_contact_statement_borrower_id", "contact_statement", ["borrower_id"])


def downgrade():
    op.drop_index("ix_contact_statement_borrower_id", table_name="contact_statement")
    op.drop_table("contact_statement")
