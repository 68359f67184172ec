"""caseview: staff notes on a case (encrypted), and the time zone staff see times in

Revision ID: 0015_caseview
Revises: 0014_ops
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_caseview"
down_revision = "0015_recalls"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("staff_user", sa.Column("time_zone", sa.String(length=64), nullable=True))
    op.add_column("agency", sa.Column("time_zone", sa.String(length=64), nullable=True))
    op.create_table(
        "case_note",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("about", sa.String(length=20), nullable=False),
        sa.Column("text", sa.LargeBinary(), nullable=False),
        sa.Column("attempt_id", sa.BigInteger(), nullable=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["author_id"], ["staff_user.id"]),
        sa.ForeignKeyConstraint(["attempt_id"], ["contact_attempt.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entry.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_note_account_id", "case_note", ["account_id"])


def downgrade():
    op.drop_index("ix_case_note_account_id", table_name="case_note")
    op.drop_table("case_note")
    op.drop_column("agency", "time_zone")
    op.drop_column("staff_user", "time_zone")
