"""12 CFR 1006.38(c): a borrower who asked for the original creditor's name and address keeps the
dispute hold until those are sent, not only until verification is (issue 12)."""

from __future__ import annotations

from sqlalchemy import select, text

from portal.cases.models import CaseEvent
from tests.test_disputes import _dispute, _number, _resolve, _send, _verify, alex, blocked_by

__all__ = ["alex"]  # the fixture, shared with tests/test_disputes.py

HOLD = "us.dispute-pending-verification"
CALL = ("call", "+12135550147")


def _send_original_creditor(staff, number, details="Northwind Bank N.A., 1 Main St, Wilmington "
                            "DE 19801", delivery="portal_email"):
    page = staff.get(f"/staff/disputes/{number}")
    return staff.submit(page, {"details": details, "delivery": delivery},
                        action="/original-creditor")


def test_verification_alone_does_not_lift_the_hold_when_the_original_creditor_was_asked_for(
        alex, db, make_person, staff_sign_in):
    number = _number(_send(alex, fields={"original_creditor": "y"}))
    assert _dispute(db, number).wants_original_creditor
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")

    _verify(staff, number)
    assert HOLD in blocked_by(db, "NWB-1001", *CALL)  # verification sent, creditor not: blocked
    assert HOLD in blocked_by(db, "NWB-1001", "letter", None)
    page = _resolve(staff, number, {"outcome": "not_upheld", "note": "We hold your agreement."})
    assert "Record the original creditor" in page.text
    assert _dispute(db, number).status == "verification_sent"
    assert "Collection stays paused until we send them" in alex.get(f"/disputes/{number}").text

    page = _send_original_creditor(staff, number)
    assert "Saved." in page.text
    assert HOLD not in blocked_by(db, "NWB-1001", *CALL)  # both sent: allowed again
    assert blocked_by(db, "NWB-1001", "letter", None) == []
    event = db.scalar(select(CaseEvent).where(
        CaseEvent.kind == "dispute.original_creditor_sent"))
    assert event.data["hold_ends"] and event.data["delivery"] == "portal_email"
    assert "Wilmington" not in str(event.data)  # kept encrypted on the dispute, not in the event
    stored = db.execute(text("SELECT original_creditor FROM dispute WHERE id = :id"),
                        {"id": int(number[2:])}).scalar()
    assert b"Wilmington" not in bytes(stored)
    assert "Wilmington" in alex.get(f"/disputes/{number}").text
    assert f"The original creditor for your dispute {number}" in alex.get("/dev/messages").text


def test_the_original_creditor_first_then_verification_lifts_it(alex, db, make_person,
                                                                 staff_sign_in):
    number = _number(_send(alex, fields={"original_creditor": "y"}))
    staff = make_person()
    staff_sign_in(staff, "compliance@demo.test")
    _send_original_creditor(staff, number, delivery="mail")
    assert HOLD in blocked_by(db, "NWB-1001", *CALL)  # verification still owed
    _verify(staff, number, delivery="mail")
    assert HOLD not in blocked_by(db, "NWB-1001", *CALL)


def test_without_the_request_verification_lifts_it_and_the_form_is_refused(
        alex, db, make_person, staff_sign_in):
    number = _number(_send(alex))
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    assert "Record the original creditor" not in staff.get(f"/staff/disputes/{number}").text
    _verify(staff, number)
    assert HOLD not in blocked_by(db, "NWB-1001", *CALL)
    token = staff.csrf_token()
    response = staff.client.post(f"/staff/disputes/{number}/original-creditor",
                                 data={"csrf_token": token, "details": "Someone, somewhere",
                                       "delivery": "mail"}, follow_redirects=True)
    assert response.status_code == 200
    assert "did not ask for the original creditor" in response.get_data(as_text=True)
    assert _dispute(db, number).original_creditor_sent_at is None


def test_an_empty_name_and_address_is_refused_and_changes_nothing(alex, db, make_person,
                                                                  staff_sign_in):
    number = _number(_send(alex, fields={"original_creditor": "y"}))
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    page = _send_original_creditor(staff, number, details="   ")
    assert "Give the original creditor" in page.text
    assert _dispute(db, number).original_creditor_sent_at is None
    assert db.scalar(select(CaseEvent).where(
        CaseEvent.kind == "dispute.original_creditor_sent")) is None
