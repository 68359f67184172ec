"""placements: imports with their state and cursor, staged chunks, lines, column maps; the
ledger's adjustment kind

Revision ID: 0015_placements
Revises: 0014_ops
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015_placements"
down_revision = "0015_deliver"
branch_labels = None
depends_on = None

KINDS = "'itemization','interest','fee','payment','credit','reversal'"
SIGN = ("(kind IN ('payment','credit') AND amount_minor < 0)"
        " OR (kind IN ('itemization','interest','fee') AND amount_minor >= 0)")


def upgrade():
    op.drop_constraint(op.f("ck_ledger_entry_kind"), "ledger_entry")
    op.drop_constraint(op.f("ck_ledger_entry_sign"), "ledger_entry")
    op.create_check_constraint(op.f("ck_ledger_entry_kind"), "ledger_entry",
                               f"kind IN ({KINDS},'adjustment')")
    op.create_check_constraint(op.f("ck_ledger_entry_sign"), "ledger_entry",
                               f"{SIGN} OR kind IN ('reversal', 'adjustment')")
    op.create_table(
        "placement_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agency.id"), nullable=True),
        sa.Column("creditor_id", sa.Integer(), sa.ForeignKey("creditor.id"), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("done_rows", sa.Integer(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("next_chunk", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("placed", sa.Integer(), nullable=False),
        sa.Column("adjusted", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("problems", postgresql.JSONB(), nullable=False),
        sa.Column("actor_type", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_placement_import_agency_id", "placement_import", ["agency_id"])
    op.create_index("ix_placement_import_creditor_id", "placement_import", ["creditor_id"])
    op.create_table(
        "placement_chunk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("placement_import.id"),
                  nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("rows", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("import_id", "seq"),
    )
    op.create_index("ix_placement_chunk_import_id", "placement_chunk", ["import_id"])
    op.create_table(
        "placement_line",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("placement_import.id"),
                  nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("adjustment_minor", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("import_id", "line"),
    )
    op.create_index("ix_placement_line_account_id", "placement_line", ["account_id"])
    op.create_table(
        "placement_column_map",
        sa.Column("creditor_id", sa.Integer(), sa.ForeignKey("creditor.id"), nullable=False),
        sa.Column("columns", postgresql.JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.PrimaryKeyConstraint("creditor_id"),
    )
    # Accounts are found by the creditor's own id (its digest) within one creditor.
    op.create_index("ix_account_creditor_original", "account",
                    ["creditor_id", "original_account_number_digest"])
    # ... and its borrowers by date of birth (then name and national-ID digits).
    op.create_index("ix_borrower_date_of_birth_digest", "borrower", ["date_of_birth_digest"])


def downgrade():
    op.drop_index("ix_borrower_date_of_birth_digest", table_name="borrower")
    op.drop_index("ix_account_creditor_original", table_name="account")
    op.drop_table("placement_column_map")
    op.drop_table("placement_line")
    op.drop_table("placement_chunk")
    op.drop_table("placement_import")
    op.drop_constraint(op.f("ck_ledger_entry_sign"), "ledger_entry")
    op.drop_constraint(op.f("ck_ledger_entry_kind"), "ledger_entry")
    op.create_check_constraint(op.f("ck_ledger_entry_kind"), "ledger_entry", f"kind IN ({KINDS})")
    op.create_check_constraint(op.f("ck_ledger_entry_sign"), "ledger_entry", f"{SIGN} OR kind = 'reversal'")
