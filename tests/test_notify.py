"""notify, end to end: every message to a borrower asks the rules for its purpose, goes in the
borrower's language, and is a contact attempt recorded with it (or neither happens)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import Account, Borrower, LedgerEntry
from portal.cases.models import CaseEvent
from portal.cases.service import Actor
from portal.contact import operations as contact
from portal.contact.models import ContactAttempt
from portal.disputes.models import Dispute
from portal.identity.models import OneTimeCode
from portal.messaging import messages
from portal.messaging import notify as notify_module
from portal.messaging import service as delivery
from portal.messaging.models import CapturedMessage
from portal.messaging.notify import Status, notify
from portal.payments.models import Payment
from portal.plans import charging
from portal.plans import service as plans
from portal.plans.models import Installment, PaymentPlan
from tests.fixtures.client import dob


def _borrower(db, reference: str) -> Borrower:
    return db.scalar(select(Borrower).where(Borrower.reference == reference))


def _actor(borrower: Borrower) -> Actor:
    return Actor("borrower", str(borrower.id), "10.0.0.1")


def _mail(db, kind: str) -> list[CapturedMessage]:
    return db.scalars(select(CapturedMessage).where(CapturedMessage.kind == kind)
                      .order_by(CapturedMessage.id))


def _attempts(db) -> list[tuple]:
    return [(a.channel, a.destination, a.reported_by, a.violation)
            for a in db.scalars(select(ContactAttempt).order_by(ContactAttempt.id))]


def _cease(db, reference="DEMO-1001"):
    borrower = _borrower(db, reference)
    db.run(contact.request_cease, borrower.id, _actor(borrower))


def _notify_about(db, account_ref: str, message: messages.Message):
    def run():
        session = db.database.session
        account = session.scalar(select(Account).where(Account.reference == account_ref))
        return notify(account.borrower, message, account=account)

    return db.run(run)


def _receipt(number="R-TEST"):
    return messages.payment_receipt(number, lambda locale: [("Receipt number", number)])


def test_a_receipt_is_not_emailed_to_an_address_the_borrower_opted_out_of(db, demo, person,
                                                                          make_payment):
    """Decided by the rules: an opt-out bars that medium for a receipt (12 CFR 1006.14(h)(1));
    the receipt stays on its page. A sign-in code the borrower asks for there still goes."""
    alex = _borrower(db, "DEMO-1001")
    db.run(contact.change_preferences, alex.id, {"opted_out_channels": ["email"]}, None,
           _actor(alex))

    payment = make_payment("LUM-1001", 5000, "succeeded")
    assert db.scalar(select(Payment.status).where(Payment.id == payment.id)) == "succeeded"
    assert _mail(db, "payment_receipt") == [] and _attempts(db) == []
    outcome = _notify_about(db, "LUM-1001", _receipt())
    assert (outcome.status, outcome.rule) == (Status.BLOCKED, "us.channel-opt-out")

    page = person.sign_in("DEMO-1001", "1985-04-12", destination="email")
    assert page.h1 == "Your accounts"
    (code,) = _mail(db, "sign_in_code")
    assert code.destination == "alex@example.com"


def test_a_receipt_goes_while_a_dispute_pauses_collection_but_not_after_a_cease(
        db, demo, person, make_payment, make_dispute):
    make_dispute("NWB-1001")  # us.dispute-pending-verification: collection stops, not answers
    make_payment("NWB-1001", 5000, "succeeded")
    (receipt,) = _mail(db, "payment_receipt")
    assert receipt.destination == "alex@example.com"

    _cease(db)
    make_payment("LUM-1001", 2500, "succeeded")
    assert len(_mail(db, "payment_receipt")) == 1
    outcome = _notify_about(db, "LUM-1001", _receipt())
    assert (outcome.status, outcome.rule) == (Status.BLOCKED, "us.cease-communication")
    # A sign-in code says nothing about the debt: the borrower can still reach the portal.
    assert person.sign_in("DEMO-1001", "1985-04-12", destination="sms").h1 == "Your accounts"
    assert _mail(db, "sign_in_code")[-1].destination == "+12135550147"


def _active_plan(db, make_plan) -> tuple[PaymentPlan, Installment]:
    proposed = make_plan("LUM-1001")
    db.run(plans.accept, proposed.borrower_id, proposed.number, False, None,
           Actor("borrower", str(proposed.borrower_id), "10.0.0.1"))
    plan = db.scalar(select(PaymentPlan).where(PaymentPlan.id == proposed.id))
    first = db.scalar(select(Installment).where(Installment.plan_id == plan.id)
                      .order_by(Installment.due_on))
    return plan, first


def test_a_plan_reminder_does_not_go_under_a_cease(db, demo, make_plan):
    plan, first = _active_plan(db, make_plan)
    today = first.due_on - timedelta(days=3)
    now = datetime.combine(today, time(19), UTC)  # 15:00 in New York, 12:00 in Los Angeles
    _cease(db)
    assert db.run(charging.remind, today, now) == 0
    assert _mail(db, "plan_reminder") == []
    assert db.scalar(select(Installment.reminded_at).where(Installment.id == first.id)) is None

    alex = _borrower(db, "DEMO-1001")
    db.run(contact.withdraw_cease, alex.id, _actor(alex))
    assert db.run(charging.remind, today, now) == 1
    (reminder,) = _mail(db, "plan_reminder")
    assert plan.number in reminder.body and reminder.destination == "alex@example.com"
    assert _attempts(db) == [("email", "alex@example.com", "messaging:plan_reminder", False)]


def test_a_dispute_confirmation_asks_the_rules(db, demo, make_dispute):
    first = make_dispute("NWB-1001")
    (told,) = _mail(db, "dispute_received")
    assert first.number in told.subject
    _cease(db)
    second = make_dispute("LUM-1001")
    assert db.scalar(select(Dispute.status).where(Dispute.id == second.id)) == "received"
    assert [m.subject for m in _mail(db, "dispute_received")] == [told.subject]


def test_every_message_sent_is_a_contact_attempt_recorded_with_it(db, demo, make_payment,
                                                                  make_dispute):
    make_dispute("NWB-1001")
    make_payment("LUM-1001", 5000, "succeeded")
    sent = db.scalars(select(CapturedMessage).where(CapturedMessage.kind != "sign_in_code")
                      .order_by(CapturedMessage.id))
    assert [m.kind for m in sent] == ["dispute_received", "payment_receipt"]
    assert _attempts(db) == [("email", m.destination, f"messaging:{m.kind}", False)
                             for m in sent]
    recorded = db.scalars(select(CaseEvent.data).where(
        CaseEvent.kind == "contact.attempt_recorded").order_by(CaseEvent.id))
    assert [(e["channel"], e["outcome"], e["violation"]) for e in recorded] == [
        ("email", "delivered", False)] * 2


def test_a_message_and_its_attempt_are_kept_together_or_not_at_all(db, demo, make_payment,
                                                                   make_dispute, monkeypatch):
    def no_attempt(*args, **kwargs):
        raise RuntimeError("the contact log is unavailable")

    monkeypatch.setattr(notify_module, "attempt_made", no_attempt)
    payment = make_payment("LUM-1001", 5000, "succeeded")
    assert _mail(db, "payment_receipt") == []  # the message went back with its attempt ...
    assert db.scalar(select(LedgerEntry.amount_minor).where(  # ... the payment stands
        LedgerEntry.payment_id == payment.id)) == -5000
    monkeypatch.undo()

    def no_delivery(**kwargs):
        raise delivery.DeliveryUnavailable("no delivery configured")

    monkeypatch.setattr(delivery, "send", no_delivery)
    dispute = make_dispute("NWB-1001")
    assert db.scalar(select(Dispute.status).where(Dispute.id == dispute.id)) == "received"
    assert _attempts(db) == []  # nothing delivered, so no contact recorded
    assert _notify_about(db, "NWB-1001", _receipt()).status == Status.NO_DELIVERY


@pytest.mark.parametrize(("account_ref", "amount", "paid_on"), [
    ("NWB-1001", r"(?<![A-Z])\$50\.00", r"[A-Z][a-z]+ \d{1,2}, \d{4}"),
    ("NWB-1002", r"(?<![A-Z])\$50\.00", r"\d{1,2} de [a-z]+ de \d{4}"),  # es_US: dollars US-style
    ("JRF-2001", r"(?<![A-Z])¥50\.00", r"\d{4}年\d{1,2}月\d{1,2}日"),
])
def test_a_message_is_in_the_borrowers_own_language(db, demo, make_payment, account_ref, amount,
                                                    paid_on):
    """Alex reads English, María Spanish, Wang Fang Simplified Chinese (the demo data): the
    amounts and dates of their receipts are written their way."""
    make_payment(account_ref, 5000, "succeeded")
    (receipt,) = _mail(db, "payment_receipt")
    assert re.search(amount, receipt.body), receipt.body
    assert re.search(paid_on, receipt.body), receipt.body


def test_a_sign_in_code_that_cannot_be_sent_is_not_left_issued(db, demo, person, monkeypatch):
    def no_delivery(**kwargs):
        raise delivery.DeliveryUnavailable("no delivery configured")

    monkeypatch.setattr(delivery, "send", no_delivery)
    page = person.submit(person.get("/sign-in"), {"reference": "DEMO-1001",
                                                  **dob("1985-04-12")})
    choice = page.soup.select(".radio input")[0]["value"]
    page = person.submit(page, {"destination": choice})
    assert page.status == 503 and "We could not send your code just now." in page.text
    assert db.scalars(select(OneTimeCode)) == []
    assert "borrower.sign_in_code_sent" not in db.scalars(select(CaseEvent.kind))
