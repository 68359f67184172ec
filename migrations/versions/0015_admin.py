"""staff administration: one-time enrolment links, the append-only staff audit log (its
addresses sealed beside it), and messages to staff (no borrower)

Revision ID: 0015_admin
Revises: 0014_ops
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015_admin"
down_revision = "0015_caseview"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_link",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("token_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("totp_secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_user.id"],
                                name=op.f("fk_staff_link_staff_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_link")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_staff_link_token_digest")),
    )
    op.create_index(op.f("ix_staff_link_staff_id"), "staff_link", ["staff_id"])
    op.create_table(
        "staff_audit",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), server_default="{}",
                  nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"],
                                name=op.f("fk_staff_audit_agency_id_agency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_audit")),
    )
    op.create_index("ix_staff_audit_agency_at", "staff_audit", ["agency_id", "at", "id"])
    op.create_table(
        "staff_audit_address",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["id"], ["staff_audit.id"],
                                name=op.f("fk_staff_audit_address_id_staff_audit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_audit_address")),
    )
    # The log is append-only, like the case record (forbid_change is migration 0001's).
    op.execute("CREATE TRIGGER staff_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON "
               "staff_audit FOR EACH STATEMENT EXECUTE FUNCTION forbid_change()")
    op.alter_column("outgoing_message", "borrower_id", existing_type=sa.Integer(),
                    nullable=True)


def downgrade():
    op.execute("DELETE FROM outgoing_message WHERE borrower_id IS NULL")
    op.alter_column("outgoing_message", "borrower_id", existing_type=sa.Integer(),
                    nullable=False)
    op.execute("DROP TRIGGER IF EXISTS staff_audit_append_only ON staff_audit")
    op.drop_table("staff_audit_address")
    op.drop_index("ix_staff_audit_agency_at", table_name="staff_audit")
    op.drop_table("staff_audit")
    op.drop_index(op.f("ix_staff_link_staff_id"), table_name="staff_link")
    op.drop_table("staff_link")
