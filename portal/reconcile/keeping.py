"""A month's reconciliation done where the rows are: Stripe's month copied into a scratch table
of the transaction once, its transactions linked to our payments, kept (`settlement`), matched
and written as the difference from the last run, each step one SQL statement over the whole
month. A month of 200,000 charges no longer comes back to Python as objects three times.

`matching.match` stays the specification (its rules are tables in tests/unit): the tests in
tests/test_reconcile_sql.py draw random months and check that this gives the same items.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import text

from portal.bulk import month_sized, scratch_table, young_objects_collected
from portal.extensions import db
from portal.payments import settlement
from portal.reconcile import matching
from portal.reconcile.matching import DISPUTES, PAYOUTS, REFUNDS, Item, Outcome, id_of, source_of

#: The scratch table's columns, in COPY order.
MONTH_COLUMNS = ("id", "reporting_category", "type", "source_id", "amount_minor", "fee_minor",
                 "net_minor", "currency", "status", "created_s", "available_s", "payout_id",
                 "listed_at", "charge_ref", "intent_ref")
#: The item's columns a run compares (anything else about a row is its identity).
FIELDS = ("category", "outcome", "currency", "stripe_minor", "ours_minor", "fee_minor",
          "net_minor", "payment_id", "creditor_id", "balance_transaction_id", "source_id",
          "payout_id", "occurred_at")


def _rows(found: matching.Stripe) -> Iterator[tuple]:
    """Each balance transaction once (the month's list, then the payouts' lists with the payout
    that paid it out), with where it stood in the month's list and the charge and PaymentIntent
    its payment is found by (as `matching.Finder` finds it)."""
    charges = found.charges

    def intent_of(charge_id: str | None) -> str | None:
        charge = charges.get(charge_id) if charge_id else None
        return id_of(charge.get("payment_intent")) if charge else None

    once: dict[str, tuple[dict, str | None, int | None]] = {}
    for position, txn in enumerate(found.balance_transactions):
        once[txn["id"]] = (txn, txn.get("payout"), position)
    for payout, txns in found.payouts:
        for txn in txns:
            listed = once.get(txn["id"])
            once[txn["id"]] = (txn, txn.get("payout") or payout["id"],
                               listed[2] if listed else None)
    for txn, payout, position in once.values():
        category = txn.get("reporting_category") or txn["type"]
        source = source_of(txn)
        charge_ref = intent_ref = None
        if category == "charge":
            charge_ref, intent_ref = source, intent_of(source)
        else:
            reversal = (found.refunds if category in REFUNDS else
                        found.disputes if category in DISPUTES else {}).get(source)
            if reversal is not None:
                charge_ref = id_of(reversal.get("charge"))
                intent_ref = id_of(reversal.get("payment_intent")) or intent_of(charge_ref)
        yield (txn["id"], category, txn["type"], source, int(txn["amount"]),
               int(txn.get("fee") or 0), int(txn["net"]), str(txn["currency"]).upper(),
               txn.get("status") or "pending", int(txn["created"]), int(txn["available_on"]),
               payout, position, charge_ref, intent_ref)


def copy_month(found: matching.Stripe) -> None:
    """Stripe's month into `stripe_month`, a scratch table of this transaction, each transaction
    linked to our payment (any agency's: a transaction is linked whoever's it is), then kept."""
    month_sized()
    cursor = db.session.connection().connection.driver_connection.cursor()
    cursor.execute("""
        CREATE TEMP TABLE IF NOT EXISTS stripe_month (
            id text, reporting_category text, type text, source_id text,
            amount_minor bigint, fee_minor bigint, net_minor bigint, currency text, status text,
            created_s bigint, available_s bigint, payout_id text, listed_at integer,
            charge_ref text, intent_ref text, payment_id bigint) ON COMMIT DROP""")
    cursor.execute("TRUNCATE stripe_month")
    # Each row straight into the COPY; the garbage collector walks only what this makes, not
    # the month's hundreds of thousands of Stripe objects again and again (0.6 s of 1.3 s).
    with young_objects_collected(), \
            cursor.copy(f"COPY stripe_month ({', '.join(MONTH_COLUMNS)}) FROM STDIN") as copy:
        for row in _rows(found):
            copy.write_row(row)
    cursor.execute("ANALYZE stripe_month")
    # By charge id, then by PaymentIntent; the database chooses how (a hash join over the
    # payments, or an index lookup a transaction, whichever the tables' sizes make cheaper).
    cursor.execute("""
        UPDATE stripe_month m SET payment_id = p.id FROM payment p
        WHERE p.charge_id = m.charge_ref""")
    cursor.execute("""
        UPDATE stripe_month m SET payment_id = p.id FROM payment p
        WHERE m.payment_id IS NULL AND p.payment_intent_id = m.intent_ref""")
    settlement.record_from("""
        SELECT id, reporting_category, type, source_id, payment_id, amount_minor, fee_minor,
               net_minor, currency, status, to_timestamp(created_s), to_timestamp(available_s),
               payout_id
        FROM stripe_month""")


#: The agency's items of the month, as `matching.match` draws them up (but the payouts').
_WANTED = f"""
    WITH ours AS NOT MATERIALIZED (SELECT * FROM our_payment), listed AS (
        SELECT m.*, to_timestamp(m.created_s) AS created_at,
               CASE WHEN m.reporting_category IN {REFUNDS} THEN 'refunds'
                    WHEN m.reporting_category IN {DISPUTES} THEN 'chargebacks' END AS kind
        FROM stripe_month m
        WHERE m.listed_at IS NOT NULL AND m.reporting_category NOT IN {PAYOUTS}
    ), reversals AS (
        SELECT l.*, o.currency AS our_currency FROM listed l JOIN ours o ON o.id = l.payment_id
        WHERE l.kind IS NOT NULL
    ), groups AS (
        SELECT DISTINCT payment_id, kind FROM reversals
        UNION
        SELECT o.id, k.kind FROM ours o
        CROSS JOIN (VALUES ('refunds'), ('chargebacks')) AS k (kind)
        WHERE o.succeeded_at >= :start AND o.succeeded_at < :end
          AND CASE k.kind WHEN 'refunds' THEN o.refunded_minor
                          ELSE o.charged_back_minor END <> 0
    ), earlier AS (
        SELECT b.payment_id,
               CASE WHEN b.reporting_category IN {REFUNDS} THEN 'refunds'
                    ELSE 'chargebacks' END AS kind,
               sum(b.amount_minor) AS amount
        FROM balance_transaction b
        WHERE b.payment_id IN (SELECT payment_id FROM groups)
          AND b.reporting_category IN {REFUNDS + DISPUTES}
          AND NOT EXISTS (SELECT 1 FROM stripe_month m
                          WHERE m.id = b.id AND m.listed_at IS NOT NULL)
        GROUP BY 1, 2
    ), these AS (
        SELECT payment_id, kind, sum(amount_minor) AS amount, sum(fee_minor) AS fee,
               sum(net_minor) AS net
        FROM reversals GROUP BY 1, 2
    ), last AS (
        SELECT DISTINCT ON (payment_id, kind) payment_id, kind, id, source_id, created_at
        FROM reversals ORDER BY payment_id, kind, created_s DESC, listed_at
    )
    -- A key the month's list gives twice (two transactions of one source) is the later one's,
    -- as in `matching.match`; the other items' keys are one a payment.
    SELECT DISTINCT ON (key) * FROM (
    SELECT l.reporting_category || ':' || coalesce(l.source_id, l.id) AS key,
           l.reporting_category AS category, '{Outcome.STRIPE_ONLY}' AS outcome,
           l.currency AS currency, l.amount_minor AS stripe_minor, NULL::bigint AS ours_minor,
           l.fee_minor AS fee_minor, l.net_minor AS net_minor, NULL::bigint AS payment_id,
           NULL::bigint AS creditor_id, l.id AS balance_transaction_id,
           l.source_id AS source_id, l.payout_id AS payout_id, l.created_at AS occurred_at,
           l.listed_at AS said
    FROM listed l WHERE l.payment_id IS NULL
    UNION ALL
    SELECT 'charge:' || l.source_id, 'charge',
           CASE WHEN ours.amount = l.amount_minor AND o.currency = l.currency
                THEN '{Outcome.MATCHED}' ELSE '{Outcome.DIFFERENCE}' END,
           l.currency, l.amount_minor, ours.amount, l.fee_minor, l.net_minor, o.id,
           o.creditor_id, l.id, l.source_id, l.payout_id, l.created_at, l.listed_at
    FROM listed l JOIN ours o ON o.id = l.payment_id,
         LATERAL (SELECT CASE WHEN o.status = 'succeeded' THEN o.amount_minor ELSE 0 END
                  AS amount) ours
    WHERE l.reporting_category = 'charge'
    UNION ALL
    SELECT g.kind || ':' || g.payment_id,
           CASE g.kind WHEN 'refunds' THEN 'refund' ELSE 'dispute' END,
           CASE WHEN coalesce(e.amount, 0) + coalesce(t.amount, 0) = -ours.amount
                THEN '{Outcome.MATCHED}' ELSE '{Outcome.DIFFERENCE}' END,
           o.currency, coalesce(e.amount, 0) + coalesce(t.amount, 0), -ours.amount,
           coalesce(t.fee, 0), coalesce(t.net, 0), o.id, o.creditor_id, last.id,
           last.source_id, NULL, coalesce(last.created_at, o.succeeded_at), NULL
    FROM groups g JOIN ours o ON o.id = g.payment_id
    LEFT JOIN earlier e ON e.payment_id = g.payment_id AND e.kind = g.kind
    LEFT JOIN these t ON t.payment_id = g.payment_id AND t.kind = g.kind
    LEFT JOIN last ON last.payment_id = g.payment_id AND last.kind = g.kind,
         LATERAL (SELECT CASE g.kind WHEN 'refunds' THEN o.refunded_minor
                                     ELSE o.charged_back_minor END AS amount) ours
    UNION ALL
    SELECT 'payment:' || o.id, 'charge', '{Outcome.OURS_ONLY}', o.currency, NULL,
           o.amount_minor, 0, 0, o.id, o.creditor_id, NULL, o.charge_id, NULL, o.succeeded_at,
           NULL
    FROM ours o
    WHERE o.status = 'succeeded' AND o.succeeded_at >= :start AND o.succeeded_at < :end
      AND NOT EXISTS (SELECT 1 FROM listed l
                      WHERE l.payment_id = o.id AND l.reporting_category = 'charge')
      AND NOT EXISTS (SELECT 1 FROM balance_transaction b
                      WHERE b.payment_id = o.id AND b.reporting_category = 'charge')
    ) AS item ORDER BY key, said DESC NULLS LAST"""


def want(agency_id: int, start: datetime, end: datetime, payouts: list[Item]) -> None:
    """The agency's items of the month into `wanted_item`, a scratch table of the transaction:
    those of `stripe_month` (copied first) and the payouts' (drawn by `matching.payout_item`)."""
    session = db.session
    scratch_table("our_payment", """
        SELECT p.id, p.amount_minor, p.currency, p.status, p.refunded_minor,
               p.charged_back_minor, p.succeeded_at, p.charge_id, a.creditor_id
        FROM payment p JOIN account a ON a.id = p.account_id
        JOIN creditor c ON c.id = a.creditor_id
        WHERE c.agency_id = :agency AND p.id IN (
            SELECT id FROM payment WHERE succeeded_at >= :start AND succeeded_at < :end
            UNION SELECT payment_id FROM stripe_month WHERE payment_id IS NOT NULL)""",
                  {"agency": agency_id, "start": start, "end": end})
    scratch_table("wanted_item", f"SELECT key, {', '.join(FIELDS)} FROM ({_WANTED}) AS wanted",
                  {"start": start, "end": end})
    if payouts:
        session.execute(text(
            f"INSERT INTO wanted_item (key, {', '.join(FIELDS)}) VALUES "
            f"(:key, {', '.join(':' + f for f in FIELDS)})"),
            [{"key": i.key, **{f: getattr(i, f) for f in FIELDS}} for i in payouts])


