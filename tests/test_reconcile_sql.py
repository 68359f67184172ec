"""The reconciliation the database does (portal/reconcile/keeping.py) against the pure rules it
is written from: random months at Stripe (charges found by charge id or only by PaymentIntent,
amounts and currencies that differ, refunds and disputes over two months, charges and fees that
are no payment of ours, another agency's payments, payouts that add up or do not) and random
payments of ours. Every run's items must be exactly what `matching.match` says of the same
month, and running it again changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from portal.reconcile import matching, service
from portal.reconcile.keeping import FIELDS
from portal.reconcile.period import Period
from tests.conftest import rolled_back

OCTOBER, NOVEMBER = Period(2026, 10), Period(2026, 11)
DAY = 86400


def _at(period: Period, day: int) -> int:
    return int(period.start.timestamp()) + day * DAY + 3600


@st.composite
def months(draw):
    """Our payments (two agencies) and what Stripe says of October and November."""
    payments = []
    for n in range(draw(st.integers(1, 8))):
        amount = draw(st.integers(100, 90_000))
        refunded = draw(st.sampled_from([0, 0, amount // 3, amount]))
        charged_back = draw(st.sampled_from([0, 0, amount - refunded]))
        payments.append({
            "n": n, "theirs": draw(st.integers(0, 4)) == 0, "amount": amount,
            "currency": "USD", "status": draw(st.sampled_from(["succeeded"] * 4 + ["failed"])),
            "refunded": refunded, "charged_back": charged_back,
            "month": draw(st.sampled_from([OCTOBER, NOVEMBER, NOVEMBER])),
            "day": draw(st.integers(0, 27)),
            # How Stripe reports it: not at all, its charge by our charge id, or a charge of
            # another id that names our PaymentIntent.
            "stripe": draw(st.sampled_from(["none", "charge", "charge", "intent"])),
            "stripe_amount": draw(st.sampled_from([amount, amount, amount - 1])),
            "stripe_currency": draw(st.sampled_from(["usd", "usd", "eur"])),
            "refunds": [(draw(st.sampled_from([OCTOBER, NOVEMBER])), part) for part in
                        draw(st.lists(st.sampled_from([refunded, 1, amount // 3]),
                                      max_size=2))],
            "disputed": draw(st.booleans()),
            "by_intent": draw(st.booleans()),
        })
    strangers = draw(st.lists(st.tuples(st.sampled_from(["charge", "fee", "refund", "dispute"]),
                                        st.integers(-5000, 5000)), max_size=3))
    payouts = draw(st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=2))
    return payments, strangers, payouts


def _stripe(month, period: Period) -> matching.Stripe:
    """What Stripe's lists say of `period`, as Stripe documents the objects."""
    payments, strangers, payouts = month
    found = matching.Stripe()
    txns: list[dict] = []

    def txn(id_, source, amount, category, day, currency="usd", fee=0):
        t = {"id": id_, "object": "balance_transaction", "amount": amount, "fee": fee,
             "net": amount - fee, "currency": currency, "created": _at(period, day),
             "available_on": _at(period, day + 2), "reporting_category": category,
             "type": "adjustment" if category == "dispute" else category, "source": source,
             "status": "available"}
        txns.append(t)
        return t

    for p in payments:
        charge = f"ch_o{p['n']}" if p["stripe"] == "charge" else f"ch_x{p['n']}"
        if p["stripe"] != "none" and p["month"] == period:
            found.charges[charge] = {"id": charge, "object": "charge",
                                     "payment_intent": f"pi_o{p['n']}"}
            txn(f"txn_c{p['n']}", charge, p["stripe_amount"], "charge", p["day"],
                p["stripe_currency"], fee=p["n"])
        for k, (when, part) in enumerate(p["refunds"]):
            if when != period or not part:
                continue
            refund = f"re_{p['n']}_{k}"
            found.refunds[refund] = {"id": refund, "object": "refund",
                                     "charge": None if p["by_intent"] else charge,
                                     "payment_intent": f"pi_o{p['n']}" if p["by_intent"]
                                     else None}
            txn(f"txn_r{p['n']}_{k}", refund, -part, "refund", 27)
        if p["disputed"] and period == NOVEMBER:
            dispute = f"dp_{p['n']}"
            found.disputes[dispute] = {"id": dispute, "object": "dispute", "charge": charge,
                                       "payment_intent": None}
            txn(f"txn_d{p['n']}", dispute, -p["amount"], "dispute", 26, fee=1500)
    for k, (category, amount) in enumerate(strangers):
        # Two of them may share a source: the later one names the item, as in `match`.
        txn(f"txn_s{k}_{period.first_day.month}", f"src_s{k % 2}_{period.first_day.month}", amount,
            category, 10)
    for k, (count, adds_up) in enumerate(payouts):
        paid_out = txns[:count]
        total = sum(t["net"] for t in paid_out) + (0 if adds_up else 7)
        payout = {"id": f"po_{k}_{period.first_day.month}", "object": "payout",
                  "amount": total, "currency": "usd", "arrival_date": _at(period, 28),
                  "created": _at(period, 27),
                  "balance_transaction": f"txn_po_{k}_{period.first_day.month}"}
        own = {"id": payout["balance_transaction"], "amount": -total, "fee": 0, "net": -total,
               "currency": "usd", "created": _at(period, 27), "available_on": _at(period, 27),
               "reporting_category": "payout", "type": "payout", "source": payout["id"],
               "status": "available"}
        found.payouts.append((payout, [{**t, "payout": payout["id"]} for t in paid_out] + [own]))
        txns.append(own)
    found.balance_transactions = txns
    return found


