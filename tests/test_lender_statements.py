"""Remittance statements against the database: money Stripe reports available is remitted once,
a later refund or chargeback is a deduction on the next statement, a closed statement never
changes, and the lender downloads it as CSV and PDF."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from portal.accounts.models import Creditor
from portal.cases.service import Actor
from portal.demo import stripe_month
from portal.extensions import db as database
from portal.identity.models import StaffUser
from portal.lenders import statements
from portal.lenders.models import RemittanceLine, RemittanceStatement
from portal.operations import Refused
from portal.outbox.models import OutboxMessage
from portal.payments import applying, settlement
from portal.payments.models import Payment
from portal.reconcile import review
from portal.reconcile.period import Period


def _when(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def _settle(db, payment, paid: str, available: str) -> None:
    """The payment succeeded at `paid`, and Stripe reports its charge available at `available`
    (a balance transaction shaped as Stripe documents it)."""
    def write():
        row = database.session.get(Payment, payment.id)
        row.succeeded_at = _when(paid)
        settlement.record({"id": f"txn_{payment.id}", "object": "balance_transaction",
                           "type": "charge", "reporting_category": "charge",
                           "source": row.charge_id, "amount": row.amount_minor, "fee": 0,
                           "net": row.amount_minor, "currency": row.currency.lower(),
                           "status": "available", "created": int(_when(paid).timestamp()),
                           "available_on": int(_when(available).timestamp())}, row.id)
    db.run(write)


def _refund(db, payment, amount: int, at: str) -> None:
    def write():
        row = database.session.get(Payment, payment.id)
        applying.apply_refund({"id": row.charge_id, "payment_intent": row.payment_intent_id,
                               "amount_refunded": row.refunded_minor + amount},
                              Actor.system("test"), at=_when(at))
    db.run(write)


def _chargeback(db, payment, amount: int, at: str) -> None:
    def write():
        row = database.session.get(Payment, payment.id)
        applying.apply_chargeback({"id": f"dp_{row.id}", "charge": row.charge_id,
                                   "payment_intent": row.payment_intent_id, "amount": amount},
                                  Actor.system("test"), at=_when(at))
    db.run(write)


def _reconcile(db, period: str) -> None:
    """The month reconciled against the Stripe that saw what the test recorded."""
    from portal.lenders.remittance import period_bounds

    agency = db.scalar(select(Creditor.agency_id).where(Creditor.code == "NWB"))
    db.run(stripe_month.reconcile, agency, period, period_bounds(period)[1])


def _close(db, period: str, reconcile: bool = True):
    from portal.lenders.remittance import period_bounds

    if reconcile:
        _reconcile(db, period)
    return db.run(statements.close_statement, "NWB", period, "test",
                  now=period_bounds(period)[1])


def _lines(db, statement_id: int) -> dict[str, tuple]:
    def read():
        row = database.session.get(RemittanceStatement, statement_id)
        refs = statements.references(row)
        return {refs[line.account_id]: (line.collected_minor, line.refunded_minor,
                                        line.charged_back_minor, line.commission_minor)
                for line in row.lines}
    return db.run(read)


def _totals(db, statement_id: int):
    return db.run(lambda: statements.totals_of(
        database.session.get(RemittanceStatement, statement_id)))


def test_available_money_is_remitted_once_and_later_reversals_are_next_statements_deductions(
        db, demo, make_payment):
    paid = make_payment("NWB-1002", 10_000, "succeeded")
    _settle(db, paid, "2026-09-10T12:00:00", "2026-09-12T00:00:00")
    held = make_payment("NWB-1002", 4_000, "succeeded")  # paid on the 30th, available in October
    _settle(db, held, "2026-09-30T20:00:00", "2026-10-02T00:00:00")

    september = _close(db, "2026-09")
    # 25 % net on NWB-1002 (a credit card placed less than 180 days before): 25.00 kept.
    assert _lines(db, september.id) == {"NWB-1002": (10_000, 0, 0, 2_500)}
    (usd,) = _totals(db, september.id)
    assert (usd.due, usd.invoiced) == (7_500, 0)

    _refund(db, paid, 3_000, "2026-10-05T09:00:00")
    _chargeback(db, held, 4_000, "2026-10-20T09:00:00")
    october = _close(db, "2026-10")
    # The held payment comes in with its chargeback; September's payment is deducted 30.00 and
    # its commission on that given back (7.50).
    assert _lines(db, october.id) == {"NWB-1002": (4_000, 3_000, 4_000, -750)}
    (usd,) = _totals(db, october.id)
    assert usd.due == 4_000 - 3_000 - 4_000 + 750
    # September's statement is exactly as it was closed.
    assert _lines(db, september.id) == {"NWB-1002": (10_000, 0, 0, 2_500)}

    november = _close(db, "2026-11")
    assert _lines(db, november.id) == {}


def test_a_payment_stripe_has_not_made_available_is_held(db, demo, make_payment):
    waiting = make_payment("NWB-1001", 5_000, "succeeded")
    _settle(db, waiting, "2026-09-10T12:00:00", "2026-10-01T00:00:01")  # a second after the end
    unknown = make_payment("NWB-1001", 2_000, "succeeded")  # no balance transaction at all
    db.run(lambda: setattr(database.session.get(Payment, unknown.id), "succeeded_at",
                           _when("2026-09-11T12:00:00")))
    # Stripe never settled the second payment: September will not close until a supervisor
    # says why, and refusing writes nothing.
    with pytest.raises(Refused, match=rf"closes only once .*payment:{unknown.id}: USD 20.00 of "
                                      "ours, never settled by Stripe"):
        _close(db, "2026-09")
    assert db.scalars(select(RemittanceStatement)) == []
    supervisor = db.scalar(select(StaffUser).where(StaffUser.email == "supervisor@demo.test"))
    db.run(review.explain, supervisor, Period(2026, 9), f"payment:{unknown.id}",
           "The borrower's bank reversed it before settlement; chasing with the bank.")
    assert _lines(db, _close(db, "2026-09").id) == {}
    october = _close(db, "2026-10")
    assert _lines(db, october.id) == {"NWB-1001": (5_000, 0, 0, 1_250)}


def test_a_month_never_reconciled_or_reconciled_too_early_does_not_close(db, demo, make_payment):
    paid = make_payment("NWB-1002", 10_000, "succeeded")
    _settle(db, paid, "2026-09-10T12:00:00", "2026-09-12T00:00:00")
    with pytest.raises(Refused, match="2026-09 has not been reconciled with Stripe"):
        _close(db, "2026-09", reconcile=False)
    agency = db.scalar(select(Creditor.agency_id).where(Creditor.code == "NWB"))
    db.run(stripe_month.reconcile, agency, "2026-09", _when("2026-09-30T12:00:00"))
    with pytest.raises(Refused, match="last reconciled before it ended"):
        _close(db, "2026-09", reconcile=False)
    assert db.scalars(select(RemittanceStatement)) == []
    assert _lines(db, _close(db, "2026-09").id) == {"NWB-1002": (10_000, 0, 0, 2_500)}


def test_a_statement_closes_once_after_its_period_and_the_last_one(db, demo):
    _close(db, "2026-09")
    with pytest.raises(Refused, match="closed"):
        _close(db, "2026-09")
    with pytest.raises(Refused, match="closed"):
        _close(db, "2026-08")
    with pytest.raises(Refused, match="has not ended"):
        db.run(statements.close_statement, "NWB", "2026-10", "test",
               now=_when("2026-10-31T23:59:59"))
    with pytest.raises(Refused, match="YYYY-MM"):
        db.run(statements.close_statement, "NWB", "2026-13", "test")
    with pytest.raises(Refused, match="no creditor"):
        db.run(statements.close_statement, "NOPE", "2026-09", "test")


@pytest.mark.parametrize("statement", [
    "UPDATE remittance_statement SET method = 'gross'",
    "DELETE FROM remittance_statement",
    "UPDATE remittance_line SET collected_minor = 0",
    "DELETE FROM remittance_line",
    "UPDATE remittance_item SET refunded_minor = 0",
    "UPDATE creditor_terms SET method = 'gross'",
    "UPDATE commission_rate SET rate_bp = 0",
    "DELETE FROM direct_payment",
])
def test_a_closed_statement_and_the_terms_never_change(db, demo, make_payment, statement):
    paid = make_payment("NWB-1002", 10_000, "succeeded")
    _settle(db, paid, "2026-09-10T12:00:00", "2026-09-12T00:00:00")
    _close(db, "2026-09")
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text(statement))


def test_closing_announces_the_statement_by_webhook_without_personal_data(db, demo,
                                                                          make_payment):
    paid = make_payment("NWB-1002", 10_000, "succeeded")
    _settle(db, paid, "2026-09-10T12:00:00", "2026-09-12T00:00:00")
    closed = _close(db, "2026-09")
    (message,) = db.scalars(select(OutboxMessage).where(
        OutboxMessage.topic == "remittance.closed"))
    assert message.payload["statement_id"] == closed.id
    assert message.payload["period"] == "2026-09" and message.payload["creditor"] == "NWB"
    assert message.payload["totals"][0]["due_minor"] == 7_500
    assert "López" not in str(message.payload)
    assert message.agency_id is not None


def test_the_lender_downloads_the_statement_as_csv_and_pdf(db, demo, make_payment, person,
                                                           staff_sign_in):
    paid = make_payment("NWB-1002", 10_001, "succeeded")
    _settle(db, paid, "2026-09-10T12:00:00", "2026-09-12T00:00:00")
    closed = _close(db, "2026-09")
    staff_sign_in(person, "lender@northwind.test")

    page = person.get(f"/lender/statements/{closed.id}")
    assert page.status == 200 and "NWB-1002" in page.text and "half to even" in page.text
    response = person.client.get(f"/lender/statements/{closed.id}.csv")
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="remittance-NWB-2026-09.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["account_ref", "currency", "collected"]
    # 25 % of 100.01 is 25.0025: 25.00 kept, 75.01 remitted.
    assert rows[1] == ["NWB-1002", "USD", "100.01", "0.00", "0.00", "25.00", "0.00", "0.00",
                       "75.01"]
    assert rows[2][0] == "TOTAL" and rows[2][-1] == "75.01"
    document = person.client.get(f"/lender/statements/{closed.id}.pdf")
    assert document.data.startswith(b"%PDF") and b"NWB-1002" in document.data
    assert b"75.01" in document.data


def test_another_creditors_lender_does_not_find_the_statement(db, demo, person, staff_sign_in):
    closed = _close(db, "2026-09")
    staff_sign_in(person, "lender@birchwood.test")
    assert person.get(f"/lender/statements/{closed.id}").status == 404
    assert person.client.get(f"/lender/statements/{closed.id}.csv").status_code == 404
    assert "2026-09" not in person.get("/lender/statements").text


def test_lines_are_stored_whole(db, demo, make_payment):
    paid = make_payment("NWB-1002", 10_000, "succeeded")
    _settle(db, paid, "2026-09-10T12:00:00", "2026-09-12T00:00:00")
    closed = _close(db, "2026-09")
    (line,) = db.scalars(select(RemittanceLine).where(RemittanceLine.statement_id == closed.id))
    assert (line.direct_minor, line.direct_commission_minor, line.currency) == (0, 0, "USD")


def test_the_demo_closes_two_months_the_last_with_a_deduction(db, demo):
    from portal.demo.remittances import seed_remittances
    from portal.lenders.remittance import period_of, previous_period

    now = datetime.now(UTC)
    last = previous_period(period_of(now))
    assert db.run(seed_remittances, now) == [previous_period(last), last]
    assert db.run(seed_remittances, now) == []  # once
    before, closed = db.scalars(select(RemittanceStatement).order_by(RemittanceStatement.period))
    assert _lines(db, before.id) == {"NWB-1002": (10_000, 0, 0, 2_500)}
    # Last month: the earlier payment refunded (a deduction, its commission given back), and a
    # payment made and refunded in the month.
    assert closed.period == last
    assert _lines(db, closed.id) == {"NWB-1002": (0, 10_000, 0, -2_500),
                                     "NWB-1001": (5_000, 5_000, 0, 0)}
    (usd,) = _totals(db, closed.id)
    assert usd.due == -7_500
    # The totals summed by the database are the pure rules' totals of the lines.
    from portal.lenders import remittance

    def both(statement_id: int):
        row = database.session.get(RemittanceStatement, statement_id)
        return statements.totals_of(row), remittance.totals(statements.as_lines(row), row.method)

    for statement_id in (before.id, closed.id):
        summed, by_lines = db.run(both, statement_id)
        assert summed == by_lines and summed
    # The next statement does not read them again: taken, and nothing reversed since.
    from portal.lenders.models import RemittanceItem

    taken = set(db.scalars(select(RemittanceItem.payment_id).where(
        RemittanceItem.payment_id.is_not(None))))
    assert len(taken) == 2
    from sqlalchemy import text

    def read_next():  # the payments the next statement reads
        creditor = database.session.scalar(select(Creditor).where(Creditor.code == "NWB"))
        _method, drawn = statements._drawn(creditor, period_of(now))
        return set(database.session.scalars(text(f"WITH {drawn.read} SELECT id FROM theirs"),
                                            drawn.params))

    assert not taken & db.run(read_next)


def test_the_lenders_key_lists_its_remittances_by_period(db, demo, client, make_payment):
    from portal.api import service
    from portal.identity.models import StaffUser

    paid = make_payment("NWB-1002", 10_000, "succeeded")
    _settle(db, paid, "2026-09-10T12:00:00", "2026-09-12T00:00:00")
    _close(db, "2026-09")
    _close(db, "2026-10")
    lender = db.scalar(select(StaffUser.id).where(StaffUser.email == "lender@northwind.test"))
    _, key = db.run(service.issue_lender_key, lender)
    headers = {"Authorization": f"Bearer {key}"}

    everything = client.get("/api/v1/remittances", headers=headers).json["remittances"]
    assert [r["period"] for r in everything] == ["2026-10", "2026-09"]
    (september,) = client.get("/api/v1/remittances?period=2026-09",
                              headers=headers).json["remittances"]
    assert september["totals"] == [{
        "currency": "USD", "collected_minor": 10_000, "refunded_minor": 0,
        "charged_back_minor": 0, "commission_minor": 2_500, "direct_minor": 0,
        "direct_commission_minor": 0, "due_minor": 7_500, "invoiced_minor": 0}]
    assert september["lines"][0]["account_ref"] == "NWB-1002"
    assert september["lines"][0]["remitted_minor"] == 7_500
    bad = client.get("/api/v1/remittances?period=september", headers=headers)
    assert bad.status_code == 422 and bad.json["code"] == "invalid_request"
