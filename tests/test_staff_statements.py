"""The console's statements pages (issue 16, the agency's side): the agency's creditors with their
commission terms (and history), closed statements and the next one as it would close now;
closing it (one transaction: the statement, its webhook, the staff audit entry) or being told
why not with nothing written; adding terms; each agency sees only its own creditors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Creditor
from portal.agency.models import Agency
from portal.demo import stripe_month
from portal.extensions import db as database
from portal.identity.audit import StaffAuditEntry
from portal.identity.models import StaffUser
from portal.lenders import console, remittance, statements
from portal.lenders.models import CreditorTerms, RemittanceStatement
from portal.outbox.models import OutboxMessage
from portal.payments import settlement
from portal.payments.models import Payment

NOW = datetime.now(UTC)
#: The month that ended last: the statement the page offers to close.
LAST_MONTH = remittance.previous_period(remittance.period_of(NOW))
START, END = remittance.period_bounds(LAST_MONTH)


def _paid(db, make_payment, reference: str, amount: int, day: int = 10) -> Payment:
    """A card payment succeeded last month, its money reported available by Stripe the next day
    (a balance transaction shaped as Stripe documents it)."""
    payment = make_payment(reference, amount, "succeeded")
    paid_at = START + timedelta(days=day, hours=12)

    def write():
        row = database.session.get(Payment, payment.id)
        row.succeeded_at = paid_at
        settlement.record({"id": f"txn_{row.id}", "object": "balance_transaction",
                           "type": "charge", "reporting_category": "charge",
                           "source": row.charge_id, "amount": row.amount_minor, "fee": 0,
                           "net": row.amount_minor, "currency": row.currency.lower(),
                           "status": "available", "created": int(paid_at.timestamp()),
                           "available_on": int((paid_at + timedelta(days=1)).timestamp())},
                          row.id)
    db.run(write)
    return payment


def _reconciled(db, agency: str = "Demo Collections") -> None:
    """Last month reconciled, after it ended, against the Stripe that saw what the test
    recorded: the close gate's condition (review.reconciled) met."""
    agency_id = db.scalar(select(Agency.id).where(Agency.name == agency))
    db.run(stripe_month.reconcile, agency_id, LAST_MONTH, NOW)


def _statements(db) -> int:
    return db.scalar(select(func.count()).select_from(RemittanceStatement))


def _audit(db, kind: str) -> list[StaffAuditEntry]:
    return list(db.scalars(select(StaffAuditEntry).where(StaffAuditEntry.kind == kind)))


def _creditor_without_terms(db) -> None:
    def write():
        agency_id = database.session.scalar(select(Agency.id).where(
            Agency.name == "Demo Collections"))
        database.session.add(Creditor(code="NTC", name="No Terms Credit", country="US",
                                      agency_id=agency_id))
    db.run(write)


# --- the list -----------------------------------------------------------------------------------


def test_the_list_shows_the_agencys_creditors_with_terms_and_the_next_statement(
        person, staff_sign_in, demo):
    staff_sign_in(person, "supervisor@demo.test")
    page = person.get("/staff/statements")
    assert page.status == 200 and page.h1 == "Creditors' statements"
    rows = {row.th.get_text(" ", strip=True): " ".join(row.get_text(" ").split())
            for row in page.soup.select("tbody tr")}
    assert sorted(rows) == ["Jade River Consumer Finance (JRF)", "Lumen Lending (LUM)",
                            "Northwind Bank (NWB)", "Thames Card Services (TCS)"]
    northwind = rows["Northwind Bank (NWB)"]
    assert "Net: the agency keeps its commission" in northwind
    assert "25% on any account" in northwind
    assert "30% on Credit card from 180 days after placement" in northwind
    assert f"{LAST_MONTH}: ended, to close" in northwind
    assert "Gross: everything is remitted" in rows["Lumen Lending (LUM)"]
    # In the navigation, and linked from the reconciliation page.
    assert page.soup.select_one("nav a[href='/staff/statements']") is not None
    reconciliation = person.get("/staff/reconciliation")
    assert reconciliation.soup.select_one("main a[href='/staff/statements']") is not None


