"""The dashboard's rollup, kept by the database itself: triggers count every payment, plan end,
dispute, hold and contact attempt into 15-minute UTC buckets as the row is written, in the same
transaction, so a chart sums a few thousand tally rows instead of millions of source rows.

Fifteen minutes because every time zone in use today is a whole number of quarter hours from
UTC: a bucket never straddles a local midnight, so any viewer's days (and weeks) are exact.
Each tally belongs to the agency the account's creditor is placed with (a hold on the borrower
counts once for each agency holding an account of theirs); only money is also kept per creditor
(creditor 0 elsewhere), so a year's chart of attempts sums at most 96 × 365 rows per channel.
The migration (0017_dashboard) runs this SQL; `REBUILD` recounts everything from the source
rows (the migration's backfill, and a benchmark that seeds with triggers off).
"""

from __future__ import annotations

#: Each statement on its own, in order.
CREATE = [
    """
    CREATE OR REPLACE FUNCTION dashboard_count(p_metric text, p_agency integer,
                                               p_creditor integer, p_at timestamptz,
                                               p_key text, p_currency text, p_count bigint,
                                               p_amount bigint)
    RETURNS void LANGUAGE sql AS $$
      INSERT INTO dashboard_tally (metric, agency_id, bucket, creditor_id, key, currency, count,
                                   amount)
      SELECT p_metric, p_agency, date_bin('15 minutes', p_at, TIMESTAMPTZ '2000-01-01 00:00+00'),
             p_creditor, coalesce(p_key, ''), coalesce(p_currency, ''), p_count, p_amount
       WHERE p_agency IS NOT NULL
      ON CONFLICT (metric, agency_id, bucket, creditor_id, key, currency) DO UPDATE
        SET count = dashboard_tally.count + excluded.count,
            amount = dashboard_tally.amount + excluded.amount
    $$
    """,
    # A card payment posted (key 'payment') or given back, refunded or charged back
    # ('reversal'): amount is what came in, so a reversal counts negative.
    """
    CREATE OR REPLACE FUNCTION dashboard_on_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM dashboard_count('collected', c.agency_id, c.id, NEW.posted_at, NEW.kind,
                              NEW.currency, CASE WHEN NEW.kind = 'payment' THEN 1 ELSE 0 END,
                              -NEW.amount_minor)
        FROM account a JOIN creditor c ON c.id = a.creditor_id WHERE a.id = NEW.account_id;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER dashboard_ledger AFTER INSERT ON ledger_entry FOR EACH ROW
      WHEN (NEW.payment_id IS NOT NULL AND NEW.kind IN ('payment', 'reversal'))
      EXECUTE FUNCTION dashboard_on_ledger()
    """,
    # A plan kept (completed) or broken, on the day it ended.
    """
    CREATE OR REPLACE FUNCTION dashboard_on_plan() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM dashboard_count('plan_ended', c.agency_id, 0, coalesce(NEW.ended_at, now()),
                              NEW.status, '', 1, 0)
        FROM account a JOIN creditor c ON c.id = a.creditor_id WHERE a.id = NEW.account_id;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER dashboard_plan_insert AFTER INSERT ON payment_plan FOR EACH ROW
      WHEN (NEW.status IN ('completed', 'broken')) EXECUTE FUNCTION dashboard_on_plan()
    """,
    """
    CREATE TRIGGER dashboard_plan_update AFTER UPDATE OF status ON payment_plan FOR EACH ROW
      WHEN (NEW.status IN ('completed', 'broken') AND OLD.status IS DISTINCT FROM NEW.status)
      EXECUTE FUNCTION dashboard_on_plan()
    """,
    # A dispute opened; one closed (resolved or withdrawn), with its age in seconds summed.
    """
    CREATE OR REPLACE FUNCTION dashboard_on_dispute() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      agency integer;
    BEGIN
      SELECT c.agency_id INTO agency
        FROM account a JOIN creditor c ON c.id = a.creditor_id WHERE a.id = NEW.account_id;
      IF TG_OP = 'INSERT' THEN
        PERFORM dashboard_count('dispute_opened', agency, 0, NEW.opened_at, '', '', 1, 0);
      END IF;
      -- The ones open now, by the quarter hour they opened in: one in, one out when closed.
      IF NEW.resolved_at IS NULL AND NEW.withdrawn_at IS NULL AND TG_OP = 'INSERT' THEN
        PERFORM dashboard_count('dispute_open', agency, 0, NEW.opened_at, '', '', 1, 0);
      ELSIF (NEW.resolved_at IS NOT NULL OR NEW.withdrawn_at IS NOT NULL) AND TG_OP = 'UPDATE'
            AND OLD.resolved_at IS NULL AND OLD.withdrawn_at IS NULL THEN
        PERFORM dashboard_count('dispute_open', agency, 0, NEW.opened_at, '', '', -1, 0);
      END IF;
      IF NEW.resolved_at IS NOT NULL
         AND (TG_OP = 'INSERT' OR OLD.resolved_at IS NULL) THEN
        PERFORM dashboard_count('dispute_closed', agency, 0, NEW.resolved_at, 'resolved', '', 1,
                                extract(epoch FROM NEW.resolved_at - NEW.opened_at)::bigint);
      END IF;
      IF NEW.withdrawn_at IS NOT NULL
         AND (TG_OP = 'INSERT' OR OLD.withdrawn_at IS NULL) THEN
        PERFORM dashboard_count('dispute_closed', agency, 0, NEW.withdrawn_at, 'withdrawn', '', 1,
                                extract(epoch FROM NEW.withdrawn_at - NEW.opened_at)::bigint);
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER dashboard_dispute AFTER INSERT OR UPDATE OF resolved_at, withdrawn_at
      ON dispute FOR EACH ROW EXECUTE FUNCTION dashboard_on_dispute()
    """,
    # A hold started or ended, by rule. A hold on the borrower (no account) counts once for
    # each agency holding an account of theirs.
    """
    CREATE OR REPLACE FUNCTION dashboard_on_hold() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM dashboard_count('hold_started', h.agency_id, 0, NEW.started_at, NEW.rule, '', 1,
                                0)
          FROM (SELECT DISTINCT c.agency_id FROM account a JOIN creditor c ON c.id = a.creditor_id
                 WHERE a.id = NEW.account_id
                    OR (NEW.account_id IS NULL AND a.borrower_id = NEW.borrower_id)) h;
      END IF;
      IF NEW.ended_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.ended_at IS NULL) THEN
        PERFORM dashboard_count('hold_ended', h.agency_id, 0, NEW.ended_at, NEW.rule, '', 1, 0)
          FROM (SELECT DISTINCT c.agency_id FROM account a JOIN creditor c ON c.id = a.creditor_id
                 WHERE a.id = NEW.account_id
                    OR (NEW.account_id IS NULL AND a.borrower_id = NEW.borrower_id)) h;
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER dashboard_hold AFTER INSERT OR UPDATE OF ended_at ON contact_hold
      FOR EACH ROW EXECUTE FUNCTION dashboard_on_hold()
    """,
    # A contact attempt by channel; amount counts the ones the rules would have blocked.
    """
    CREATE OR REPLACE FUNCTION dashboard_on_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM dashboard_count('attempt', c.agency_id, 0, NEW.at, NEW.channel, '', 1,
                              CASE WHEN NEW.violation THEN 1 ELSE 0 END)
        FROM account a JOIN creditor c ON c.id = a.creditor_id WHERE a.id = NEW.account_id;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER dashboard_attempt AFTER INSERT ON contact_attempt FOR EACH ROW
      EXECUTE FUNCTION dashboard_on_attempt()
    """,
]