def keep(run_id: int) -> tuple[int, int, int, int]:
    """`wanted_item` written into the run as the difference from what it kept: (items, added,
    changed, removed)."""
    session = db.session
    fields = ", ".join(FIELDS)
    wanted = session.scalar(text("SELECT count(*) FROM wanted_item"))
    changed = session.execute(text(f"""
        UPDATE reconciliation_item r SET ({fields}) = ({", ".join("w." + f for f in FIELDS)})
        FROM wanted_item w
        WHERE r.run_id = :run AND r.key = w.key
          AND ({", ".join("r." + f for f in FIELDS)})
              IS DISTINCT FROM ({", ".join("w." + f for f in FIELDS)})"""),
        {"run": run_id}).rowcount
    removed = session.execute(text("""
        DELETE FROM reconciliation_item r WHERE r.run_id = :run
          AND NOT EXISTS (SELECT 1 FROM wanted_item w WHERE w.key = r.key)"""),
        {"run": run_id}).rowcount
    added = session.execute(text(f"""
        INSERT INTO reconciliation_item (run_id, key, {fields})
        SELECT :run, w.key, {", ".join("w." + f for f in FIELDS)} FROM wanted_item w
        WHERE NOT EXISTS (SELECT 1 FROM reconciliation_item r
                          WHERE r.run_id = :run AND r.key = w.key)
        ORDER BY w.key"""), {"run": run_id}).rowcount
    return wanted, added, changed, removed
