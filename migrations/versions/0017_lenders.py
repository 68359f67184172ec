"""Lenders: a lender user's creditors, commission terms with history, direct payments, and
closed remittance statements (append-only, like the ledger)

Revision ID: 0017_lenders
Revises: 0017_dashboard
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_lenders"
down_revision = "0017_dashboard"
branch_labels = None
depends_on = None

#: Rows that never change once written: terms are superseded by newer terms, statements are
#: closed when written (the trigger function is migration 0001's).
APPEND_ONLY = ("creditor_terms", "commission_rate", "direct_payment", "remittance_statement",
               "remittance_line", "remittance_item")


def upgrade():
    op.create_table(
        "lender_creditor",
        sa.Column("staff_user_id", sa.Integer(), sa.ForeignKey("staff_user.id"), nullable=False),
        sa.Column("creditor_id", sa.Integer(), sa.ForeignKey("creditor.id"), nullable=False),
        sa.PrimaryKeyConstraint("staff_user_id", "creditor_id", name=op.f("pk_lender_creditor")),
    )
    op.execute("INSERT INTO lender_creditor (staff_user_id, creditor_id) SELECT id, creditor_id "
               "FROM staff_user WHERE role = 'lender' AND creditor_id IS NOT NULL")
    op.create_table(
        "creditor_terms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("creditor_id", sa.Integer(), sa.ForeignKey("creditor.id"), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("period", sa.String(10), nullable=False, server_default="monthly"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("method IN ('net', 'gross', 'combined')", name="method"),
        sa.CheckConstraint("period IN ('monthly')", name="period"),
        sa.UniqueConstraint("creditor_id", "valid_from", name="uq_creditor_terms_from"),
    )
    op.create_table(
        "commission_rate",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("terms_id", sa.Integer(), sa.ForeignKey("creditor_terms.id"), nullable=False,
                  index=True),
        sa.Column("product", sa.String(100), nullable=True),
        sa.Column("min_age_days", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate_bp"),
        sa.CheckConstraint("min_age_days >= 0", name="min_age_days"),
    )
    op.create_table(
        "direct_payment",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False,
                  index=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sa.String(60), nullable=False),
        sa.Column("lender_reference", sa.String(100), nullable=True),
        sa.Column("ledger_entry_id", sa.BigInteger(), sa.ForeignKey("ledger_entry.id"),
                  nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        sa.UniqueConstraint("account_id", "lender_reference", name="uq_direct_payment_reference"),
    )
    op.create_table(
        "remittance_statement",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("creditor_id", sa.Integer(), sa.ForeignKey("creditor.id"), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(60), nullable=False),
        sa.UniqueConstraint("creditor_id", "period", name="uq_remittance_statement_period"),
    )
    op.create_table(
        "remittance_line",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("statement_id", sa.Integer(), sa.ForeignKey("remittance_statement.id"),
                  nullable=False, index=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("collected_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("charged_back_minor", sa.BigInteger(), nullable=False),
        sa.Column("commission_minor", sa.BigInteger(), nullable=False),
        sa.Column("direct_minor", sa.BigInteger(), nullable=False),
        sa.Column("direct_commission_minor", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("statement_id", "account_id", name="uq_remittance_line_account"),
    )
    op.create_table(
        "remittance_item",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("statement_id", sa.Integer(), sa.ForeignKey("remittance_statement.id"),
                  nullable=False, index=True),
        sa.Column("payment_id", sa.BigInteger(), sa.ForeignKey("payment.id"), index=True),
        sa.Column("direct_payment_id", sa.BigInteger(), sa.ForeignKey("direct_payment.id"),
                  unique=True),
        sa.Column("collected_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("charged_back_minor", sa.BigInteger(), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.CheckConstraint("(payment_id IS NULL) <> (direct_payment_id IS NULL)", name="one_source"),
    )
    op.add_column("partner", sa.Column("lender_user_id", sa.Integer(),
                                       sa.ForeignKey("staff_user.id",
                                                     name="fk_partner_lender_user_id_staff_user"),
                                       nullable=True))
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
                   f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()")


def downgrade():
    for table in reversed(APPEND_ONLY):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.drop_column("partner", "lender_user_id")
    for table in ("remittance_item", "remittance_line", "remittance_statement", "direct_payment",
                  "commission_rate", "creditor_terms", "lender_creditor"):
        op.drop_table(table)
