"""ops: each worker's heartbeat, for /readyz

Revision ID: 0014_ops
Revises: 0013_holds
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_ops"
down_revision = "0014_mail"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "worker_heartbeat",
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker"),
    )
    op.create_index("ix_worker_heartbeat_seen_at", "worker_heartbeat", ["seen_at"])


def downgrade():
    op.drop_index("ix_worker_heartbeat_seen_at", table_name="worker_heartbeat")
    op.drop_table("worker_heartbeat")
