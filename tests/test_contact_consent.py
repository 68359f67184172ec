"""Direct prior consent to contact outside the usual hours, per channel, from the borrower's page
or taken by staff; and a cease's three notices through the decision API (issue 12)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from portal.cases.models import CaseEvent
from portal.contact.models import ContactConsent
from portal.identity.models import StaffUser
from tests.test_api import _post
from tests.test_contact_preferences import blocked_by, decide

NY = ZoneInfo("America/New_York")
MOBILE = "+12135550147"
STATEMENT = "On the phone: 'call me at 7, before my shift'"


def _weekday_at(hour: int, minute: int = 0, weekday: bool = True) -> datetime:
    """The next weekday (or weekend day) after today, at this New York time."""
    day = datetime.now(NY).date() + timedelta(days=1)
    while (day.weekday() < 5) != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, time(hour, minute), NY)


def _give(person, fields):
    page = person.get("/contact-preferences/")
    return person.submit(page, fields, action="/contact-preferences/consent")


def test_a_borrowers_consent_lets_early_calls_through_on_that_channel_until_withdrawn(
        person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    early = _weekday_at(7, 30)
    assert blocked_by(decide(db, "NWB-1001", "call", MOBILE, early)) == ["us.inconvenient-hours"]

    page = _give(person, {"consent-channel": "call", "consent-start": "07:00",
                          "consent-end": "08:00", "consent-days": "weekdays"})
    assert "We may contact you at those times too" in page.text
    assert "Phone calls from 07:00 until 08:00" in page.text
    assert decide(db, "NWB-1001", "call", MOBILE, early).allowed
    assert decide(db, "LUM-1001", "call", MOBILE, early).allowed  # every account of theirs
    assert not decide(db, "NWB-1001", "sms", MOBILE, early).allowed  # per channel
    assert not decide(db, "NWB-1001", "call", MOBILE, _weekday_at(7, 30, weekday=False)).allowed
    event = db.scalar(select(CaseEvent).where(CaseEvent.kind == "contact.consent_given"))
    assert event.actor_type == "borrower"
    assert (event.data["channel"], event.data["start"], event.data["end"]) == \
        ("call", "07:00", "08:00")

    page = person.submit(page, action="/contact-preferences/consent/withdraw")
    assert "You withdrew your agreement" in page.text
    assert blocked_by(decide(db, "NWB-1001", "call", MOBILE, early)) == ["us.inconvenient-hours"]
    assert db.scalar(select(CaseEvent.kind).order_by(CaseEvent.id.desc())) in (
        "contact.consent_withdrawn", "preferences.changed")
    assert db.scalar(select(ContactConsent.withdrawn_at)) is not None


def test_bad_consent_input_is_refused_plainly_and_changes_nothing(person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    for fields, message in [
        ({"consent-channel": "call", "consent-start": "07:00", "consent-end": "07:00",
          "consent-days": "every_day"}, "The start and end times must differ."),
        ({"consent-channel": "letter", "consent-start": "07:00", "consent-end": "08:00",
          "consent-days": "every_day"}, "Not a valid choice"),
        ({"consent-channel": "call", "consent-start": "7 o'clock", "consent-end": "08:00",
          "consent-days": "every_day"}, "Not a valid time value"),
    ]:
        page = person.get("/contact-preferences/")
        token = page.form("/contact-preferences/consent").find(
            "input", {"name": "consent-csrf_token"})["value"]
        response = person.client.post("/contact-preferences/consent",
                                      data={"consent-csrf_token": token, **fields})
        assert response.status_code == 422, fields
        assert message in response.get_data(as_text=True), fields
    assert db.scalar(select(ContactConsent.id)) is None
    assert db.scalar(select(CaseEvent.id).where(CaseEvent.kind == "contact.consent_given")) \
        is None
    token = person.csrf_token()
    response = person.client.post("/contact-preferences/consent/withdraw",
                                  data={"withdraw-csrf_token": token, "withdraw-consent": "999"})
    assert response.status_code == 409
    assert "That consent is not in force." in response.get_data(as_text=True)


def test_staff_take_a_consent_with_what_was_said_kept_encrypted(db, make_person, staff_sign_in,
                                                                 demo):
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    page = staff.get("/staff/accounts/NWB-1001")
    page = staff.submit(page, {"consent-channel": "call", "consent-start": "07:00",
                               "consent-end": "08:00", "consent-days": "weekdays",
                               "consent-statement": ""}, action="/consents")
    assert "Write down what the borrower said" in page.text
    assert db.scalar(select(ContactConsent.id)) is None

    page = staff.submit(page, {"consent-channel": "call", "consent-start": "07:00",
                               "consent-end": "08:00", "consent-days": "weekdays",
                               "consent-statement": STATEMENT}, action="/consents")
    assert "Consent recorded" in page.text and "taken by staff" in page.text
    assert decide(db, "NWB-1001", "call", MOBILE, _weekday_at(7, 30)).allowed
    consent = db.scalar(select(ContactConsent))
    assert consent.statement == STATEMENT and consent.source == "staff"
    agent = db.scalar(select(StaffUser.id).where(StaffUser.email == "agent@demo.test"))
    assert consent.taken_by == agent
    raw = db.execute(text("SELECT statement FROM contact_consent")).scalar()
    assert b"shift" not in bytes(raw)
    event = db.scalar(select(CaseEvent).where(CaseEvent.kind == "contact.consent_given"))
    assert event.actor_type == "staff" and "shift" not in str(event.data)

    page = staff.submit(page, action="/consents/withdraw")
    assert "Consent withdrawn" in page.text
    assert not decide(db, "NWB-1001", "call", MOBILE, _weekday_at(7, 30)).allowed


def test_the_decision_api_lets_a_cease_notice_through_by_letter_or_email(person, demo, client,
                                                                          db):
    person.sign_in("DEMO-1001", "1985-04-12")
    person.submit(person.get("/contact-preferences/"), action="/contact-preferences/stop")
    at = _weekday_at(14).isoformat()
    body = {"account_ref": "NWB-1001", "channel": "letter", "at": at}

    answer = _post(client, "/contact-decisions", body).json
    assert not answer["allowed"]
    answer = _post(client, "/contact-decisions", {**body, "purpose": "efforts_ending"}).json
    assert answer["allowed"] and answer["reasons"][0]["rule"] == "us.cease-communication"
    assert answer["reasons"][0]["effect"] == "limit"
    answer = _post(client, "/contact-decisions", {**body, "channel": "email",
                                                  "destination": "alex@example.com",
                                                  "purpose": "remedy"}).json
    assert answer["allowed"]
    answer = _post(client, "/contact-decisions", {**body, "channel": "call",
                                                  "destination": MOBILE,
                                                  "purpose": "required_notice"}).json
    assert not answer["allowed"] and answer["next_allowed_at"] is None
    bulk = _post(client, "/contact-decisions/bulk", [
        body, {**body, "purpose": "efforts_ending"}, {**body, "purpose": "collection"}]).json
    assert [item["allowed"] for item in bulk] == [False, True, False]

    refused = _post(client, "/contact-decisions", {**body, "purpose": "access"})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.json["code"] == "invalid_request"
    assert {e["pointer"] for e in refused.json["errors"]} == {"#/purpose"}

    attempt = _post(client, "/contact-attempts", {**body, "at": datetime.now(NY).isoformat(),
                                                  "outcome": "delivered",
                                                  "purpose": "efforts_ending"})
    assert attempt.status_code == 201 and attempt.json["violation"] is False
    attempt = _post(client, "/contact-attempts", {**body, "at": datetime.now(NY).isoformat(),
                                                  "outcome": "delivered"})
    assert attempt.json["violation"] is True
    assert attempt.json["rules"] == ["us.cease-communication"]
