"""Messages through the outgoing queue to a real SMTP server: written with the action that caused
them, sent by the worker's loop once, retried when the server says later, given up (the contact
point marked, staff told) when it says never; and delivery reports settled once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from portal.accounts.models import Account, Borrower, ContactPoint
from portal.agency.models import Agency
from portal.cases.models import CaseEvent
from portal.contact.models import ContactAttempt
from portal.jobs.queue import waiting
from portal.messaging import messages, settle
from portal.messaging.channels import adapter_for
from portal.messaging.models import CapturedMessage, OutgoingMessage
from portal.messaging.notify import Status, notify
from portal.messaging.outgoing import send_due
from portal.messaging.service import LOCKS, DeliveryUnavailable
from portal.messaging.service import send as deliver
from portal.money import Money
from portal.operations import Refused


def _weekday_afternoon() -> datetime:
    """19:00 UTC on a coming weekday: 15:00 in New York, 12:00 in Los Angeles."""
    day = date.today() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(19), UTC)


def _notify(db, account_ref: str, message, **kwargs):
    def run():
        account = db.database.session.scalar(
            select(Account).where(Account.reference == account_ref))
        return notify(account.borrower, message, account=account, **kwargs)

    return db.run(run)


def _outgoing(db) -> list[OutgoingMessage]:
    return db.scalars(select(OutgoingMessage).order_by(OutgoingMessage.id))


def _point(db, value: str) -> ContactPoint:
    return next(p for p in db.scalars(select(ContactPoint)) if p.value == value)


def _reminder(plan="P-1"):
    return messages.plan_reminder(plan, Money(5000, "USD"), date(2031, 1, 15), autopay=False)


def test_a_receipt_is_queued_with_the_payment_and_sent_once_from_the_agency(
        app, db, demo, mail, make_payment):
    db.execute(update(Agency).values(email_from="accounts@agency.test"))
    make_payment("NWB-1002", 5000, "succeeded")  # María reads Spanish

    (queued,) = _outgoing(db)
    assert (queued.kind, queued.status, queued.language, queued.urgent) == (
        "payment_receipt", "queued", "es_US", False)  # US Latin-American Spanish
    assert db.scalars(select(CapturedMessage)) == []  # no longer captured: it is really sent
    assert queued.contact_point_id == _point(db, "maria@example.com").id
    assert queued.agency_id is not None
    attempt = db.scalar(select(ContactAttempt).where(ContactAttempt.id == queued.attempt_id))
    assert attempt.outcome == "sent"
    # The send job went into the same transaction as the message.
    assert db.run(waiting, LOCKS[False])

    assert [r.status for r in db.run(send_due)] == ["sent"]
    assert db.run(send_due) == []  # nothing is sent twice
    (caught,) = mail.wait_for(1)
    agency = db.scalar(select(Agency.name).where(Agency.id == queued.agency_id))
    assert caught.message["From"] == f"{agency} <accounts@agency.test>"
    assert caught.message["Message-ID"] == f"<outgoing-{queued.id}@agency.test>"
    assert caught.message["Content-Language"] == "es-US"
    assert caught.rcpt_tos == ["maria@example.com"]
    assert "Monto pagado: $50.00" in caught.part("plain") and "$50.00" in caught.part("html")
    sent = db.scalar(select(OutgoingMessage).where(OutgoingMessage.id == queued.id))
    assert (sent.status, sent.provider, sent.provider_ref, sent.tries) == (
        "sent", "smtp", f"<outgoing-{queued.id}@agency.test>", 1)


def test_a_collection_email_carries_the_opt_out_and_a_sign_in_code_does_not(app, db, demo,
                                                                           mail):
    outcome = _notify(db, "NWB-1001", _reminder(plan="<b>P-1</b>"), at=_weekday_afternoon())
    assert outcome.status == Status.SENT
    alex = db.scalar(select(Borrower).where(Borrower.reference == "DEMO-1001"))
    db.run(lambda: notify(db.database.session.get(Borrower, alex.id),
                          messages.sign_in_code("123456"), destination="alex@example.com"))
    reminder, code = _outgoing(db)
    assert (reminder.urgent, code.urgent) == (False, True)
    assert db.run(waiting, LOCKS[True])
    db.run(send_due, clock=_weekday_afternoon)  # the reminder waits for day time

    by_kind = {m.message["Subject"]: m for m in mail.wait_for(2)}
    code_mail = next(m for s, m in by_kind.items() if "sign-in" in s)
    reminder_mail = next(m for s, m in by_kind.items() if "sign-in" not in s)
    # The sign-in code went first: urgent messages are claimed ahead of the rest.
    assert mail.messages[0] is code_mail
    preferences = f"{app.config['PUBLIC_URL']}/contact-preferences"
    assert reminder_mail.message["List-Unsubscribe"] == f"<{preferences}>"
    assert "To unsubscribe from these emails" in reminder_mail.part("plain")
    assert preferences in reminder_mail.part("plain")
    html = reminder_mail.part("html")
    assert f'<a href="{preferences}">{preferences}</a>' in html
    assert "&lt;b&gt;P-1&lt;/b&gt;" in html and "<b>P-1" not in html  # escaped
    assert code_mail.message["List-Unsubscribe"] is None
    assert "unsubscribe" not in code_mail.part("plain")
    assert "123456" in code_mail.part("plain")


def test_a_bounce_marks_the_contact_point_and_staff_see_it(app, db, demo, mail, make_payment,
                                                          person, staff_sign_in):
    mail.bounce.add("alex@example.com")
    make_payment("NWB-1001", 5000, "succeeded")
    (queued,) = _outgoing(db)
    assert [r.status for r in db.run(send_due)] == ["failed"]
    assert mail.messages == []

    failed = db.scalar(select(OutgoingMessage).where(OutgoingMessage.id == queued.id))
    assert (failed.status, failed.error_code, failed.tries) == ("failed", "550", 1)
    assert "alex@example.com" not in failed.error  # the provider's words, without the address
    point = _point(db, "alex@example.com")
    assert point.undeliverable_at is not None
    assert point.undeliverable_reason == failed.error
    assert db.scalar(select(ContactAttempt.outcome).where(
        ContactAttempt.id == queued.attempt_id)) == "failed"
    (event,) = db.scalars(select(CaseEvent).where(
        CaseEvent.kind == "contact.point_undeliverable"))
    assert event.data == {"point": point.id, "channel": "email", "message": queued.id,
                          "code": "550"}

    staff_sign_in(person, "compliance@demo.test")
    page = person.get("/staff/accounts/NWB-1001")
    assert "undeliverable: 550 5.1.1 <[address]>: Recipient address rejected" in page.text
    # The case history says it in words (issue 15).
    assert "Not delivered (Emails): the address or number is marked undeliverable." in page.text


def test_a_busy_server_is_retried_with_backoff_then_given_up(app, db, demo, mail,
                                                             make_payment):
    mail.defer.add("alex@example.com")
    make_payment("NWB-1001", 5000, "succeeded")
    (queued,) = _outgoing(db)
    before = datetime.now(UTC)
    assert [r.status for r in db.run(send_due)] == ["queued"]
    again = db.scalar(select(OutgoingMessage).where(OutgoingMessage.id == queued.id))
    assert again.tries == 1 and "451" in again.error
    assert before + timedelta(seconds=14) < again.next_try_at < before + timedelta(seconds=31)
    assert db.run(send_due) == []  # not due yet

    for tries in range(2, settle.MAX_TRIES + 1):
        db.execute(update(OutgoingMessage).values(next_try_at=datetime.now(UTC)))
        (result,) = db.run(send_due)
        assert result.status == ("failed" if tries == settle.MAX_TRIES else "queued")
    gave_up = db.scalar(select(OutgoingMessage).where(OutgoingMessage.id == queued.id))
    assert (gave_up.status, gave_up.error_code, gave_up.tries) == ("failed", "tries",
                                                                   settle.MAX_TRIES)
    assert _point(db, "alex@example.com").undeliverable_at is not None
    mail.defer.clear()
    assert mail.messages == []


def _sent_receipt(db, make_payment, account_ref="NWB-1001") -> OutgoingMessage:
    make_payment(account_ref, 5000, "succeeded")
    db.run(send_due)
    (sent,) = _outgoing(db)
    return sent


def _reload(db, message: OutgoingMessage) -> OutgoingMessage:
    return db.scalar(select(OutgoingMessage).where(OutgoingMessage.id == message.id))


def test_a_delivery_report_settles_the_message_and_its_attempt_once(app, db, demo, mail,
                                                                    make_payment):
    sent = _sent_receipt(db, make_payment)
    settled = db.run(settle.settle, "smtp", sent.provider_ref, "delivered")
    assert settled.status == "delivered"
    assert db.scalar(select(ContactAttempt.outcome).where(
        ContactAttempt.id == sent.attempt_id)) == "delivered"
    at = _reload(db, sent).settled_at
    # The same report again, or a late contrary one: nothing changes.
    db.run(settle.settle, "smtp", sent.provider_ref, "delivered")
    db.run(settle.settle, "smtp", sent.provider_ref, "failed_permanent", "550", "gone")
    again = _reload(db, sent)
    assert (again.status, again.settled_at) == ("delivered", at)
    assert _point(db, "alex@example.com").undeliverable_at is None
    assert db.run(settle.settle, "smtp", "<nobody@x>", "delivered") is None


def test_a_permanent_report_marks_the_point_once(app, db, demo, mail, make_payment):
    sent = _sent_receipt(db, make_payment)
    for _ in range(2):
        db.run(settle.settle, "smtp", sent.provider_ref, "failed_permanent", "30006",
               "Landline or unreachable carrier for +12135550147")
    failed = _reload(db, sent)
    assert (failed.status, failed.error_code) == ("failed", "30006")
    assert "2135550147" not in failed.error
    assert _point(db, "alex@example.com").undeliverable_reason == failed.error
    assert len(db.scalars(select(CaseEvent).where(
        CaseEvent.kind == "contact.point_undeliverable"))) == 1
    with pytest.raises(Refused):
        db.run(settle.settle, "smtp", sent.provider_ref, "lost")


def test_a_transient_report_queues_the_message_again(app, db, demo, mail, make_payment):
    sent = _sent_receipt(db, make_payment)
    db.run(settle.settle, "smtp", sent.provider_ref, "failed_transient", "30003", "unreachable")
    again = _reload(db, sent)
    assert (again.status, again.error_code) == ("queued", "30003")
    assert again.next_try_at > datetime.now(UTC)
    db.run(settle.settle, "smtp", sent.provider_ref, "failed_transient")  # repeated: no change
    assert _reload(db, sent).next_try_at == again.next_try_at


def test_without_an_adapter_demo_mode_captures_and_production_refuses(app, db, demo,
                                                                      monkeypatch):
    assert adapter_for("sms", app) is None

    def send(**fields):
        return deliver(channel="sms", destination="+12135550147", subject="s", body="b",
                       kind="sign_in_code", **fields)

    assert db.run(send) is None
    assert [m.kind for m in db.scalars(select(CapturedMessage))] == ["sign_in_code"]
    monkeypatch.setitem(app.config, "PORTAL_DEMO", False)
    with pytest.raises(DeliveryUnavailable):
        db.run(send)
