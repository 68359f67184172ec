"""The statement the database draws up (portal/lenders/drawing.py) against the pure rules it is
written from: random months of payments, refunds, chargebacks, money made available or held,
direct payments and commission terms with product and age rates, closed one month after
another. Every statement's items and lines must be exactly what `remittance.items` and
`remittance.lines` say of the same facts, each payment rated by `commission.rate_for`."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from portal.lenders import commission, remittance
from portal.lenders.commission import Rate
from tests.conftest import rolled_back

PERIODS = 4
FIRST = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCTS = ["Credit card", "Personal loan"]


def _start(period: int) -> datetime:
    return remittance.period_bounds(_name(period))[0]


def _name(period: int) -> str:
    return f"2026-{period + 1:02d}"


@st.composite
def months(draw):
    """Accounts, their payments with reversals and availability, direct payments, terms."""
    accounts = [{"product": draw(st.sampled_from(PRODUCTS)),
                 "placed_days": draw(st.integers(0, 600))} for _ in range(3)]
    payments = []
    for _ in range(draw(st.integers(0, 10))):
        paid = draw(st.integers(0, PERIODS - 1))
        amount = draw(st.integers(1, 300_000))
        reversals, room = [], amount
        for _ in range(draw(st.integers(0, 2))):
            if room == 0:
                break
            part = draw(st.integers(1, room))
            room -= part
            reversals.append((draw(st.integers(paid, PERIODS - 1)),
                              draw(st.sampled_from(["Refund", "Chargeback"])), part))
        payments.append({"account": draw(st.integers(0, 2)), "amount": amount, "paid": paid,
                         "day": draw(st.integers(0, 27)), "hour": draw(st.integers(0, 23)),
                         "available": draw(st.one_of(st.none(), st.integers(paid, PERIODS))),
                         "reversals": reversals})
    directs = [{"account": draw(st.integers(0, 2)), "amount": draw(st.integers(1, 100_000)),
                "reported": draw(st.integers(0, PERIODS - 1)), "day": draw(st.integers(0, 27))}
               for _ in range(draw(st.integers(0, 3)))]
    # Round rates make exact halves of a cent (amount x 5000 bp, odd amount), where half-even
    # rounding shows.
    bp = st.one_of(st.sampled_from([0, 2500, 5000]), st.integers(0, 5000))
    history = [commission.Terms(date(2025, 1, 1), "net", (Rate(None, 0, draw(bp)),))]
    if draw(st.booleans()):
        history.append(commission.Terms(
            date(2026, 2, 15), draw(st.sampled_from(["net", "gross", "combined"])),
            (Rate(None, 0, draw(bp)), Rate("Credit card", 180, draw(bp)),
             Rate(None, 365, draw(bp)))))
    return accounts, payments, directs, history


def _rate(history, product: str, placed: datetime, paid: datetime) -> int:
    return commission.rate_for(commission.terms_on(history, paid.date()), product,
                               (paid - placed).days)


def _expected(accounts, payments, directs, history):
    """Each month's (items, lines) by the pure rules, closing one month after another."""
    accounted = defaultdict(lambda: [0, 0, 0])
    taken: set[int] = set()
    found = []
    for period in range(PERIODS):
        facts = []
        for p in payments:
            if p["paid"] > period:
                continue
            got = {"Refund": 0, "Chargeback": 0}
            for at, kind, part in p["reversals"]:
                if at <= period:
                    got[kind] += part
            account = accounts[p["account"]]
            before = accounted[p["id"]]
            facts.append(remittance.CardPayment(
                p["id"], account["id"], "USD", p["amount"],
                _rate(history, account["product"], account["placed_at"], p["at"]),
                available=p["available"] is not None and p["available"] <= period,
                refunded=got["Refund"], charged_back=got["Chargeback"],
                remitted=bool(before[0]), accounted_refunded=before[1],
                accounted_charged_back=before[2]))
        due = [remittance.Direct(d["id"], accounts[d["account"]]["id"], "USD", d["amount"],
                                 _rate(history, accounts[d["account"]]["product"],
                                       accounts[d["account"]]["placed_at"],
                                       datetime.combine(d["paid_on"], datetime.min.time(), UTC)))
               for d in directs if d["reported"] <= period and d["id"] not in taken]
        items = remittance.items(facts, due)
        for item in items:
            if item.payment_id is not None:
                before = accounted[item.payment_id]
                before[0] += item.collected
                before[1] += item.refunded
                before[2] += item.charged_back
            else:
                taken.add(item.direct_id)
        found.append((items, remittance.lines(items)))
    return found


