"""The dashboard's rollup, kept by the database itself: triggers count every payment, plan end,
dispute, hold and contact attempt into 15-minute UTC buckets as the row is written, in the same
transaction, so a chart sums a few thousand tally rows instead of millions of source rows.

Fifteen minutes because every time zone in use today is a whole number of quarter hours from
UTC: a bucket never straddles a local midnight, so any viewer's days (and weeks) are exact.
The migration (0017_dashboard) runs this SQL; `REBUILD` recounts everything from the source
rows (the migration's backfill, and a benchmark that seeds with triggers off).
"""

from __future__ import annotations

#: Each statement on its own, in order.
CREATE = [
    """
    CREATE OR REPLACE FUNCTION dashboard_count(p_metric text, p_creditor integer,
                                               p_at timestamptz, p_key text, p_currency text,
                                               p_count bigint, p_amount bigint)
    RETURNS void LANGUAGE sql AS $$
      INSERT INTO dashboard_tally (metric, creditor_id, bucket, key, currency, count, amount)
      VALUES (p_metric, p_creditor,
              date_bin('15 minutes', p_at, TIMESTAMPTZ '2000-01-01 00:00+00'),
              coalesce(p_key, ''), coalesce(p_currency, ''), p_count, p_amount)
      ON CONFLICT (metric, creditor_id, bucket, key, currency) DO UPDATE
        SET count = dashboard_tally.count + excluded.count,
            amount = dashboard_tally.amount + excluded.amount
    $$
    """,
    # A card payment posted (key 'payment') or given back, refunded or charged back
    # ('reversal'): amount is what came in, so a reversal counts negative.
    """
    CREATE OR REPLACE FUNCTION dashboard_on_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM dashboard_count('collected', a.creditor_id, NEW.posted_at, NEW.kind, NEW.currency,
                              CASE WHEN NEW.kind = 'payment' THEN 1 ELSE 0 END,
                              -NEW.amount_minor)
        FROM account a WHERE a.id = NEW.account_id;
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
      PERFORM dashboard_count('plan_ended', a.creditor_id, coalesce(NEW.ended_at, now()),
                              NEW.status, '', 1, 0)
        FROM account a WHERE a.id = NEW.account_id;
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
      creditor integer;
    BEGIN
      SELECT a.creditor_id INTO creditor FROM account a WHERE a.id = NEW.account_id;
      IF TG_OP = 'INSERT' THEN
        PERFORM dashboard_count('dispute_opened', creditor, NEW.opened_at, '', '', 1, 0);
      END IF;
      IF NEW.resolved_at IS NOT NULL
         AND (TG_OP = 'INSERT' OR OLD.resolved_at IS NULL) THEN
        PERFORM dashboard_count('dispute_closed', creditor, NEW.resolved_at, 'resolved', '', 1,
                                extract(epoch FROM NEW.resolved_at - NEW.opened_at)::bigint);
      END IF;
      IF NEW.withdrawn_at IS NOT NULL
         AND (TG_OP = 'INSERT' OR OLD.withdrawn_at IS NULL) THEN
        PERFORM dashboard_count('dispute_closed', creditor, NEW.withdrawn_at, 'withdrawn', '', 1,
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
    # each creditor whose account of theirs it pauses.
    """
    CREATE OR REPLACE FUNCTION dashboard_on_hold() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM dashboard_count('hold_started', c.creditor_id, NEW.started_at, NEW.rule, '', 1,
                                0)
          FROM (SELECT DISTINCT a.creditor_id FROM account a
                 WHERE a.id = NEW.account_id
                    OR (NEW.account_id IS NULL AND a.borrower_id = NEW.borrower_id)) c;
      END IF;
      IF NEW.ended_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.ended_at IS NULL) THEN
        PERFORM dashboard_count('hold_ended', c.creditor_id, NEW.ended_at, NEW.rule, '', 1, 0)
          FROM (SELECT DISTINCT a.creditor_id FROM account a
                 WHERE a.id = NEW.account_id
                    OR (NEW.account_id IS NULL AND a.borrower_id = NEW.borrower_id)) c;
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
      PERFORM dashboard_count('attempt', a.creditor_id, NEW.at, NEW.channel, '', 1,
                              CASE WHEN NEW.violation THEN 1 ELSE 0 END)
        FROM account a WHERE a.id = NEW.account_id;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER dashboard_attempt AFTER INSERT ON contact_attempt FOR EACH ROW
      EXECUTE FUNCTION dashboard_on_attempt()
    """,
]

_BUCKET = "date_bin('15 minutes', {at}, TIMESTAMPTZ '2000-01-01 00:00+00')"
_HOLD_CREDITORS = """
    FROM contact_hold h
    JOIN LATERAL (SELECT DISTINCT a.creditor_id FROM account a
                   WHERE a.id = h.account_id
                      OR (h.account_id IS NULL AND a.borrower_id = h.borrower_id)) c ON true"""

#: Recount every tally from the source rows (what the triggers would have written).
REBUILD = [
    "TRUNCATE dashboard_tally",
    f"""
    INSERT INTO dashboard_tally
    SELECT 'collected', a.creditor_id, {_BUCKET.format(at="l.posted_at")}, l.kind, l.currency,
           count(*) FILTER (WHERE l.kind = 'payment'), -sum(l.amount_minor)
      FROM ledger_entry l JOIN account a ON a.id = l.account_id
     WHERE l.payment_id IS NOT NULL AND l.kind IN ('payment', 'reversal')
     GROUP BY 1, 2, 3, 4, 5
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'plan_ended', a.creditor_id, {_BUCKET.format(at="coalesce(p.ended_at, now())")},
           p.status, '', count(*), 0
      FROM payment_plan p JOIN account a ON a.id = p.account_id
     WHERE p.status IN ('completed', 'broken')
     GROUP BY 1, 2, 3, 4, 5
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'dispute_opened', a.creditor_id, {_BUCKET.format(at="d.opened_at")}, '', '',
           count(*), 0
      FROM dispute d JOIN account a ON a.id = d.account_id
     GROUP BY 1, 2, 3, 4, 5
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'dispute_closed', creditor_id, bucket, key, '', count(*), sum(age)::bigint
      FROM (SELECT a.creditor_id, {_BUCKET.format(at="d.resolved_at")} AS bucket,
                   'resolved' AS key, extract(epoch FROM d.resolved_at - d.opened_at) AS age
              FROM dispute d JOIN account a ON a.id = d.account_id
             WHERE d.resolved_at IS NOT NULL
            UNION ALL
            SELECT a.creditor_id, {_BUCKET.format(at="d.withdrawn_at")}, 'withdrawn',
                   extract(epoch FROM d.withdrawn_at - d.opened_at)
              FROM dispute d JOIN account a ON a.id = d.account_id
             WHERE d.withdrawn_at IS NOT NULL) closed
     GROUP BY 1, 2, 3, 4, 5
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'hold_started', c.creditor_id, {_BUCKET.format(at="h.started_at")}, h.rule, '',
           count(*), 0
    {_HOLD_CREDITORS}
     GROUP BY 1, 2, 3, 4, 5
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'hold_ended', c.creditor_id, {_BUCKET.format(at="h.ended_at")}, h.rule, '',
           count(*), 0
    {_HOLD_CREDITORS}
     WHERE h.ended_at IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5
    """,
    f"""
    INSERT INTO dashboard_tally
    SELECT 'attempt', a.creditor_id, {_BUCKET.format(at="t.at")}, t.channel, '', count(*),
           count(*) FILTER (WHERE t.violation)
      FROM contact_attempt t JOIN account a ON a.id = t.account_id
     GROUP BY 1, 2, 3, 4, 5
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
    "DROP FUNCTION IF EXISTS dashboard_count(text, integer, timestamptz, text, text, bigint, "
    "bigint)",
]
