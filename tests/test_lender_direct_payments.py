"""Direct payments: a lender reports a payment made to them (form, CSV, API); the balance drops by
a ledger entry with its case events, and the commission goes on the next statement."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from portal.accounts import ledger
from portal.accounts.models import Account, Creditor
from portal.cases.models import CaseEvent
from portal.demo import stripe_month
from portal.extensions import db as database
from portal.identity.models import StaffUser
from portal.lenders import remittance, statements
from portal.lenders.models import DirectPayment, RemittanceStatement

TODAY = datetime.now(UTC).date().isoformat()


def _balance(db, reference: str) -> int:
    def read():
        account = database.session.scalar(select(Account).where(Account.reference == reference))
        return ledger.balance_of(account.id, account.currency).minor
    return db.run(read)


def _report(person, fields: dict):
    return person.submit(person.get("/lender/direct-payments"), fields,
                         action="/lender/direct-payments")


def test_a_payment_reported_in_the_portal_lowers_the_balance_with_its_events(
        db, person, staff_sign_in):
    staff_sign_in(person, "lender@northwind.test")
    before = _balance(db, "NWB-1002")
    page = _report(person, {"account_ref": "NWB-1002", "amount": "10.55", "paid_on": TODAY,
                            "reference": "NW-77"})
    assert page.status == 200 and "recorded" in page.text
    assert _balance(db, "NWB-1002") == before - 1055
    kinds = [e.kind for e in db.scalars(select(CaseEvent).order_by(CaseEvent.id.desc())
                                        .limit(3))]
    assert "payment.direct_reported" in kinds and "ledger.posted" in kinds

    again = _report(person, {"account_ref": "NWB-1002", "amount": "10.55", "paid_on": TODAY,
                             "reference": "NW-77"})
    assert again.status == 409 and "reported already" in again.text
    assert _balance(db, "NWB-1002") == before - 1055


def test_a_payment_on_someone_elses_account_or_over_the_balance_is_refused(
        db, person, staff_sign_in):
    staff_sign_in(person, "lender@northwind.test")
    for fields, status, words in [
        ({"account_ref": "LUM-1001", "amount": "1.00"}, 404, "No account"),
        ({"account_ref": "NWB-1002", "amount": "9999.00"}, 422, "more than the balance"),
        ({"account_ref": "NWB-1002", "amount": "1.001"}, 422, "not an amount"),
        ({"account_ref": "NWB-1002", "amount": "0"}, 422, "more than zero"),
    ]:
        page = _report(person, {**fields, "paid_on": TODAY})
        assert page.status == status and words in page.text, (fields, page.status)
    assert db.scalars(select(DirectPayment)) == []


def test_a_csv_of_payments_is_recorded_whole_or_not_at_all(db, person, staff_sign_in):
    import io

    staff_sign_in(person, "lender@northwind.test")
    before = (_balance(db, "NWB-1001"), _balance(db, "NWB-1002"))
    token = person.csrf_token()
    bad = (f"account_ref,amount,paid_on,reference\nNWB-1001,5.00,{TODAY},a\n"
           f"LUM-1001,5.00,{TODAY},b\n")
    response = person.client.post("/lender/direct-payments/file", data={
        "file-csrf_token": token, "file-file": (io.BytesIO(bad.encode()), "p.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 422 and "Line 3" in response.get_data(as_text=True)
    assert (_balance(db, "NWB-1001"), _balance(db, "NWB-1002")) == before

    good = (f"account_ref,amount,paid_on,reference\nNWB-1001,5.00,{TODAY},a\n"
            f"NWB-1002,2.50,{TODAY},\n")
    response = person.client.post("/lender/direct-payments/file", data={
        "file-csrf_token": token, "file-file": (io.BytesIO(good.encode()), "p.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 303
    assert (_balance(db, "NWB-1001"), _balance(db, "NWB-1002")) == (before[0] - 500,
                                                                     before[1] - 250)


def test_the_api_reports_one_and_the_commission_is_withheld_on_the_next_statement(db, client):
    from portal.api import service

    lender = db.scalar(select(StaffUser.id).where(StaffUser.email == "lender@northwind.test"))
    _, key = db.run(service.issue_lender_key, lender)
    response = client.post("/api/v1/direct-payments", json={
        "account_ref": "NWB-1002", "amount": "40.00", "paid_on": TODAY, "reference": "x1"},
        headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 201, response.json
    assert response.json["amount_minor"] == 4000 and response.json["currency"] == "USD"

    period = remittance.period_of(datetime.now(UTC))
    end = remittance.period_bounds(period)[1]
    agency = db.scalar(select(Creditor.agency_id).where(Creditor.code == "NWB"))
    db.run(stripe_month.reconcile, agency, period, end)
    closed = db.run(statements.close_statement, "NWB", period, "test", now=end)

    def read():
        row = database.session.get(RemittanceStatement, closed.id)
        return [(line.direct_minor, line.direct_commission_minor) for line in row.lines], \
            statements.totals_of(row)
    lines, (usd,) = db.run(read)
    # Northwind's terms are net, 25 %: 10.00 of commission withheld from what is remitted.
    assert lines == [(4000, 1000)]
    assert (usd.due, usd.invoiced) == (-1000, 0)
