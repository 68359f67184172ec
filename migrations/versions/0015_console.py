"""console: placement files kept, encrypted, between their preview and their confirmation

Revision ID: 0015_console
Revises: 0015_placements
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_console"
down_revision = "0015_placements"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "placement_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("creditor_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["creditor_id"], ["creditor.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )
    op.create_index("ix_placement_upload_agency_id", "placement_upload", ["agency_id"])
    op.create_index("ix_placement_upload_created_at", "placement_upload", ["created_at"])


def downgrade():
    op.drop_index("ix_placement_upload_created_at", table_name="placement_upload")
    op.drop_index("ix_placement_upload_agency_id", table_name="placement_upload")
    op.drop_table("placement_upload")
