"""Agency contact policy switches

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("agency", sa.Column("contact_policy", postgresql.JSONB(astext_type=sa.Text()),
                                      server_default="{}", nullable=False))


def downgrade():
    op.drop_column("agency", "contact_policy")
