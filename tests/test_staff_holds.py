"""Holds staff record from the case page (issue 12): a death (US), a doubt about mental capacity
and an insolvency (UK), the end of crisis treatment (the breathing space ends 30 days later);
each a case event and its ContactHold with the rule, lifted only where the rule allows."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.cases.models import CaseEvent
from portal.contact.models import ContactHold
from tests.test_contact_preferences import blocked_by, decide, noon_ny

LONDON = ZoneInfo("Europe/London")


def _noon_london(days: int = 1) -> datetime:
    day = datetime.now(LONDON).date() + timedelta(days=days)
    return datetime.combine(day, time(12), LONDON)


def _staff(make_person, staff_sign_in, email):
    staff = make_person()
    staff_sign_in(staff, email)
    return staff


def _record(staff, reference, fields, action="/holds"):
    return staff.submit(staff.get(f"/staff/accounts/{reference}"), fields, action=action)


def _live(db, rule):
    return db.scalars(select(ContactHold).where(ContactHold.rule == rule,
                                                ContactHold.ended_at.is_(None)))


def test_staff_record_a_death_and_every_channel_stops(db, demo, make_person, staff_sign_in):
    assert decide(db, "NWB-1001", "letter", None, noon_ny()).allowed
    agent = _staff(make_person, staff_sign_in, "agent@demo.test")
    page = agent.get("/staff/accounts/NWB-1001")
    assert "The borrower has died" in page.text
    assert "mental capacity" not in page.text  # the UK's holds are not offered for a US case
    assert "Lift a hold" not in page.text

    page = _record(agent, "NWB-1001", {"hold-hold": "deceased"})
    assert "Recorded. Contact is paused" in page.text
    [hold] = _live(db, "us.deceased")
    assert hold.account_id is None
    event = db.scalar(select(CaseEvent).where(CaseEvent.kind == "contact.deceased_reported"))
    assert event.actor_type == "staff" and hold.started_by_event_id == event.id
    for reference in ("NWB-1001", "LUM-1001"):
        for channel in ("call", "sms", "email", "letter", "visit"):
            assert blocked_by(decide(db, reference, channel, None, noon_ny())) == ["us.deceased"]
    assert "us.deceased" in page.text  # shown on the case page

    page = _record(agent, "NWB-1001", {"hold-hold": "deceased"})
    assert "This is already recorded." in page.text
    assert len(_live(db, "us.deceased")) == 1
    page = _record(agent, "NWB-1001", {"hold-hold": "insolvency", "hold-kind": "dro"})
    assert "does not apply to a borrower in this country" in page.text


def test_mental_capacity_is_suspended_and_lifted_only_by_compliance(db, demo, make_person,
                                                                    staff_sign_in):
    agent = _staff(make_person, staff_sign_in, "agent@demo.test")
    page = _record(agent, "TCS-3001", {"hold-hold": "mental_capacity"})
    assert "Recorded" in page.text
    assert blocked_by(decide(db, "TCS-3001", "letter", None, _noon_london())) == \
        ["uk.mental-capacity"]
    token = agent.csrf_token()
    refused = agent.client.post("/staff/accounts/TCS-3001/holds/lift",
                                data={"csrf_token": token, "lift-hold": "mental_capacity"})
    assert refused.status_code == 403
    assert _live(db, "uk.mental-capacity")

    compliance = _staff(make_person, staff_sign_in, "compliance@demo.test")
    page = _record(compliance, "TCS-3001", {"lift-hold": "mental_capacity"}, "/holds/lift")
    assert "The hold is lifted" in page.text
    assert not _live(db, "uk.mental-capacity")
    assert decide(db, "TCS-3001", "letter", None, _noon_london()).allowed
    kinds = db.scalars(select(CaseEvent.kind).order_by(CaseEvent.id))
    assert "contact.capacity_doubted" in kinds and "contact.capacity_established" in kinds


def test_an_insolvency_stops_recovery_until_it_ends(db, demo, make_person, staff_sign_in):
    admin = _staff(make_person, staff_sign_in, "admin@demo.test")
    page = _record(admin, "TCS-3001", {"hold-hold": "insolvency"})
    assert "Choose the kind of insolvency." in page.text
    assert not _live(db, "uk.insolvency")
    _record(admin, "TCS-3001", {"hold-hold": "insolvency", "hold-kind": "iva"})
    assert blocked_by(decide(db, "TCS-3001", "email", None, _noon_london())) == ["uk.insolvency"]
    event = db.scalar(select(CaseEvent).where(CaseEvent.kind == "contact.insolvency_reported"))
    assert event.data == {"kind": "iva"}

    page = _record(admin, "TCS-3001", {"lift-hold": "insolvency"}, "/holds/lift")
    assert "Choose how the insolvency ended." in page.text
    assert _live(db, "uk.insolvency")
    _record(admin, "TCS-3001", {"lift-hold": "insolvency", "lift-how": "discharged"},
            "/holds/lift")
    assert decide(db, "TCS-3001", "email", None, _noon_london()).allowed


def test_the_end_of_crisis_treatment_ends_the_breathing_space_30_days_later(
        person, db, demo, make_person, staff_sign_in):
    person.sign_in("DEMO-3001", "1978-01-23")
    started = datetime.now(UTC).date() - timedelta(days=3)
    person.submit(person.get("/contact-preferences/"),
                  {"breathing-kind": "mental_health", "breathing-start": started.isoformat()},
                  action="/contact-preferences/breathing-space")
    far = _noon_london(400)
    assert blocked_by(decide(db, "TCS-3001", "letter", None, far)) == ["uk.mental-health-crisis"]

    agent = _staff(make_person, staff_sign_in, "agent@demo.test")
    page = _record(agent, "TCS-3001", {"crisis-ended_on": (started - timedelta(days=1))
                                       .isoformat()}, "/holds/crisis-ended")
    assert "on or after the breathing space started" in page.text
    ended = datetime.now(UTC).date() - timedelta(days=1)
    page = _record(agent, "TCS-3001", {"crisis-ended_on": ended.isoformat()},
                   "/holds/crisis-ended")
    assert "ends 30 days after treatment ended" in page.text
    [tail] = _live(db, "uk.mental-health-crisis")
    resume = datetime.combine(ended + timedelta(days=31), time(0), LONDON)
    assert tail.until == resume
    just_before = resume - timedelta(minutes=1)
    assert "uk.mental-health-crisis" in blocked_by(decide(db, "TCS-3001", "letter", None,
                                                          just_before))
    assert decide(db, "TCS-3001", "letter", None, resume + timedelta(hours=12)).allowed
    assert decide(db, "TCS-3001", "letter", None, just_before).next_allowed_at == resume
    page = _record(agent, "TCS-3001", {"crisis-ended_on": ended.isoformat()},
                   "/holds/crisis-ended")
    assert "no mental health crisis breathing space without an end" in page.text
    kinds = db.scalars(select(CaseEvent.kind).order_by(CaseEvent.id))
    assert kinds.count("contact.crisis_treatment_ended") == 1
    assert kinds.count("contact.hold_ended") == 1 and kinds.count("contact.hold_started") == 2
