"""contact: a per-borrower summary of contact points, kept by the database itself

The bulk contact path reads, for every borrower, how many mailing addresses they have, where the
one address is, every time zone of every contact point and whether any point is opted out. This
table holds exactly that, one row per borrower with contact points, kept by statement-level
triggers on contact_point in the same transaction as the change (so every writer, the ORM, COPY
or a hand-written UPDATE, keeps it right). tests/test_contact_summary.py checks it against the
points after inserts, updates, deletes, COPY and concurrent writers.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: The summaries of these borrowers, as their contact points are now.
SUMMARIES = """
CREATE FUNCTION contact_point_summaries(ids integer[])
RETURNS TABLE (borrower_id integer, addresses integer, country varchar, region varchar,
               home_zone varchar, zones varchar[], opted_out boolean)
LANGUAGE sql STABLE AS $$
    SELECT a.borrower_id, a.addresses,
           CASE WHEN a.addresses = 1 THEN a.country END,
           CASE WHEN a.addresses = 1 THEN a.region END,
           CASE WHEN a.addresses = 1 THEN a.home_zone END,
           coalesce(z.zones, '{}'), a.opted_out
    FROM (
        SELECT p.borrower_id, count(*) FILTER (WHERE p.kind = 'address')::integer AS addresses,
               min(p.country) FILTER (WHERE p.kind = 'address') AS country,
               min(p.region) FILTER (WHERE p.kind = 'address') AS region,
               min(p.time_zones[1]) FILTER (WHERE p.kind = 'address') AS home_zone,
               bool_or(p.opted_out_at IS NOT NULL) AS opted_out
        FROM contact_point p JOIN (SELECT DISTINCT unnest(ids) AS id) i ON i.id = p.borrower_id
        GROUP BY p.borrower_id
    ) a
    LEFT JOIN (
        SELECT p.borrower_id,
               array_agg(DISTINCT t.zone COLLATE "C" ORDER BY t.zone COLLATE "C") AS zones
        FROM contact_point p JOIN (SELECT DISTINCT unnest(ids) AS id) i ON i.id = p.borrower_id
        CROSS JOIN unnest(p.time_zones) AS t(zone)
        GROUP BY p.borrower_id
    ) z ON z.borrower_id = a.borrower_id
$$
"""

#: Bring these borrowers' summaries up to date. Rows are added as read at the start; then every
#: row is locked, so that concurrent writers of one borrower's points take turns (an insert that
#: meets another transaction's row waits for it too), and brought up to date by statements that
#: read the points afresh: each statement of a PL/pgSQL function has its own snapshot under READ
#: COMMITTED (under REPEATABLE READ the lock fails and the transaction is retried, as any
#: conflict). Rows already right are not written again.
SUMMARISE = """
CREATE FUNCTION contact_point_summarise(ids integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_point_summary
    SELECT * FROM contact_point_summaries(ids) ORDER BY 1
    ON CONFLICT (borrower_id) DO NOTHING;
    PERFORM 1 FROM contact_point_summary s WHERE s.borrower_id = ANY (ids)
    ORDER BY s.borrower_id FOR UPDATE;
    UPDATE contact_point_summary s
    SET addresses = n.addresses, country = n.country, region = n.region,
        home_zone = n.home_zone, zones = n.zones, opted_out = n.opted_out
    FROM contact_point_summaries(ids) n
    WHERE s.borrower_id = n.borrower_id
      AND (s.addresses, s.country, s.region, s.home_zone, s.zones, s.opted_out)
          IS DISTINCT FROM (n.addresses, n.country, n.region, n.home_zone, n.zones, n.opted_out);
    DELETE FROM contact_point_summary s
    WHERE s.borrower_id = ANY (ids)
      AND NOT EXISTS (SELECT 1 FROM contact_point p WHERE p.borrower_id = s.borrower_id);
END
$$
"""

TRIGGER_FUNCTION = """
CREATE FUNCTION contact_point_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT borrower_id) INTO ids FROM changed_new;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT borrower_id) INTO ids FROM changed_old;
    ELSE
        SELECT array_agg(DISTINCT borrower_id) INTO ids FROM (
            SELECT borrower_id FROM changed_new UNION SELECT borrower_id FROM changed_old) u;
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM contact_point_summarise(ids);
    END IF;
    RETURN NULL;
END
$$
"""

TRIGGERS = {
    "INSERT": "REFERENCING NEW TABLE AS changed_new",
    "UPDATE": "REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new",
    "DELETE": "REFERENCING OLD TABLE AS changed_old",
}


def upgrade():
    op.create_table(
        "contact_point_summary",
        sa.Column("borrower_id", sa.Integer(),
                  sa.ForeignKey("borrower.id", name="fk_contact_point_summary_borrower_id_borrower",
                                ondelete="CASCADE")),
        sa.Column("addresses", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("region", sa.String(50)),
        sa.Column("home_zone", sa.String(64)),
        sa.Column("zones", ARRAY(sa.String(64)), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", name="pk_contact_point_summary"),
    )
    op.execute(SUMMARIES)
    op.execute(SUMMARISE)
    op.execute(TRIGGER_FUNCTION)
    for event, referencing in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER contact_point_{event.lower()}_summary AFTER {event} "
                   f"ON contact_point {referencing} FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION contact_point_changed()")
    # TRUNCATE has no rows to pass on: it empties the summaries too.
    op.execute("CREATE FUNCTION contact_point_truncated() RETURNS trigger LANGUAGE plpgsql AS "
               "$$ BEGIN DELETE FROM contact_point_summary; RETURN NULL; END $$")
    op.execute("CREATE TRIGGER contact_point_truncate_summary AFTER TRUNCATE ON contact_point "
               "FOR EACH STATEMENT EXECUTE FUNCTION contact_point_truncated()")
    op.execute("SELECT contact_point_summarise(array_agg(DISTINCT borrower_id)) "
               "FROM contact_point")


def downgrade():
    op.execute("DROP TRIGGER contact_point_truncate_summary ON contact_point")
    op.execute("DROP FUNCTION contact_point_truncated()")
    for event in TRIGGERS:
        op.execute(f"DROP TRIGGER contact_point_{event.lower()}_summary ON contact_point")
    op.execute("DROP FUNCTION contact_point_changed()")
    op.execute("DROP FUNCTION contact_point_summarise(integer[])")
    op.execute("DROP FUNCTION contact_point_summaries(integer[])")
    op.drop_table("contact_point_summary")
