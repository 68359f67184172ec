"""The case record holds no personal data: every flow that writes case events, run for real, and
none of the borrower's personal values (nor what they typed about themselves) in any event's data;
staff still read what was said, from the encrypted rows the events name (issue 12)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from portal.accounts.models import Borrower
from portal.cases.service import Actor, record
from portal.contact import service
from portal.contact.models import ContactHold, ContactStatement
from portal.extensions import db as database
from tests.fixtures.stripe import event
from tests.test_payments import BILLING, _apply, _payment, _public_id, _start

#: What Alex and Oliver are (demo data): never in the record.
PEOPLE = ["Alex", "Rivera", "1985-04-12", "350 W 31st", "Apt 4B", "alex@example.com",
          "2135550147", "213 555 0147", "4321", "4000123412341234",
          "Oliver", "Bennett", "1978-01-23", "Parliament", "oliver@example.com", "7911 123456",
          "5500111122223333"]
#: What the flows below have them type about themselves.
TYPED = ["Jo Counsel", "jo@law.example", "BK-26-55501", "BS-778899", "mental_health",
         "Priya Sharma", "neighbour", "redundant from Acme", "Robin Q. Cardholder",
         "robin.card@example.net", "Billing Lane"]


def _attorney(people):
    people.alex.submit(people.alex.get("/contact-preferences/"),
                       {"attorney-name": "Jo Counsel", "attorney-contact": "jo@law.example"},
                       action="/contact-preferences/attorney")
    return {"contact.attorney_reported", "contact.hold_started"}


def _bankruptcy(people):
    people.alex.submit(people.alex.get("/contact-preferences/"),
                       {"bankruptcy-case_number": "BK-26-55501"},
                       action="/contact-preferences/bankruptcy")
    return {"contact.bankruptcy_reported", "contact.hold_started"}


def _breathing_space(people):
    today = datetime.now(ZoneInfo("Europe/London")).date()
    people.oliver.submit(people.oliver.get("/contact-preferences/"),
                         {"breathing-kind": "mental_health",
                          "breathing-start": today.isoformat(),
                          "breathing-reference": "BS-778899"},
                         action="/contact-preferences/breathing-space")
    return {"contact.breathing_space_reported", "contact.hold_started"}


def _dispute(people):
    page = people.alex.get("/accounts/NWB-1001/dispute")
    people.alex.submit(page, {"reasons": "not_mine",
                              "details": "My neighbour Priya Sharma opened it."},
                       action="/dispute", content_type="multipart/form-data")
    return {"dispute.opened", "contact.hold_started"}


def _hardship_plan(people):
    page = people.alex.get("/accounts/LUM-1001/plan")
    people.alex.submit(page, {"kind": "hardship", "months": "", "monthly": "25.00",
                              "hardship_reason": "job_loss", "pause_days": "30",
                              "hardship_details": "I was made redundant from Acme.",
                              "income": "1873", "fixed_costs": "1291", "action": "propose"},
                       action="/plan")
    return {"plan.proposed", "contact.hold_started"}


def _card_payment(people):
    alex, stripe_emulator, db, post_event = (people.alex, people.stripe, people.db,
                                             people.post_event)
    page = _start(alex, "40.00")
    public_id = _public_id(page)
    form = page.soup.find(id="card-form")
    stripe_emulator.confirm_card(form["data-client-secret"], billing_details=BILLING)
    alex.submit(page, action="/submit")
    intent = stripe_emulator.intent(_payment(db, public_id).payment_intent_id)
    intent["latest_charge"]["billing_details"] = BILLING
    post_event(event("payment_intent.succeeded", intent))
    _apply(db)
    return {"payment.submitted", "payment.succeeded", "ledger.posted"}


def _dispute_resolved(people):
    _dispute(people)
    number = re.search(r"D-\d{6}", people.alex.get("/accounts/NWB-1001").text).group(0)
    page = people.staff.get(f"/staff/disputes/{number}")
    people.staff.submit(page, {"outcome": "upheld", "action": "none",
                               "note": "Priya Sharma is not on the agreement; you are."},
                        action="/resolve")
    return {"dispute.resolved"}


def _plan_decided(people):
    _hardship_plan(people)
    number = re.search(r"P-\d+", people.alex.get("/accounts/LUM-1001").text).group(0)
    people.staff.submit(people.staff.get(f"/staff/plans/{number}"),
                        {"outcome": "declined",
                         "note": "Being redundant from Acme, call us at 2135550147."},
                        action="/decide")
    return {"plan.decided"}


FLOWS = [_attorney, _bankruptcy, _breathing_space, _dispute, _hardship_plan, _card_payment,
         _dispute_resolved, _plan_decided]


class People:
    def __init__(self, **kw):
        self.__dict__.update(kw)


@pytest.fixture
def people(person, make_person, demo, db, stripe_emulator, post_event, staff_sign_in):
    person.sign_in("DEMO-1001", "1985-04-12")
    oliver = make_person()
    oliver.sign_in("DEMO-3001", "1978-01-23")
    staff = make_person()
    staff_sign_in(staff, "compliance@demo.test")
    return People(alex=person, oliver=oliver, staff=staff, db=db, stripe=stripe_emulator,
                  post_event=post_event)


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.__name__.strip("_"))
def test_no_case_event_carries_personal_data(people, db, flow):
    before = db.scalar(text("SELECT coalesce(max(id), 0) FROM case_event"))
    kinds = flow(people)
    written = db.execute(text("SELECT kind, data::text FROM case_event WHERE id > :id"),
                         {"id": before}).all()
    assert kinds <= {kind for kind, _data in written}, written  # the flow did write them
    for kind, data in written:
        for value in PEOPLE + TYPED + ["1873", "187300", "1291", "129100"]:
            assert value not in data, (kind, value)


def test_staff_still_read_what_the_borrower_said(people, db, make_person, staff_sign_in):
    _attorney(people)
    _breathing_space(people)
    told = {s.kind: s for s in db.scalars(select(ContactStatement))}
    assert set(told) == {"contact.attorney_reported", "contact.breathing_space_reported"}
    stored = db.scalar(text("SELECT string_agg(encode(details, 'escape'), '') "
                            "FROM contact_statement"))
    assert "Counsel" not in stored and "BS-778899" not in stored  # encrypted at rest
    # The derivation reads the kind from the row: a mental-health crisis has no end date.
    hold = db.scalar(select(ContactHold).where(ContactHold.rule == "uk.mental-health-crisis"))
    assert hold is not None and hold.until is None

    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    page = staff.get("/staff/accounts/NWB-1001")
    assert "Attorney: Jo Counsel, jo@law.example" in page.text
    page = staff.get("/staff/accounts/TCS-3001")
    assert "Kind: mental_health" in page.text and "••••8899" in page.text
    assert "BS-778899" not in page.html
    _dispute_resolved(people)  # a staff note, read from the dispute
    page = staff.get("/staff/accounts/NWB-1001")
    assert "Note: Priya Sharma is not on the agreement; you are." in page.text


def test_events_written_before_the_move_still_derive_their_holds(people, db):
    """Old events keep their words inline (the record is never rewritten): still read."""

    def old_style():
        oliver = database.session.scalar(select(Borrower).where(Borrower.reference == "DEMO-3001"))
        record(Actor("borrower", str(oliver.id)), "contact.breathing_space_reported",
               borrower_id=oliver.id,
               data={"kind": "mental_health", "start": (datetime.now().date() - timedelta(days=1))
                     .isoformat(), "reference": None})
        service.reconcile(oliver, Actor.system("test"))

    db.run(old_style)
    assert db.scalar(select(ContactHold).where(ContactHold.rule == "uk.mental-health-crisis"))