def test_another_agency_sees_only_its_own_creditors(person, staff_sign_in, demo):
    staff_sign_in(person, "admin@harbor.test")
    page = person.get("/staff/statements")
    assert page.status == 200
    assert "Birchwood Credit Union" in page.text
    assert "Northwind" not in page.text and "NWB" not in page.text


# --- the draft ----------------------------------------------------------------------------------


def test_the_next_statement_is_drawn_up_to_the_cent_and_nothing_is_written(
        db, person, staff_sign_in, demo, make_payment):
    # Two payments of 100.02 at 25 %: 25.005 each, 50.01 on the line (rounded once, never per
    # payment, which would give 50.00), so 150.03 remitted.
    _paid(db, make_payment, "NWB-1002", 10_002, day=3)
    _paid(db, make_payment, "NWB-1002", 10_002, day=4)
    _reconciled(db)
    staff_sign_in(person, "agent@demo.test")

    page = person.get("/staff/statements/NWB")
    assert page.status == 200
    assert page.h1 == "Statements of Northwind Bank"
    assert f"Next statement: {LAST_MONTH}" in page.text
    (line,) = [" ".join(row.get_text(" ").split()) for row in page.soup.select(
        "#next ~ .table-scroll tbody tr")[:1]]
    assert line == "NWB-1002 $200.04 $0.00 $0.00 $50.01 $0.00 $0.00 $150.03"
    total = " ".join(page.soup.select_one("#next ~ .table-scroll tfoot tr").get_text(" ").split())
    assert total == "Total USD $200.04 $0.00 $0.00 $50.01 $0.00 $0.00 $150.03"

    def draft():
        creditor = database.session.scalar(select(Creditor).where(Creditor.code == "NWB"))
        return console.next_statement(creditor, NOW)

    upcoming = db.run(draft)
    assert (upcoming.period, upcoming.ended) == (LAST_MONTH, True)
    (usd,) = upcoming.draft.totals
    assert (usd.currency, usd.collected, usd.commission, usd.due, usd.invoiced) == (
        "USD", 20_004, 5_001, 15_003, 0)
    assert _statements(db) == 0
    # An agent sees it but may not close it or add terms.
    assert page.soup.select_one("form[action$='/close']") is None
    assert page.soup.select_one("form[action$='/terms']") is None
    assert "A supervisor, a compliance officer or an admin closes it." in page.text


# --- closing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["admin@demo.test", "supervisor@demo.test",
                                   "compliance@demo.test"])
def test_closing_writes_the_statement_its_webhook_and_the_audit_entry(
        db, person, staff_sign_in, demo, make_payment, email):
    _paid(db, make_payment, "NWB-1002", 10_002)
    _reconciled(db)
    staff_sign_in(person, email)
    page = person.get("/staff/statements/NWB")
    button = page.soup.select_one("form[action$='/close'] button")
    assert button.get_text(strip=True) == f"Close the statement of {LAST_MONTH}"

    page = person.submit(page, action="/close")
    assert page.status == 200 and page.url == "/staff/statements/NWB"
    assert f"The statement of {LAST_MONTH} is closed" in page.text

    (row,) = db.scalars(select(RemittanceStatement))
    staff_id = db.scalar(select(StaffUser.id).where(StaffUser.email == email))
    assert (row.period, row.closed_by, row.method) == (LAST_MONTH, f"staff:{staff_id}", "net")
    (usd,) = db.run(lambda: statements.totals_of(database.session.get(RemittanceStatement,
                                                                      row.id)))
    assert (usd.collected, usd.commission, usd.due) == (10_002, 2_500, 7_502)
    (message,) = db.scalars(select(OutboxMessage).where(
        OutboxMessage.topic == "remittance.closed"))
    assert message.payload["statement_id"] == row.id
    assert message.payload["totals"][0]["due_minor"] == 7_502
    (entry,) = _audit(db, "statement_closed")
    assert entry.actor_id == staff_id
    assert entry.detail == {"creditor": "NWB", "period": LAST_MONTH, "statement": row.id}
    # Listed as closed, the next one is the month not ended yet, and no button offers it.
    listed = page.soup.select_one(f"#closed ~ .table-scroll a[href='/staff/statements/NWB/"
                                  f"{row.id}']")
    assert listed is not None and listed.get_text(strip=True) == LAST_MONTH
    assert f"Next statement: {remittance.period_of(NOW)}" in page.text
    assert page.soup.select_one("form[action$='/close']") is None


