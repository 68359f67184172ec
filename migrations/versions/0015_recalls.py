"""recalls: an account's recalled status and time, the creditor's contact details, and the index
that finds an account by the creditor's own id

Revision ID: 0015_recalls
Revises: 0014_ops
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_recalls"
down_revision = "0015_console"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("creditor", sa.Column("phone", sa.String(length=40), nullable=True))
    op.add_column("creditor", sa.Column("website", sa.String(length=200), nullable=True))
    op.add_column("creditor", sa.Column("postal_address", sa.String(length=500), nullable=True))
    op.add_column("account", sa.Column("recalled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("account", "recalled_at")
    op.drop_column("creditor", "postal_address")
    op.drop_column("creditor", "website")
    op.drop_column("creditor", "phone")