_BUCKET = "date_bin('15 minutes', {at}, TIMESTAMPTZ '2000-01-01 00:00+00')"
_ACCOUNT = "JOIN account a ON a.id = {row}.account_id JOIN creditor c ON c.id = a.creditor_id"
_HOLD_AGENCIES = """
    FROM contact_hold h
    JOIN LATERAL (SELECT DISTINCT c.agency_id FROM account a JOIN creditor c ON c.id = a.creditor_id
                   WHERE a.id = h.account_id
                      OR (h.account_id IS NULL AND a.borrower_id = h.borrower_id)) g ON true"""

#: Recount every tally from the source rows (what the triggers would have written).
REBUILD = [
    "TRUNCATE dashboard_tally",
    f"""
    INSERT INTO dashboard_tally
    SELECT 'collected', c.agency_id, {_BUCKET.format(at="l.posted_at")}, c.id, l.kind,
           l.currency, count(*) FILTER (WHERE l.kind = 'payment'), -sum(l.amount_minor)
      FROM ledger_entry l {_ACCOUNT.format(row="l")}
     WHERE l.payment_id IS NOT NULL AND l.kind IN ('payment', 'reversal')
       AND c.agency_id IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 6
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'plan_ended', c.agency_id, {_BUCKET.format(at="coalesce(p.ended_at, now())")}, 0,
           p.status, '', count(*), 0
      FROM payment_plan p {_ACCOUNT.format(row="p")}
     WHERE p.status IN ('completed', 'broken') AND c.agency_id IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 6
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'dispute_opened', c.agency_id, {_BUCKET.format(at="d.opened_at")}, 0, '', '',
           count(*), 0
      FROM dispute d {_ACCOUNT.format(row="d")}
     WHERE c.agency_id IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 6
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'dispute_open', c.agency_id, {_BUCKET.format(at="d.opened_at")}, 0, '', '',
           count(*), 0
      FROM dispute d {_ACCOUNT.format(row="d")}
     WHERE d.resolved_at IS NULL AND d.withdrawn_at IS NULL AND c.agency_id IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 6
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'dispute_closed', agency_id, bucket, 0, key, '', count(*), sum(age)::bigint
      FROM (SELECT c.agency_id, {_BUCKET.format(at="d.resolved_at")} AS bucket,
                   'resolved' AS key, extract(epoch FROM d.resolved_at - d.opened_at) AS age
              FROM dispute d {_ACCOUNT.format(row="d")}
             WHERE d.resolved_at IS NOT NULL
            UNION ALL
            SELECT c.agency_id, {_BUCKET.format(at="d.withdrawn_at")}, 'withdrawn',
                   extract(epoch FROM d.withdrawn_at - d.opened_at)
              FROM dispute d {_ACCOUNT.format(row="d")}
             WHERE d.withdrawn_at IS NOT NULL) closed
     WHERE agency_id IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 6
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'hold_started', g.agency_id, {_BUCKET.format(at="h.started_at")}, 0, h.rule, '',
           count(*), 0
    {_HOLD_AGENCIES}
     WHERE g.agency_id IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 6
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'hold_ended', g.agency_id, {_BUCKET.format(at="h.ended_at")}, 0, h.rule, '',
           count(*), 0
    {_HOLD_AGENCIES}
     WHERE h.ended_at IS NOT NULL AND g.agency_id IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 6
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'attempt', c.agency_id, {_BUCKET.format(at="t.at")}, 0, t.channel, '', count(*),
           count(*) FILTER (WHERE t.violation)
      FROM contact_attempt t {_ACCOUNT.format(row="t")}
     WHERE c.agency_id IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 6
    """,
]
DROP = [
    "DROP TRIGGER IF EXISTS dashboard_ledger ON ledger_entry",
    "DROP TRIGGER IF EXISTS dashboard_plan_insert ON payment_plan",
    "DROP TRIGGER IF EXISTS dashboard_plan_update ON payment_plan",
    "DROP TRIGGER IF EXISTS dashboard_dispute ON dispute",
    "DROP TRIGGER IF EXISTS dashboard_hold ON contact_hold",
    "DROP TRIGGER IF EXISTS dashboard_attempt ON contact_attempt",
    "DROP FUNCTION IF EXISTS dashboard_on_ledger()",
    "DROP FUNCTION IF EXISTS dashboard_on_plan()",
    "DROP FUNCTION IF EXISTS dashboard_on_dispute()",
    "DROP FUNCTION IF EXISTS dashboard_on_hold()",
    "DROP FUNCTION IF EXISTS dashboard_on_attempt()",
    "DROP FUNCTION IF EXISTS dashboard_count(text, integer, integer, timestamptz, text, text, "
    "bigint, bigint)",
]
