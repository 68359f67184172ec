"""contact rules after the compliance review (issue 12)

- contact_point.employer_provided / employer_email_consent: an email address known to be the
  employer's, and whether the borrower used it with us or consented (12 CFR 1006.22(f)(3));
  a small partial index finds the borrowers who have one still barred (the bulk scrub asks).
- contact_attempt.direction (outbound | inbound) and with_consent: what 1006.14(b)(3) needs to
  count calls; every attempt recorded before was ours, so outbound.
- China's stop and attorney holds were recorded under the switchable policy id; they are law
  (GB/T 45251-2025): renamed in place.

Revision ID: 0013_rules
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_rules"
down_revision = "0013_pii"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("contact_point", sa.Column("employer_provided", sa.Boolean(), nullable=False,
                                             server_default=sa.false()))
    op.add_column("contact_point", sa.Column("employer_email_consent", sa.Boolean(),
                                             nullable=False, server_default=sa.false()))
    op.create_index("ix_contact_point_employer_email", "contact_point", ["borrower_id"],
                    postgresql_where=sa.text("employer_provided AND NOT employer_email_consent"))
    op.add_column("contact_attempt", sa.Column("direction", sa.String(8), nullable=False,
                                               server_default="outbound"))
    op.add_column("contact_attempt", sa.Column("with_consent", sa.Boolean(), nullable=False,
                                               server_default=sa.false()))
    op.create_check_constraint(op.f("ck_contact_attempt_direction"), "contact_attempt",
                               "direction IN ('outbound', 'inbound')")
    op.execute("UPDATE contact_hold SET rule = 'cn.contact-request' "
               "WHERE rule = 'policy.channel-opt-out' AND key = 'cease'")
    op.execute("UPDATE contact_hold SET rule = 'cn.attorney-represented' "
               "WHERE rule = 'policy.channel-opt-out' AND key = 'attorney'")


def downgrade():
    op.execute("UPDATE contact_hold SET rule = 'policy.channel-opt-out' "
               "WHERE rule IN ('cn.contact-request', 'cn.attorney-represented')")
    op.drop_constraint(op.f("ck_contact_attempt_direction"), "contact_attempt")
    op.drop_column("contact_attempt", "with_consent")
    op.drop_column("contact_attempt", "direction")
    op.drop_index("ix_contact_point_employer_email", table_name="contact_point")
    op.drop_column("contact_point", "employer_email_consent")
    op.drop_column("contact_point", "employer_provided")