def _write(session, payments) -> tuple[int, list[matching.Ours]]:
    """Our payments, on a demo account of the first agency or of the other one."""
    agencies = session.execute(text("""
        SELECT c.agency_id, min(a.id), min(a.borrower_id), min(a.creditor_id)
        FROM account a JOIN creditor c ON c.id = a.creditor_id
        GROUP BY c.agency_id ORDER BY c.agency_id LIMIT 2""")).all()
    assert len(agencies) == 2
    ours = []
    for p in payments:
        agency, account, borrower, creditor = agencies[1 if p["theirs"] else 0]
        succeeded = datetime.fromtimestamp(_at(p["month"], p["day"]), UTC) \
            if p["status"] == "succeeded" else None
        payment_id = session.execute(text("""
            INSERT INTO payment (public_id, borrower_id, account_id, amount_minor, currency,
                                 choice, status, payment_intent_id, charge_id, refunded_minor,
                                 charged_back_minor, succeeded_at, created_at, updated_at)
            VALUES (gen_random_uuid(), :borrower, :account, :amount, 'USD', 'other', :status,
                    :intent, :charge, :refunded, :charged_back, :at, now(), now())
            RETURNING id"""), {
            "borrower": borrower, "account": account, "amount": p["amount"],
            "status": p["status"], "intent": f"pi_o{p['n']}", "charge": f"ch_o{p['n']}",
            "refunded": p["refunded"], "charged_back": p["charged_back"],
            "at": succeeded}).scalar_one()
        ours.append(matching.Ours(payment_id, f"ch_o{p['n']}", f"pi_o{p['n']}", p["amount"],
                                  "USD", p["status"], p["refunded"], p["charged_back"],
                                  succeeded, creditor, agency))
    return agencies[0][0], ours


def _kept(session, run_id: int) -> dict[str, tuple]:
    return {row[0]: tuple(row[1:]) for row in session.execute(text(
        f"SELECT key, {', '.join(FIELDS)} FROM reconciliation_item WHERE run_id = :run"),
        {"run": run_id})}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(months())
def test_every_run_the_database_does_is_the_pure_rules_reconciliation(app, month):
    from portal.extensions import db

    with rolled_back(app) as database, database.app.app_context():
        session = db.session
        agency, ours = _write(session, month[0])
        now = datetime(2026, 12, 2, tzinfo=UTC)
        for period in (OCTOBER, NOVEMBER):
            found = _stripe(month, period)
            result = service.store_in_transaction(agency, period, found, now)
            recorded = [matching.Recorded(*row) for row in session.execute(text(
                "SELECT id, reporting_category, amount_minor, payment_id "
                "FROM balance_transaction WHERE payment_id = ANY(:ids)"),
                {"ids": [p.id for p in ours]})]
            expected = {i.key: tuple(getattr(i, f) for f in FIELDS) for i in matching.match(
                found, ours, recorded, agency, period.start, period.end)}
            assert _kept(session, result.run_id) == expected, str(period)
            again = service.store_in_transaction(agency, period, found, now)
            assert (again.run_id, again.items, again.added, again.changed, again.removed) == (
                result.run_id, len(expected), 0, 0, 0)