def _write(session, accounts, payments, directs, history) -> None:
    """The month's rows, as the payment path, the ledger and Stripe's records keep them."""
    from portal.crypto import cipher, lookup_digest
    from portal.lenders import terms

    agency, borrower = session.execute(text(
        "SELECT (SELECT min(id) FROM agency), (SELECT min(id) FROM borrower)")).one()
    creditor = session.execute(text(
        "INSERT INTO creditor (code, name, country, agency_id, allow_overpayment) "
        "VALUES ('SQLT', 'Statement Oracle Bank', 'US', :agency, false) RETURNING id"),
        {"agency": agency}).scalar_one()
    number = cipher().encrypt("ORACLE-1", "account.original_account_number")
    for n, account in enumerate(accounts):
        account["placed_at"] = FIRST - timedelta(days=account["placed_days"], hours=n * 5)
        account["id"] = session.execute(text("""
            INSERT INTO account (reference, borrower_id, creditor_id, product, currency,
                                 original_account_number, original_account_number_digest,
                                 status, itemization_date, placed_at)
            VALUES (:ref, :borrower, :creditor, :product, 'USD', :number, :digest, 'open',
                    :itemized, :placed) RETURNING id"""), {
            "ref": f"SQLT-{n}", "borrower": borrower, "creditor": creditor,
            "product": account["product"], "number": number,
            "digest": lookup_digest("ORACLE-1", "account.original_account_number"),
            "itemized": account["placed_at"].date(), "placed": account["placed_at"]}).scalar_one()
    for n, p in enumerate(payments):
        p["at"] = _start(p["paid"]) + timedelta(days=p["day"], hours=p["hour"])
        account_id = accounts[p["account"]]["id"]
        p["id"] = session.execute(text("""
            INSERT INTO payment (public_id, borrower_id, account_id, amount_minor, currency,
                                 choice, status, payment_intent_id, charge_id, refunded_minor,
                                 charged_back_minor, succeeded_at, created_at, updated_at)
            VALUES (gen_random_uuid(), :borrower, :account, :amount, 'USD', 'other',
                    'succeeded', :intent, :charge, 0, 0, :at, :at, :at) RETURNING id"""), {
            "borrower": borrower, "account": account_id, "amount": p["amount"],
            "intent": f"pi_sqlt_{n}", "charge": f"ch_sqlt_{n}", "at": p["at"]}).scalar_one()
        for at, kind, part in p["reversals"]:
            posted = max(_start(at) + timedelta(days=20), p["at"])
            session.execute(text("""
                INSERT INTO ledger_entry (account_id, kind, amount_minor, currency, posted_at,
                                          effective_date, description, payment_id)
                VALUES (:account, 'reversal', :part, 'USD', :posted, :day, :description,
                        :payment)"""), {
                "account": account_id, "part": part, "posted": posted, "day": posted.date(),
                "description": f"{kind} of card payment {n}", "payment": p["id"]})
        if p["available"] is not None:
            available_on = _start(p["available"]) + timedelta(days=2) \
                if p["available"] > p["paid"] else p["at"]
            session.execute(text("""
                INSERT INTO balance_transaction (id, reporting_category, type, source_id,
                    payment_id, amount_minor, fee_minor, net_minor, currency, status,
                    created_at, available_on)
                VALUES (:id, 'charge', 'charge', :charge, :payment, :amount, 0, :amount, 'USD',
                        'available', :at, :available_on)"""), {
                "id": f"txn_sqlt_{n}", "charge": f"ch_sqlt_{n}", "payment": p["id"],
                "amount": p["amount"], "at": p["at"], "available_on": available_on})
    for d in directs:
        account_id = accounts[d["account"]]["id"]
        d["paid_on"] = (_start(d["reported"]) - timedelta(days=d["day"])).date()
        reported_at = _start(d["reported"]) + timedelta(days=d["day"])
        entry = session.execute(text("""
            INSERT INTO ledger_entry (account_id, kind, amount_minor, currency, posted_at,
                                      effective_date, description)
            VALUES (:account, 'payment', :amount, 'USD', :at, :day, 'Paid to the creditor')
            RETURNING id"""), {"account": account_id, "amount": -d["amount"],
                               "at": reported_at, "day": d["paid_on"]}).scalar_one()
        d["id"] = session.execute(text("""
            INSERT INTO direct_payment (account_id, amount_minor, currency, paid_on, reported_at,
                                        reported_by, ledger_entry_id)
            VALUES (:account, :amount, 'USD', :paid_on, :at, 'test', :entry) RETURNING id"""), {
            "account": account_id, "amount": d["amount"], "paid_on": d["paid_on"],
            "at": reported_at, "entry": entry}).scalar_one()
    for t in history:
        terms.write_terms("SQLT", t.valid_from, t.method, list(t.rates))


def _closed(session, statement_id: int):
    items = session.execute(text("""
        SELECT coalesce(payment_id, direct_payment_id), payment_id IS NULL, collected_minor,
               refunded_minor, charged_back_minor, rate_bp
        FROM remittance_item WHERE statement_id = :id"""), {"id": statement_id}).all()
    lines = session.execute(text("""
        SELECT account_id, currency, collected_minor, refunded_minor, charged_back_minor,
               commission_minor, direct_minor, direct_commission_minor
        FROM remittance_line WHERE statement_id = :id ORDER BY id"""), {"id": statement_id})
    return sorted(tuple(row) for row in items), [remittance.Line(*row) for row in lines]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(months())
def test_every_statement_the_database_draws_up_is_the_pure_rules_statement(app, month):
    from portal.extensions import db
    from portal.lenders import statements

    accounts, payments, directs, history = month
    with rolled_back(app) as database, database.app.app_context(), \
            mock.patch.object(statements, "can_close", lambda creditor, period: []):
        _write(db.session, accounts, payments, directs, history)
        expected = _expected(accounts, payments, directs, history)
        for period, (items, lines) in enumerate(expected):
            row = statements.close_in_transaction("SQLT", _name(period), "test")
            got_items, got_lines = _closed(db.session, row.id)
            assert got_items == sorted(
                (i.payment_id or i.direct_id, i.payment_id is None, i.collected + i.direct,
                 i.refunded, i.charged_back, i.rate_bp) for i in items), _name(period)
            assert got_lines == lines, _name(period)
            assert statements.totals_of(row) == remittance.totals(lines, row.method)