def test_a_refused_close_says_why_and_writes_nothing(db, person, staff_sign_in, demo):
    _creditor_without_terms(db)
    _reconciled(db)
    staff_sign_in(person, "supervisor@demo.test")
    page = person.get("/staff/statements/NTC")
    assert "NTC has no commission terms in force" in page.text
    assert page.soup.select_one("form[action$='/close']") is None  # nothing to offer

    response = person.client.post("/staff/statements/NTC/close", data={
        "csrf_token": person.csrf_token(), "period": LAST_MONTH})
    assert response.status_code == 422
    text = " ".join(response.get_data(as_text=True).split())
    assert "The statement was not closed" in text and "no commission terms in force" in text
    assert _statements(db) == 0
    assert db.scalars(select(OutboxMessage).where(
        OutboxMessage.topic == "remittance.closed")) == []
    assert _audit(db, "statement_closed") == []


def test_a_month_that_does_not_reconcile_is_refused_with_the_gates_reasons(
        db, person, staff_sign_in, demo, make_payment, monkeypatch):
    """`statements.can_close` is the reconciliation's gate (its own tests are the lead's): its
    reasons are shown before the button, and a close sent anyway is refused with them."""
    _paid(db, make_payment, "NWB-1002", 10_002)
    reason = f"{LAST_MONTH} has not been reconciled with Stripe."
    monkeypatch.setattr(statements, "can_close", lambda creditor, period: [reason])
    staff_sign_in(person, "admin@demo.test")
    page = person.get("/staff/statements/NWB")
    assert "It may not close yet" in page.text and reason in page.text
    assert page.soup.select_one("form[action$='/close']") is None

    response = person.client.post("/staff/statements/NWB/close", data={
        "csrf_token": person.csrf_token(), "period": LAST_MONTH})
    assert response.status_code == 422
    assert reason in response.get_data(as_text=True)
    assert _statements(db) == 0 and _audit(db, "statement_closed") == []


@pytest.mark.parametrize(("period", "says"), [
    (remittance.period_of(NOW), "has not ended yet"),
    ("2026-13", "is not a period"),
    ("", "Choose the statement to close"),
])
def test_a_close_of_a_month_not_offered_is_refused(db, person, staff_sign_in, demo, period,
                                                   says):
    staff_sign_in(person, "admin@demo.test")
    response = person.client.post("/staff/statements/NWB/close", data={
        "csrf_token": person.csrf_token(), "period": period})
    assert response.status_code == 422
    assert says in response.get_data(as_text=True)
    assert _statements(db) == 0


# --- terms --------------------------------------------------------------------------------------


