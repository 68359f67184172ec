"""The supervisor's dashboard counts right: money to the cent per local day and week and
creditor, plans kept and broken, disputes and their ages, holds by rule, attempts and
violations by channel; its CSV says the same; another agency sees none of it."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from portal.accounts.models import Account, Creditor, LedgerEntry
from portal.agency.models import Agency
from portal.contact.models import ContactAttempt, ContactHold
from portal.dashboard import service
from portal.dashboard.period import Period
from portal.disputes.models import Dispute
from portal.identity.models import StaffUser
from portal.payments.models import Payment

NY = "America/New_York"
#: Two weeks of March 2024, New York time; daylight saving starts on Sunday the 10th.
WEEKS = Period(date(2024, 3, 4), date(2024, 3, 17), "week")
DAYS = Period(date(2024, 3, 4), date(2024, 3, 17), "day")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _agency(db, name="Demo Collections") -> int:
    return db.scalar(select(Agency.id).where(Agency.name == name))


def _account(session, reference: str) -> Account:
    return session.scalar(select(Account).where(Account.reference == reference))


def _paid(session, reference: str, minor: int, at: datetime, given_back=()):
    """A card payment posted at `at`, and each (amount, when) given back of it."""
    account = _account(session, reference)
    payment = Payment(borrower_id=account.borrower_id, account_id=account.id, amount_minor=minor,
                      currency=account.currency, choice="other", status="succeeded",
                      payment_intent_id=f"pi_dash_{uuid.uuid4().hex[:12]}", succeeded_at=at)
    session.add(payment)
    session.flush()
    posting = LedgerEntry(account_id=account.id, kind="payment", amount_minor=-minor,
                          currency=account.currency, posted_at=at, effective_date=at.date(),
                          description="Card payment", payment_id=payment.id)
    session.add(posting)
    session.flush()
    for amount, when in given_back:
        session.add(LedgerEntry(account_id=account.id, kind="reversal", amount_minor=amount,
                                currency=account.currency, posted_at=when,
                                effective_date=when.date(), description="Refund",
                                payment_id=payment.id, reverses_id=posting.id))
    session.flush()


@pytest.fixture
def march(db, demo, make_plan):
    """Payments, plans, disputes, holds and attempts across two weeks of March 2024."""
    from portal.extensions import db as database

    plans = [make_plan(ref) for ref in ("NWB-1001", "LUM-1001", "NWB-1002")]

    def seed():
        s = database.session
        # 23:30 on Monday the 4th in New York is already the 5th in UTC.
        _paid(s, "NWB-1001", 10_000, utc(2024, 3, 5, 4, 30), given_back=[(2_000,
                                                                           utc(2024, 3, 11, 12))])
        _paid(s, "NWB-1001", 5_001, utc(2024, 3, 5, 5, 10))  # 00:10 on the 5th
        _paid(s, "LUM-1001", 3_000, utc(2024, 3, 4, 15))
        _paid(s, "NWB-1001", 777, utc(2024, 3, 4, 4, 59))  # 23:59 on the 3rd: before
        _paid(s, "NWB-1001", 888, utc(2024, 3, 18, 4))  # midnight on the 18th (EDT): after
        _paid(s, "BRC-4001", 9_999, utc(2024, 3, 6, 15))  # Harbor Recovery's
        # Ended on the 6th (kept, broken) and the 12th (broken).
        for plan, (status, at) in zip(plans, [("completed", utc(2024, 3, 6, 12)),
                                              ("broken", utc(2024, 3, 6, 13)),
                                              ("broken", utc(2024, 3, 12, 15))], strict=True):
            s.execute(update(plan.__class__).where(plan.__class__.id == plan.id)
                      .values(status=status, ended_at=at))
        nwb = _account(s, "NWB-1001")
        for opened, resolved, withdrawn in [
                (utc(2024, 3, 4, 10), utc(2024, 3, 7, 10), None),  # 3 days
                (utc(2024, 3, 5, 10), None, utc(2024, 3, 6, 10)),  # 1 day
                (utc(2024, 3, 12, 10), None, None)]:
            s.add(Dispute(borrower_id=nwb.borrower_id, account_id=nwb.id, reasons=["not_mine"],
                          currency="USD", status="received", within_validation=False, holds={},
                          opened_at=opened, resolved_at=resolved, withdrawn_at=withdrawn))
        event = s.scalar(text("SELECT min(id) FROM case_event"))
        s.add(ContactHold(borrower_id=nwb.borrower_id, account_id=nwb.id,
                          rule="us.dispute-pending-verification", started_at=utc(2024, 3, 5, 12),
                          ended_at=utc(2024, 3, 8, 12), started_by_event_id=event, key="d"))
        # On the borrower: it pauses both of Alex's accounts, Northwind's and Lumen's, and
        # counts once for the agency that holds them.
        s.add(ContactHold(borrower_id=nwb.borrower_id, account_id=None,
                          rule="us.cease-communication", started_at=utc(2024, 3, 6, 12),
                          started_by_event_id=event, key="c"))
        lum = _account(s, "LUM-1001")
        for account, channel, at, violation in [
                (nwb, "call", utc(2024, 3, 5, 15), False),
                (nwb, "call", utc(2024, 3, 6, 15), True),
                (nwb, "call", utc(2024, 3, 13, 15), False),
                (nwb, "sms", utc(2024, 3, 13, 16), True),
                (lum, "email", utc(2024, 3, 7, 15), False),
                (lum, "email", utc(2024, 3, 8, 15), False),
                (nwb, "call", utc(2024, 3, 20, 15), False)]:  # after the period
            s.add(ContactAttempt(account_id=account.id, channel=channel, at=at,
                                 outcome="no_answer", reported_by="test", violation=violation,
                                 violated_rules=["us.inconvenient-hours"] if violation else [],
                                 recorded_at=at))

    db.run(seed)
    return _agency(db)


def test_collected_per_week_and_day_by_creditor_to_the_cent(db, march):
    weekly = db.run(service.collected, march, WEEKS, NY)
    assert [(c.bucket, c.creditor, c.currency, c.payments, c.paid_minor, c.reversed_minor,
             c.net_minor) for c in weekly] == [
        (date(2024, 3, 4), "Lumen Lending", "USD", 1, 3_000, 0, 3_000),
        (date(2024, 3, 4), "Northwind Bank", "USD", 2, 15_001, 0, 15_001),
        (date(2024, 3, 11), "Northwind Bank", "USD", 0, 0, 2_000, -2_000)]
    daily = db.run(service.collected, march, DAYS, NY)
    assert [(c.bucket, c.creditor, c.net_minor) for c in daily] == [
        (date(2024, 3, 4), "Lumen Lending", 3_000),
        (date(2024, 3, 4), "Northwind Bank", 10_000),  # 23:30 local, 04:30 UTC the next day
        (date(2024, 3, 5), "Northwind Bank", 5_001),
        (date(2024, 3, 11), "Northwind Bank", -2_000)]
    # In UTC the same payments fall on other days: the 23:59 one is inside, the 23:30 one later.
    in_utc = db.run(service.collected, march, DAYS, "UTC")
    assert [(c.bucket, c.creditor, c.net_minor) for c in in_utc][:3] == [
        (date(2024, 3, 4), "Lumen Lending", 3_000), (date(2024, 3, 4), "Northwind Bank", 777),
        (date(2024, 3, 5), "Northwind Bank", 15_001)]


def test_plans_kept_and_broken(db, march):
    assert db.run(service.plans, march, WEEKS, NY) == [(date(2024, 3, 4), 1, 1),
                                                       (date(2024, 3, 11), 0, 1)]
    daily = db.run(service.plans, march, DAYS, NY)
    assert len(daily) == 14 and daily[2] == (date(2024, 3, 6), 1, 1)
    assert daily[8] == (date(2024, 3, 12), 0, 1)
    assert sum(kept + broken for _d, kept, broken in daily) == 3


def test_disputes_opened_closed_and_their_ages(db, march):
    weeks = db.run(service.disputes, march, WEEKS, NY)
    assert [(d.bucket, d.opened, d.resolved, d.withdrawn, d.mean_days_to_close)
            for d in weeks] == [(date(2024, 3, 4), 2, 1, 1, 2.0),
                                (date(2024, 3, 11), 1, 0, 0, None)]
    now = utc(2024, 3, 20, 10)
    before = dict(db.run(service.open_dispute_ages, march, now))
    nwb = db.scalar(select(Account).where(Account.reference == "NWB-1002"))

    def open_more():
        from portal.extensions import db as database
        for days in (0, 7, 8, 61):
            database.session.add(Dispute(
                borrower_id=nwb.borrower_id, account_id=nwb.id, reasons=["other"],
                currency="USD", status="received", within_validation=False, holds={},
                opened_at=now - timedelta(days=days, hours=1)))

    db.run(open_more)
    after = dict(db.run(service.open_dispute_ages, march, now))
    # 0 and 7 days, 8, and 61; the one of the 12th (8 days) is in both counts.
    assert {band: after[band] - before[band] for band in after} == {
        (0, 7): 2, (8, 30): 1, (31, 60): 0, (61, None): 1}
    assert before[(8, 30)] >= 1
    # Closing one (withdrawn, as the borrower's withdrawal writes it) takes it out.
    db.execute(text("UPDATE dispute SET withdrawn_at = :now, status = 'withdrawn' "
                    "WHERE reasons = '{other}' AND opened_at < :old"),
               {"now": now, "old": now - timedelta(days=60)})
    closed = dict(db.run(service.open_dispute_ages, march, now))
    assert closed[(61, None)] == after[(61, None)] - 1 and closed[(0, 7)] == after[(0, 7)]


def test_holds_by_rule_and_attempts_by_channel(db, march):
    assert db.run(service.holds, march, WEEKS, NY) == [
        ("us.dispute-pending-verification", 1, 1), ("us.cease-communication", 1, 0)]
    assert db.run(service.attempts, march, WEEKS, NY) == [
        ("call", 3, 1), ("email", 2, 0), ("sms", 1, 1)]


def test_another_agency_sees_none_of_it(db, march):
    harbor = _agency(db, "Harbor Recovery")
    assert [(c.creditor, c.net_minor) for c in db.run(service.collected, harbor, WEEKS, NY)] == [
        ("Birchwood Credit Union", 9_999)]
    assert db.run(service.plans, harbor, WEEKS, NY) == [(date(2024, 3, 4), 0, 0),
                                                        (date(2024, 3, 11), 0, 0)]
    assert all(d.opened == 0 for d in db.run(service.disputes, harbor, WEEKS, NY))
    assert db.run(service.holds, harbor, WEEKS, NY) == []
    assert db.run(service.attempts, harbor, WEEKS, NY) == []


def test_a_real_card_payment_is_counted_as_it_posts(db, demo, make_payment):
    today = Period(date.today() - timedelta(days=1), date.today() + timedelta(days=1))
    agency = _agency(db)

    def northwind() -> int:
        return sum(c.net_minor for c in db.run(service.collected, agency, today, "UTC")
                   if c.creditor == "Northwind Bank")

    before = northwind()
    make_payment("NWB-1001", 4_321, "succeeded")
    assert northwind() - before == 4_321


def test_rebuilding_the_rollup_gives_what_the_triggers_kept(db, march):
    from portal.dashboard.tally_sql import REBUILD

    kept = db.execute(text("SELECT * FROM dashboard_tally ORDER BY 1, 2, 3, 4, 5")).all()
    for statement in REBUILD:
        db.execute(text(statement))
    rebuilt = db.execute(text("SELECT * FROM dashboard_tally ORDER BY 1, 2, 3, 4, 5")).all()
    assert rebuilt == kept and len(kept) > 10


def _csv(person, chart: str, **period) -> list[list[str]]:
    response = person.client.get("/staff/dashboard.csv", query_string={"chart": chart, **period})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_page_and_its_csv_say_the_same(db, march, person, staff_sign_in):
    db.execute(update(StaffUser).where(StaffUser.email == "supervisor@demo.test")
               .values(time_zone=NY))
    db.execute(update(Creditor).where(Creditor.code == "LUM").values(name="=Lumen Lending"))
    staff_sign_in(person, "supervisor@demo.test")
    period = {"start": "2024-03-04", "end": "2024-03-17", "by": "week"}
    page = person.get("/staff/dashboard?start=2024-03-04&end=2024-03-17&by=week")
    assert page.status == 200 and page.h1 == "Dashboard"
    assert "Collected in USD per week, by creditor" in page.text
    assert "150.01" in page.text and "-20.00" in page.text
    assert _csv(person, "collected", **period) == [
        ["period_start", "creditor", "currency", "payments", "paid", "given_back", "collected"],
        ["2024-03-04", "'=Lumen Lending", "USD", "1", "30.00", "0.00", "30.00"],
        ["2024-03-04", "Northwind Bank", "USD", "2", "150.01", "0.00", "150.01"],
        ["2024-03-11", "Northwind Bank", "USD", "0", "0.00", "20.00", "-20.00"]]
    assert _csv(person, "plans", **period) == [["period_start", "kept", "broken"],
                                               ["2024-03-04", "1", "1"], ["2024-03-11", "0", "1"]]
    assert _csv(person, "disputes", **period)[1] == ["2024-03-04", "2", "1", "1", "2.0"]
    assert _csv(person, "holds", **period)[1:] == [["us.dispute-pending-verification", "1", "1"],
                                                   ["us.cease-communication", "1", "0"]]
    assert _csv(person, "attempts", **period)[1:] == [["call", "3", "1"], ["email", "2", "0"],
                                                      ["sms", "1", "1"]]
    assert _csv(person, "dispute_ages", **period)[0] == ["days_from", "days_to", "open_disputes"]
    assert person.client.get("/staff/dashboard.csv?chart=nope").status_code == 404


@pytest.mark.parametrize(("language", "minor", "currency", "written"), [
    ("en", 123_456_789, "USD", "1,234,567.89"), ("es", 123_456_789, "EUR", "1,234,567.89"),
    ("en", -2_000, "USD", "-20.00"), ("en", 5, "CNY", "0.05"), ("zh", 100_000, "CNY", "1,000.00"),
])
def test_amounts_are_written_as_the_locale_writes_numbers(app, language, minor, currency,
                                                          written):
    from portal.web.i18n import amounts

    with app.test_request_context(headers={"Accept-Language": language}):
        assert amounts(currency)(minor) == written


def test_a_period_that_cannot_be_shown_says_so(db, person, staff_sign_in):
    staff_sign_in(person, "supervisor@demo.test")
    page = person.get("/staff/dashboard?start=2024-03-17&end=2024-03-04")
    assert page.status == 200
    assert "The start of the period was after its end" in page.text
    page = person.get("/staff/dashboard?start=2020-01-01&end=2024-03-04")
    assert "A period can be at most 366 days" in page.text
    page = person.get("/staff/dashboard?start=not-a-date")
    assert page.status == 200 and "A date was not understood" in page.text


def test_the_agents_have_no_dashboard(db, person, staff_sign_in):
    staff_sign_in(person, "agent@demo.test")
    assert person.client.get("/staff/dashboard").status_code == 403
    assert "Dashboard" not in person.get("/staff/accounts").text
