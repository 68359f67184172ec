"""tenancy: staff users, webhook endpoints and outbox messages belong to an agency

Until now only API keys were scoped to an agency: every staff user saw, and every webhook endpoint
received, every agency's accounts (issue 12). Existing rows go to the agency of their creditor or
account where there is one, else to the first agency (one is made if rows need it and none exists).

Revision ID: 0013_tenancy
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_tenancy"
down_revision = "0013_chain"
branch_labels = None
depends_on = None

FIRST_AGENCY = "(SELECT min(id) FROM agency)"


def upgrade():
    for table in ("staff_user", "webhook_endpoint", "outbox_message"):
        op.add_column(table, sa.Column("agency_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(f"fk_{table}_agency_id_agency"), table, "agency",
                              ["agency_id"], ["id"])
        op.create_index(op.f(f"ix_{table}_agency_id"), table, ["agency_id"])
    op.execute(
        "INSERT INTO agency (name) SELECT 'Default agency' WHERE NOT EXISTS (SELECT 1 FROM agency)"
        " AND (EXISTS (SELECT 1 FROM staff_user) OR EXISTS (SELECT 1 FROM webhook_endpoint))")
    # A lender user belongs to the agency its creditor placed with; everyone else to the first.
    op.execute(
        "UPDATE staff_user SET agency_id = COALESCE((SELECT c.agency_id FROM creditor c"
        f" WHERE c.id = staff_user.creditor_id), {FIRST_AGENCY})")
    op.execute(f"UPDATE webhook_endpoint SET agency_id = {FIRST_AGENCY}")
    # A message belongs to its account's agency; one of no agency's account reaches nobody.
    op.execute(
        "UPDATE outbox_message m SET agency_id = c.agency_id FROM account a"
        " JOIN creditor c ON c.id = a.creditor_id WHERE a.reference = m.account_ref")
    op.execute(f"UPDATE outbox_message SET agency_id = {FIRST_AGENCY} WHERE account_ref IS NULL")
    # What is still owed to an endpoint of another agency than the message's is not sent.
    op.execute(
        "UPDATE webhook_delivery d SET status = 'failed', next_attempt_at = NULL"
        " FROM outbox_message m, webhook_endpoint e WHERE d.status = 'pending'"
        " AND m.id = d.message_id AND e.id = d.endpoint_id"
        " AND m.agency_id IS DISTINCT FROM e.agency_id")
    op.alter_column("staff_user", "agency_id", nullable=False)
    op.alter_column("webhook_endpoint", "agency_id", nullable=False)


def downgrade():
    for table in ("outbox_message", "webhook_endpoint", "staff_user"):
        op.drop_index(op.f(f"ix_{table}_agency_id"), table_name=table)
        op.drop_constraint(op.f(f"fk_{table}_agency_id_agency"), table, type_="foreignkey")
        op.drop_column(table, "agency_id")