def test_an_admin_adds_terms_and_the_old_ones_are_kept(db, person, staff_sign_in, demo):
    staff_sign_in(person, "admin@demo.test")
    page = person.get("/staff/statements/NWB")
    page = person.submit(page, {"valid_from": "2026-01-01", "method": "gross",
                                "rates": "2000\r\nCredit card:180:2850\r\n"}, action="/terms")
    assert page.status == 200 and page.url == "/staff/statements/NWB"
    assert "The new terms apply from 2026-01-01" in page.text

    rows = [" ".join(row.get_text(" ").split())
            for row in page.soup.select("#terms ~ .table-scroll")[0].select("tbody tr")]
    assert len(rows) == 2
    assert rows[0].startswith("January 1, 2026 until new terms Gross")
    assert "20% on any account" in rows[0] and "28.5% on Credit card from 180 days" in rows[0]
    assert rows[0].endswith("In force")
    assert rows[1].startswith("January 1, 2025 the day before January 1, 2026 Net")
    assert rows[1].endswith("Superseded")

    northwind = db.scalar(select(Creditor.id).where(Creditor.code == "NWB"))
    kept = db.run(lambda: [(t.valid_from, t.method, sorted(
        ((r.product or ""), r.min_age_days, r.rate_bp) for r in t.rates))
        for t in database.session.scalars(select(CreditorTerms).where(
            CreditorTerms.creditor_id == northwind).order_by(CreditorTerms.valid_from))])
    assert kept == [(date(2025, 1, 1), "net", [("", 0, 2500), ("Credit card", 180, 3000)]),
                    (date(2026, 1, 1), "gross", [("", 0, 2000), ("Credit card", 180, 2850)])]
    (entry,) = _audit(db, "terms_added")
    assert entry.detail["creditor"] == "NWB" and entry.detail["method"] == "gross"


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"rates": "25%"}, "rates", "Line 1 is not a rate"),
    ({"rates": "2500\n10001"}, "rates", "Line 2: a rate is 0 to 10000 basis points."),
    ({"rates": "Credit card:-1:2500"}, "rates", "Line 1: the days after placement"),
    ({"rates": ""}, "rates", "Give at least one rate."),
    ({"valid_from": "2024-12-31"}, "valid_from", "Terms from 2025-01-01 are on record"),
    ({"valid_from": "2025-01-01"}, "valid_from", "Terms from 2025-01-01 are on record"),
    ({"valid_from": ""}, "valid_from", "Give the first day these terms apply."),
    ({"method": "commission"}, "method", "Not a valid choice"),
])
def test_bad_terms_are_refused_with_the_error_on_the_field(db, person, staff_sign_in, demo,
                                                           fields, field, says):
    staff_sign_in(person, "admin@demo.test")
    page = person.get("/staff/statements/NWB")
    data = {"valid_from": "2026-06-01", "method": "net", "rates": "2500", **fields}
    page = person.submit(page, data, action="/terms")
    assert page.status == 422
    error = page.soup.select_one(f"#{field}-error")
    assert error is not None and says in error.get_text(), page.text[:500]
    described = page.soup.select_one(f"[aria-describedby~='{field}-error']")
    assert described is not None
    northwind = db.scalar(select(Creditor.id).where(Creditor.code == "NWB"))
    assert db.scalar(select(func.count()).select_from(CreditorTerms).where(
        CreditorTerms.creditor_id == northwind)) == 1
    assert _audit(db, "terms_added") == []


def test_only_an_admin_adds_terms(db, person, staff_sign_in, demo):
    staff_sign_in(person, "supervisor@demo.test")
    page = person.get("/staff/statements/NWB")
    assert page.soup.select_one("form[action$='/terms']") is None
    response = person.client.post("/staff/statements/NWB/terms", data={
        "csrf_token": person.csrf_token(), "valid_from": "2026-06-01", "method": "net",
        "rates": "2500"})
    assert response.status_code == 403
    assert _audit(db, "terms_added") == []


# --- closed statements, as the lender sees them --------------------------------------------------


def _closed(db, make_payment) -> int:
    _paid(db, make_payment, "NWB-1002", 10_001)
    _reconciled(db)
    return db.run(statements.close_statement, "NWB", LAST_MONTH, "test", now=END).id


