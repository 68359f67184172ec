"""The supervisor's dashboard: a rollup in quarter hours kept by triggers, backfilled

Revision ID: 0017_dashboard
Revises: 0017_queues
"""
import sqlalchemy as sa
from alembic import op

from portal.dashboard.tally_sql import CREATE, DROP, REBUILD

revision = "0017_dashboard"
down_revision = "0017_queues"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dashboard_tally",
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("creditor_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "agency_id", "bucket", "creditor_id", "key",
                                "currency",
                                name=op.f("pk_dashboard_tally")),
    )
    for statement in CREATE + REBUILD:
        op.execute(statement)


def downgrade():
    for statement in DROP:
        op.execute(statement)
    op.drop_table("dashboard_tally")
