"""The worker asks the contact rules again as it sends (real PostgreSQL, the worker's loop
`send_due`, a real SMTP server): a message the clock now stops waits for the hour the rules allow;
one a hold or cease recorded after queueing stops is cancelled, visible to staff; one to a contact
point that bounced since is failed unsent; and an undeliverable point is not picked again until
the borrower confirms it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.accounts.models import Account, Borrower, ContactPoint
from portal.cases.models import CaseEvent
from portal.cases.service import Actor
from portal.contact.models import ContactAttempt
from portal.contact.operations import attempt_made, report_bankruptcy, request_cease
from portal.contact.rulebook import Purpose
from portal.messaging import messages, screen
from portal.messaging.models import OutgoingMessage
from portal.messaging.notify import Status, notify
from portal.messaging.outgoing import send_due
from portal.messaging.send_time import Action
from portal.money import Money

EASTERN = ZoneInfo("America/New_York")
WEDNESDAY = date(2031, 1, 8)


def eastern(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), EASTERN).astimezone(UTC)


def _notify(db, account_ref: str, message, **kwargs):
    def run():
        account = db.database.session.scalar(
            select(Account).where(Account.reference == account_ref))
        return notify(account.borrower, message, account=account, **kwargs)

    return db.run(run)


def _reminder():
    return messages.plan_reminder("P-1", Money(5000, "USD"), date(2031, 1, 15), autopay=False)


def _receipt(number="R-1"):
    return messages.payment_receipt(number, lambda locale: [("Receipt number", number)])


def _outgoing(db) -> list[OutgoingMessage]:
    return db.scalars(select(OutgoingMessage).order_by(OutgoingMessage.id))


def _reload(db, message_id: int) -> OutgoingMessage:
    return db.scalar(select(OutgoingMessage).where(OutgoingMessage.id == message_id))


def _borrower_id(db, reference: str) -> int:
    return db.scalar(select(Borrower.id).where(Borrower.reference == reference))


def _send(db, at: datetime):
    return [r.status for r in db.run(send_due, clock=lambda: at)]


def test_a_reminder_queued_at_20_59_waits_at_21_05_until_8_am_and_a_code_goes_at_once(
        app, db, demo, mail):
    # María: Cambridge, Massachusetts, a 617 mobile: Eastern time only.
    assert _notify(db, "NWB-1002", _reminder(), at=eastern(WEDNESDAY, 20, 59)).sent
    (queued,) = _outgoing(db)
    assert (queued.purpose, queued.rule) == ("collection", None)

    assert _send(db, eastern(WEDNESDAY, 21, 5)) == []  # the worker's retry, six minutes later
    held = _reload(db, queued.id)
    morning = eastern(WEDNESDAY + timedelta(days=1), 8)
    assert (held.status, held.rule, held.tries, held.next_try_at) == (
        "queued", "us.inconvenient-hours", 0, morning)
    assert mail.messages == []

    # A sign-in code asked for at 21:05 is not held: the borrower is waiting.
    maria = _borrower_id(db, "DEMO-1002")
    assert db.run(lambda: notify(db.database.session.get(Borrower, maria),
                                 messages.sign_in_code("123456"),
                                 destination="maria@example.com",
                                 at=eastern(WEDNESDAY, 21, 5))).sent
    assert _send(db, eastern(WEDNESDAY, 21, 5)) == ["sent"]
    (code,) = mail.wait_for(1)
    assert "123456" in code.part("plain")

    assert _send(db, morning - timedelta(minutes=1)) == []  # not due before 08:00
    assert _send(db, morning) == ["sent"]
    assert len(mail.wait_for(2)) == 2
    sent = _reload(db, queued.id)
    assert (sent.status, sent.tries) == ("sent", 1)


def test_a_cease_recorded_after_queueing_cancels_the_message_and_staff_see_why(
        app, db, demo, mail, make_person, staff_sign_in):
    afternoon = eastern(WEDNESDAY, 14)
    assert _notify(db, "NWB-1002", _receipt(), at=afternoon).sent
    (queued,) = _outgoing(db)
    assert queued.purpose == "requested"
    db.run(request_cease, _borrower_id(db, "DEMO-1002"), Actor.system("test"))

    assert _send(db, afternoon + timedelta(minutes=5)) == []
    stopped = _reload(db, queued.id)
    assert (stopped.status, stopped.rule, stopped.tries) == (
        "cancelled", "us.cease-communication", 0)
    assert stopped.settled_at is not None
    assert db.scalar(select(ContactAttempt.outcome).where(
        ContactAttempt.id == queued.attempt_id)) == "cancelled"
    (event,) = db.scalars(select(CaseEvent).where(CaseEvent.kind == "message.stopped"))
    assert event.data == {"message": queued.id, "kind": "payment_receipt", "channel": "email",
                          "rule": "us.cease-communication"}
    assert _send(db, afternoon + timedelta(days=1)) == []  # cancelled for good
    assert mail.messages == []

    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    page = staff.get("/staff/accounts/NWB-1002")
    assert "A queued message was stopped by the contact rules" in page.text
    assert "us.cease-communication" in page.text


def test_a_hold_stops_what_it_stops_and_lets_the_rest_go(app, db, demo, mail):
    """A bankruptcy stay recorded after both were queued: the reminder (collection) is cancelled,
    the receipt (the borrower's own payment) still goes."""
    afternoon = eastern(WEDNESDAY, 14)
    assert _notify(db, "NWB-1002", _reminder(), at=afternoon).sent
    assert _notify(db, "NWB-1002", _receipt(), at=afternoon).sent
    reminder, receipt = _outgoing(db)
    db.run(report_bankruptcy, _borrower_id(db, "DEMO-1002"), None, Actor.system("test"))

    assert _send(db, afternoon + timedelta(minutes=1)) == ["sent"]
    assert (_reload(db, reminder.id).status, _reload(db, reminder.id).rule) == (
        "cancelled", "us.bankruptcy-stay")
    assert _reload(db, receipt.id).status == "sent"
    (caught,) = mail.wait_for(1)
    assert "R-1" in caught.part("plain")


def test_a_bounce_stops_later_sends_until_the_borrower_confirms_the_address(
        app, db, demo, mail, make_person, staff_sign_in):
    afternoon = eastern(WEDNESDAY, 14)
    for number in ("R-1", "R-2"):
        assert _notify(db, "NWB-1001", _receipt(number), at=afternoon).sent
    first, second = _outgoing(db)
    mail.bounce.add("alex@example.com")
    assert [r.status for r in db.run(send_due, limit=1, clock=lambda: afternoon)] == ["failed"]
    # The server would take it now: only the mark can stop the second.
    mail.bounce.clear()
    assert _send(db, afternoon) == []
    unsent = _reload(db, second.id)
    assert (unsent.status, unsent.error_code, unsent.tries) == ("failed", "undeliverable", 0)
    assert db.scalar(select(ContactAttempt.outcome).where(
        ContactAttempt.id == second.attempt_id)) == "failed"
    assert mail.messages == []

    # Alex has no other email: notify does not pick the bounced one.
    outcome = _notify(db, "NWB-1001", _receipt("R-3"), at=afternoon)
    assert outcome.status == Status.NO_DESTINATION
    assert _notify(db, "NWB-1001", _receipt("R-3"), at=afternoon,
                   destination="alex@example.com").status == Status.NO_DESTINATION
    assert len(_outgoing(db)) == 2

    # The borrower confirmed the address to an agent: the mark is cleared, messages go again.
    point = db.scalar(select(ContactPoint).where(ContactPoint.id == first.contact_point_id))
    agent = make_person()
    staff_sign_in(agent, "agent@demo.test")
    page = agent.get("/staff/accounts/NWB-1001")
    assert "The borrower confirmed it" in page.text
    answer = agent.client.post("/staff/accounts/NWB-1001/contact-points/confirmed",
                               data={"csrf_token": agent.csrf_token(), "confirm-point": point.id})
    assert answer.status_code == 303
    cleared = db.scalar(select(ContactPoint).where(ContactPoint.id == point.id))
    assert (cleared.undeliverable_at, cleared.undeliverable_reason) == (None, None)
    (event,) = db.scalars(select(CaseEvent).where(CaseEvent.kind == "contact.point_confirmed"))
    assert event.actor_type == "staff" and event.data["point"] == point.id
    again = agent.client.post("/staff/accounts/NWB-1001/contact-points/confirmed",
                              data={"csrf_token": agent.csrf_token(), "confirm-point": point.id},
                              follow_redirects=True)
    assert "That contact point is not marked undeliverable." in again.text

    assert _notify(db, "NWB-1001", _receipt("R-3"), at=afternoon).sent
    assert _send(db, afternoon) == ["sent"]
    assert mail.wait_for(1)[0].rcpt_tos == ["alex@example.com"]


def test_another_agency_cannot_clear_the_mark(app, db, demo, make_person, staff_sign_in):
    point = next(p for p in db.scalars(select(ContactPoint)) if p.value == "alex@example.com")
    db.run(lambda: setattr(db.database.session.get(ContactPoint, point.id), "undeliverable_at",
                           datetime.now(UTC)))
    other = make_person()
    staff_sign_in(other, "admin@harbor.test")
    answer = other.client.post("/staff/accounts/NWB-1001/contact-points/confirmed",
                               data={"csrf_token": other.csrf_token(), "confirm-point": point.id})
    assert answer.status_code == 404
    assert db.scalar(select(ContactPoint.undeliverable_at).where(
        ContactPoint.id == point.id)) is not None


@pytest.mark.parametrize(("earlier_texts", "action"), [(1, Action.SEND), (2, Action.HOLD)])
def test_a_text_s_own_attempt_is_not_counted_against_it(app, db, demo, earlier_texts, action):
    """María (Massachusetts: at most 2 texts in 7 days to a personal number): with one earlier
    text, the queued one is the second and goes; with two, it waits for the window to roll on."""
    at = eastern(WEDNESDAY, 14)

    def judge_queued_text():
        session = db.database.session
        account = session.scalar(select(Account).where(Account.reference == "NWB-1002"))
        phone = next(p for p in account.borrower.contact_points if p.kind == "phone")
        for days in range(1, earlier_texts + 1):
            attempt_made(account, "sms", phone.value, at - timedelta(days=days), "delivered",
                         Actor.system("test"), Purpose.COLLECTION)
        own = attempt_made(account, "sms", phone.value, at, "sent",
                           Actor.system("messaging:plan_reminder"), Purpose.COLLECTION)
        message = OutgoingMessage(
            channel="sms", destination=phone.value, subject="", text="Plan reminder",
            html=None, language="es", kind="plan_reminder", purpose=Purpose.COLLECTION,
            borrower_id=account.borrower_id, account_id=account.id, attempt_id=own.id,
            contact_point_id=phone.id, status="queued", tries=0, next_try_at=at, created_at=at)
        session.add(message)
        session.flush()
        return screen.verdicts([message], at + timedelta(minutes=1))[message.id]

    verdict = db.run(judge_queued_text)
    assert verdict.action == action
    if action == Action.HOLD:
        assert verdict.rule == "us-ma.call-frequency"