def test_a_closed_statement_is_the_lenders_page_and_files(db, make_person, staff_sign_in, demo,
                                                           make_payment):
    statement_id = _closed(db, make_payment)
    staff, lender = make_person(), make_person()
    staff_sign_in(staff, "agent@demo.test")
    staff_sign_in(lender, "lender@northwind.test")

    page = staff.get(f"/staff/statements/NWB/{statement_id}")
    assert page.status == 200 and page.h1 == f"Statement {LAST_MONTH}"
    assert "NWB-1002" in page.text and "$75.01" in page.text
    assert page.soup.select_one("a[href='/staff/statements/NWB']") is not None
    for extension in ("csv", "pdf"):
        link = page.soup.select_one(f"a[href='/staff/statements/NWB/{statement_id}.{extension}']")
        assert link is not None
        ours = staff.client.get(link["href"])
        theirs = lender.client.get(f"/lender/statements/{statement_id}.{extension}")
        assert ours.status_code == theirs.status_code == 200
        assert ours.headers["Content-Disposition"] == theirs.headers["Content-Disposition"]
        if extension == "csv":
            assert ours.data == theirs.data
            rows = list(csv.reader(io.StringIO(ours.get_data(as_text=True))))
            assert rows[1] == ["NWB-1002", "USD", "100.01", "0.00", "0.00", "25.00", "0.00",
                               "0.00", "75.01"]
        else:
            assert ours.data.startswith(b"%PDF") and b"75.01" in ours.data


# --- scoping -------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["admin@harbor.test", "supervisor@harbor.test"])
def test_another_agencys_staff_find_none_of_northwinds(db, person, staff_sign_in, demo,
                                                       make_payment, email):
    statement_id = _closed(db, make_payment)
    _reconciled(db, "Harbor Recovery")  # their own month reconciles: only scope refuses them
    staff_sign_in(person, email)
    for path in ("/staff/statements/NWB", f"/staff/statements/NWB/{statement_id}",
                 f"/staff/statements/NWB/{statement_id}.csv",
                 f"/staff/statements/NWB/{statement_id}.pdf",
                 # Their own creditor's code with Northwind's statement: not theirs either.
                 f"/staff/statements/BRC/{statement_id}"):
        assert person.client.get(path).status_code == 404, path
    token = person.csrf_token()
    close = person.client.post("/staff/statements/NWB/close",
                               data={"csrf_token": token, "period": LAST_MONTH})
    assert close.status_code == 404
    if email.startswith("admin"):
        terms = person.client.post("/staff/statements/NWB/terms", data={
            "csrf_token": token, "valid_from": "2026-06-01", "method": "net", "rates": "1"})
        assert terms.status_code == 404
    assert _statements(db) == 1
    assert _audit(db, "statement_closed") == [] and _audit(db, "terms_added") == []


def test_the_service_refuses_another_agencys_creditor_and_a_role_that_may_not(db, demo):
    from portal.operations import NotFound, Refused

    def staff(email):
        return database.session.scalar(select(StaffUser).where(StaffUser.email == email))

    with pytest.raises(NotFound):
        db.run(lambda: console.close(staff("admin@harbor.test"), "NWB", LAST_MONTH))
    with pytest.raises(Refused) as refused:
        db.run(lambda: console.close(staff("agent@demo.test"), "NWB", LAST_MONTH))
    assert refused.value.status == 403
    with pytest.raises(Refused) as refused:
        db.run(lambda: console.add_terms(staff("supervisor@demo.test"), "NWB",
                                         date(2026, 6, 1), "net", []))
    assert refused.value.status == 403


@pytest.mark.parametrize(("email", "status"), [
    ("lender@northwind.test", 403), ("agent@demo.test", 200), ("compliance@harbor.test", 200)])
def test_who_opens_the_list(person, staff_sign_in, demo, email, status):
    staff_sign_in(person, email)
    assert person.client.get("/staff/statements").status_code == status
