"""Autopay against localstripe: a card saved with a SetupIntent (attached to the borrower's Stripe
Customer), the consent kept, installments charged off-session by the job on their dates (once,
however often it runs), paid when Stripe's webhook is applied; a declining card retried after 3
days, the borrower told, the plan broken past the grace days and collection contact restored;
completion, and a settlement that settles the account."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Account, LedgerEntry
from portal.cases.models import CaseEvent
from portal.contact.models import ContactAttempt, ContactHold
from portal.extensions import db as database
from portal.messaging.models import CapturedMessage
from portal.outbox.models import OutboxMessage
from portal.payments import inbox, reconcile
from portal.payments.gateway import StripeGateway
from portal.payments.models import Payment
from portal.plans import charging
from portal.plans.models import Installment, PaymentPlan
from tests.fixtures.stripe import event

OWNER = ("DEMO-1001", "1985-04-12")
DECLINES = "4000000000000341"  # attaches to a customer, then every charge is declined


@pytest.fixture
def alex(person, demo):
    page = person.sign_in(*OWNER)
    assert page.h1 == "Your accounts"
    return person


@pytest.fixture
def keys(monkeypatch):
    """The idempotency keys of every off-session charge (localstripe ignores them)."""
    seen = []
    original = StripeGateway.charge_off_session

    def spy(self, *args, **kwargs):
        seen.append(args[5] if len(args) > 5 else kwargs["idempotency_key"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StripeGateway, "charge_off_session", spy)
    return seen


def _propose(person, reference="LUM-1001", **fields):
    page = person.get(f"/accounts/{reference}/plan")
    data = {"kind": "installments", "months": "12", "action": "propose"} | fields
    page = person.submit(page, data, action="/plan")
    assert page.h1.startswith("Your plan"), page.text[:400]
    return page, re.search(r"/plans/(P-\d+)", page.url).group(1)


def _save_card(person, stripe_emulator, number, card="4242424242424242"):
    page = person.get(f"/plans/{number}/accept")
    link = page.soup.find("a", string=re.compile("Save a card for autopay"))
    page = person.get(link["href"])
    assert page.h1 == "Save a card for autopay", page.text[:300]
    assert stripe_emulator.url in page.response.headers["Content-Security-Policy"]
    form = page.soup.find(id="card-form")
    answer = stripe_emulator.confirm_card(form["data-client-secret"], card)  # Stripe.js
    assert answer["status"] == "succeeded", answer
    return person.submit(page, action="/card")


def _accept(person, number, how="autopay", consent=True):
    page = person.get(f"/plans/{number}/accept")
    fields = {"how": how} | ({"autopay_consent": "y"} if consent else {})
    return person.submit(page, fields, action="/accept")


def _plan(db, number) -> PaymentPlan:
    return db.scalar(select(PaymentPlan).where(PaymentPlan.id == int(number[2:])))


def _installments(db, number) -> list[Installment]:
    return db.scalars(select(Installment).where(Installment.plan_id == int(number[2:]))
                      .order_by(Installment.number))


def _balance(db, reference="LUM-1001") -> int:
    return db.scalar(select(func.sum(LedgerEntry.amount_minor)).join(Account).where(
        Account.reference == reference))


def _run(db, today, hour=19):
    """The job as its periodic run on `today`, at `hour` UTC (19:00: 11:00 in Los Angeles)."""
    return db.run(charging.charge_due, today, datetime.combine(today, time(hour), UTC))


def _deliver(db, post_event, stripe_emulator, payment_id: int) -> None:
    """Stripe's webhook for the payment's PaymentIntent, then the worker applies it."""
    payment = db.scalar(select(Payment).where(Payment.id == payment_id))
    intent = stripe_emulator.intent(payment.payment_intent_id)
    outcome = "succeeded" if intent["status"] == "succeeded" else "payment_failed"
    response = post_event(event(f"payment_intent.{outcome}", intent))
    assert response.status_code == 200, response.json
    assert db.run(inbox.apply_received).get("applied") == 1


def _events(db, account_ref="LUM-1001") -> list[str]:
    return db.scalars(select(CaseEvent.kind).join(Account, Account.id == CaseEvent.account_id)
                      .where(Account.reference == account_ref).order_by(CaseEvent.id))


def _topics(db, account_ref="LUM-1001") -> list[str]:
    return db.scalars(select(OutboxMessage.topic).where(OutboxMessage.account_ref == account_ref))


def _mail(db, subject_part: str) -> list[CapturedMessage]:
    return [m for m in db.scalars(select(CapturedMessage).order_by(CapturedMessage.id))
            if subject_part in m.subject]


def _decision(client, channel="call", destination="+1 213 555 0147") -> dict:
    response = client.post("/api/v1/contact-decisions", json={
        "account_ref": "LUM-1001", "channel": channel, "destination": destination},
        headers={"Authorization": "Bearer demo-dialer-key"})
    assert response.status_code == 200, response.json
    return response.json


def _rules(answer: dict) -> set[str]:
    return {r["rule"] for r in answer["reasons"] if r["effect"] == "block"}


def test_save_a_card_accept_with_consent_and_each_installment_is_charged_once(
        alex, db, stripe_emulator, post_event, keys, client):
    _page, number = _propose(alex)
    page = alex.get(f"/plans/{number}/accept")
    assert page.soup.find(id="how-autopay").has_attr("disabled")  # no card yet

    page = _save_card(alex, stripe_emulator, number)
    assert page.h1 == "Accept your plan" and "Your card is saved for autopay." in page.text
    plan = _plan(db, number)
    assert plan.payment_method_id.startswith("pm_") and plan.stripe_customer_id.startswith("cus_")
    method = stripe_emulator.client.v1.payment_methods.retrieve(plan.payment_method_id)
    assert method.customer == plan.stripe_customer_id  # attached by us, explicitly
    customer = stripe_emulator.client.v1.customers.retrieve(plan.stripe_customer_id)
    assert customer.metadata["borrower"] == f"borrower:{plan.borrower_id}"
    setup = stripe_emulator.client.v1.setup_intents.retrieve(plan.setup_intent_id)
    assert setup.usage == "off_session" and setup.customer == plan.stripe_customer_id

    page = _accept(alex, number, consent=False)
    assert page.status == 422 and "Tick the box" in page.text
    page = _accept(alex, number)
    assert "has started" in page.text and "Autopay" in page.text
    plan = _plan(db, number)
    assert plan.status == "active" and plan.autopay
    assert "$69.17" in plan.consent_text and "12 payments" in plan.consent_text
    assert "I can cancel autopay" in plan.consent_text
    assert plan.consent_text in page.text  # the consent, visible on the plan
    assert plan.consent_source  # from where
    # The plan's hold: calls paused, the portal's email not.
    assert "policy.plan-in-good-standing" in _rules(_decision(client))
    assert "policy.plan-in-good-standing" not in _rules(
        _decision(client, "email", "alex@example.com"))

    first, second = _installments(db, number)[:2]
    assert _run(db, first.due_on - timedelta(days=4)) == {}
    # Three days before: the reminder, through the contact engine: not at 01:00 in Los Angeles
    # (inconvenient hours), but on a later run that day; once.
    assert _run(db, first.due_on - timedelta(days=3), hour=9) == {}
    assert _run(db, first.due_on - timedelta(days=3)) == {"reminded": 1}
    assert _run(db, first.due_on - timedelta(days=2)) == {}
    (reminder,) = _mail(db, "is due on")
    assert "$69.17" in reminder.subject and "saved card" in reminder.body
    assert reminder.destination == "alex@example.com"
    # The reminder is a contact like any other: in the contact log, at the job's time, lawful.
    attempts = db.run(lambda: [(a.channel, a.destination, a.at, a.outcome, a.violation)
                               for a in database.session.scalars(select(ContactAttempt))])
    assert attempts == [("email", "alex@example.com",
                         datetime.combine(first.due_on - timedelta(days=3), time(19), UTC),
                         "delivered", False)]

    # The first due date: one charge, however many times the job runs.
    assert _run(db, first.due_on) == {"charged": 1}
    assert _run(db, first.due_on) == {}
    assert keys == [f"installment:{first.id}:attempt:1"]
    first = _installments(db, number)[0]
    assert first.status == "processing" and first.attempts == 1
    payment = db.scalar(select(Payment).where(Payment.id == first.payment_id))
    assert (payment.status, payment.choice, payment.amount_minor) == ("pending", "installment",
                                                                      6917)
    assert len(stripe_emulator.intents_for(payment.public_id)) == 1
    intent = stripe_emulator.intent(payment.payment_intent_id)
    assert intent["customer"] == plan.stripe_customer_id
    assert intent["payment_method"] == plan.payment_method_id
    assert _balance(db) == 83000  # nothing posted before Stripe's webhook

    _deliver(db, post_event, stripe_emulator, payment.id)
    assert _balance(db) == 83000 - 6917
    assert _run(db, first.due_on) == {"paid": 1}
    first, second = _installments(db, number)[:2]
    assert first.status == "paid" and first.paid_at is not None
    assert second.status == "scheduled"
    assert "plan.installment_paid" in _events(db)
    assert _topics(db).count("plan.installment_paid") == 1
    assert _run(db, first.due_on + timedelta(days=1)) == {}  # the next is not due yet
    assert keys == [f"installment:{first.id}:attempt:1"]


def test_a_declined_card_is_retried_after_3_days_then_the_plan_breaks(
        alex, db, stripe_emulator, post_event, keys, client):
    _page, number = _propose(alex)
    _save_card(alex, stripe_emulator, number, DECLINES)
    _accept(alex, number)
    first = _installments(db, number)[0]
    due = first.due_on

    assert _run(db, due) == {"failed": 1}
    first = _installments(db, number)[0]
    assert first.status == "failed" and first.next_attempt_on == due + timedelta(days=3)
    payment = db.scalar(select(Payment).where(Payment.id == first.payment_id))
    assert payment.status == "failed" and payment.failure_message
    (told,) = _mail(db, "did not go through")
    assert "$69.17" in told.body and "try again" in told.body
    assert "plan.installment_failed" in _events(db) and "payment.failed" in _events(db)
    assert _topics(db).count("plan.installment_failed") == 1
    page = alex.get(f"/plans/{number}")
    assert "Payment failed" in page.text and "Pay the next installment" in page.text

    assert _run(db, due + timedelta(days=2)) == {}  # not yet
    assert _run(db, due + timedelta(days=3)) == {"failed": 1}  # the retry, a new attempt
    assert keys == [f"installment:{first.id}:attempt:1", f"installment:{first.id}:attempt:2"]
    assert _installments(db, number)[0].next_attempt_on == due + timedelta(days=6)
    assert "policy.plan-in-good-standing" in _rules(_decision(client))

    # Within the grace days (10 by default) the plan stands; past them, it is broken.
    _run(db, due + timedelta(days=10))
    assert _plan(db, number).status == "active"
    counts = _run(db, due + timedelta(days=11))
    assert counts["broken"] == 1
    assert _plan(db, number).status == "broken"
    assert "plan.broken" in _events(db) and _topics(db).count("plan.broken") == 1
    hold = db.scalar(select(ContactHold).where(ContactHold.rule == "policy.plan-in-good-standing"))
    assert hold.ended_at is not None
    assert "policy.plan-in-good-standing" not in _rules(_decision(client))
    assert _mail(db, "has ended")
    assert _run(db, due + timedelta(days=20)) == {}  # a broken plan is not charged


def test_the_last_installment_completes_the_plan_and_the_account_is_paid(
        alex, db, stripe_emulator, post_event):
    _page, number = _propose(alex, months="3")
    _save_card(alex, stripe_emulator, number)
    _accept(alex, number)
    outcomes = []
    for installment in _installments(db, number):
        assert _run(db, installment.due_on) == {"charged": 1}
        charged = db.scalar(select(Installment).where(Installment.id == installment.id))
        _deliver(db, post_event, stripe_emulator, charged.payment_id)
        outcomes.append(_run(db, installment.due_on))
    assert outcomes == [{"paid": 1}, {"paid": 1}, {"completed": 1}]
    assert {i.status for i in _installments(db, number)} == {"paid"}
    plan = _plan(db, number)
    assert plan.status == "completed" and plan.ended_at is not None
    assert _balance(db) == 0
    assert db.scalar(select(Account.status).where(Account.reference == "LUM-1001")) == "paid"
    kinds = _events(db)
    assert kinds.count("plan.installment_paid") == 3 and "plan.completed" in kinds
    assert "plan.completed" in _topics(db)
    holds = {h.rule: h.ended_at for h in db.scalars(select(ContactHold))}
    assert holds["policy.plan-in-good-standing"] is not None
    assert holds["policy.paid-in-full"] is None


def test_a_settlement_completed_settles_the_account(alex, db, stripe_emulator, post_event,
                                                    client):
    page, number = _propose(alex, kind="settlement", months="", settlement="700.00")
    assert "Approved" in page.text
    _save_card(alex, stripe_emulator, number)
    _accept(alex, number)
    (only,) = _installments(db, number)
    assert only.amount_minor == 70000
    assert _run(db, only.due_on) == {"charged": 1}
    only = _installments(db, number)[0]
    _deliver(db, post_event, stripe_emulator, only.payment_id)
    assert _balance(db) == 13000  # the payment is posted; the rest is still on the account
    assert _run(db, only.due_on) == {"completed": 1}
    credit = db.scalar(select(LedgerEntry).join(Account).where(
        Account.reference == "LUM-1001", LedgerEntry.kind == "credit"))
    assert credit.amount_minor == -13000 and sum(credit.allocation.values()) == 13000
    assert _balance(db) == 0
    assert db.scalar(select(Account.status).where(Account.reference == "LUM-1001")) == "paid"
    assert _plan(db, number).status == "completed"
    answer = _decision(client, "email", "alex@example.com")
    assert "policy.paid-in-full" in _rules(answer)  # contact stops for good
    assert "policy.plan-in-good-standing" not in _rules(answer)


def test_cancel_autopay_and_change_the_payment_day(alex, db, stripe_emulator, keys):
    _page, number = _propose(alex)
    _save_card(alex, stripe_emulator, number)
    _accept(alex, number)
    before = _installments(db, number)

    page = alex.get(f"/plans/{number}")
    page = alex.submit(page, {"day": "15"}, action="/day")
    assert "Your payment date has changed." in page.text
    after = _installments(db, number)
    assert {i.due_on.day for i in after} == {15}
    assert [i.amount_minor for i in after] == [i.amount_minor for i in before]
    assert all(a.due_on > b.due_on - timedelta(days=31) for a, b in zip(after, before,
                                                                        strict=True))
    months = [(i.due_on.year, i.due_on.month) for i in after]
    assert len(set(months)) == 12  # still one a month

    page = alex.submit(alex.get(f"/plans/{number}"), action="/autopay/cancel")
    assert "Autopay is off" in page.text and "You pay each installment" in page.text
    plan = _plan(db, number)
    assert plan.status == "active" and not plan.autopay
    changes = db.scalars(select(CaseEvent.data).where(CaseEvent.kind == "plan.changed")
                         .order_by(CaseEvent.id))
    assert [c["change"] for c in changes] == ["payment_day", "autopay_canceled"]
    assert _topics(db).count("plan.changed") == 2
    # Nothing charged without autopay; the reminder asks the borrower to pay.
    assert _run(db, after[0].due_on) == {"reminded": 1}
    assert keys == []
    (reminder,) = _mail(db, "is due on")
    assert "Pay the next installment" in reminder.body
    # ... and the borrower can still pay by hand.
    assert "Pay the next installment" in alex.get(f"/plans/{number}").text


def _pay_by_hand(person, db, stripe_emulator, post_event) -> Payment:
    """The borrower pays the next installment by hand; Stripe's webhook is applied (the job has
    not run since, so the installment is not settled yet)."""
    page = person.submit(person.get("/accounts/LUM-1001/pay"), action="/pay-installment")
    public_id = re.search(r"/payments/([0-9a-f-]{36})", page.url).group(1)
    stripe_emulator.confirm_card(page.soup.find(id="card-form")["data-client-secret"])
    person.submit(page, action="/submit")
    payment = db.scalar(select(Payment).where(Payment.public_id == public_id))
    intent = stripe_emulator.intent(payment.payment_intent_id)
    assert post_event(event("payment_intent.succeeded", intent)).status_code == 200
    db.run(inbox.apply_received)
    return db.scalar(select(Payment).where(Payment.public_id == public_id))


def test_an_installment_whose_payment_succeeded_is_never_paid_twice(
        alex, db, stripe_emulator, post_event, keys):
    _page, number = _propose(alex)
    _save_card(alex, stripe_emulator, number)
    _accept(alex, number)
    first, second = _installments(db, number)[:2]
    paid = _pay_by_hand(alex, db, stripe_emulator, post_event)
    assert paid.status == "succeeded"
    assert _installments(db, number)[0].status == "scheduled"  # not settled yet

    # The job's claim finds the succeeded payment: it settles the installment, charges nothing.
    assert db.run(charging._claim, first.id, first.due_on) == "paid"
    assert keys == []
    first = _installments(db, number)[0]
    assert first.status == "paid" and first.payment_id == paid.id
    assert _events(db).count("plan.installment_paid") == 1
    assert _topics(db).count("plan.installment_paid") == 1

    # Paying by hand again pays the next installment, not the first a second time.
    second_payment = _pay_by_hand(alex, db, stripe_emulator, post_event)
    plan_id = int(number[2:])
    again = db.run(charging.start_installment_payment, _plan(db, number).borrower_id, number)
    assert again.amount_minor == 6917
    rows = _installments(db, number)
    assert rows[1].status == "paid" and rows[1].payment_id == second_payment.id
    assert rows[2].payment_id == again.id
    assert db.scalar(select(func.count(Payment.id)).join(
        Installment, Installment.payment_id == Payment.id).where(
        Installment.plan_id == plan_id, Payment.status == "succeeded")) == 2
    assert _run(db, first.due_on) == {}
    assert keys == []


def test_a_plan_whose_account_is_paid_is_completed_not_broken(alex, db):
    from portal.accounts import ledger

    _page, number = _propose(alex)
    _accept(alex, number, how="hand")
    first = _installments(db, number)[0]

    def paid_otherwise():
        session = db.database.session
        account = session.scalar(select(Account).where(Account.reference == "LUM-1001"))
        ledger.post_credit(account, 83000, "Paid in full elsewhere", charging.JOB,
                           datetime.now(UTC))
        ledger.settle_status(account, charging.JOB)

    db.run(paid_otherwise)
    assert db.scalar(select(Account.status).where(Account.reference == "LUM-1001")) == "paid"
    assert _run(db, first.due_on + timedelta(days=11)).get("broken", 0) == 0
    plan = _plan(db, number)
    assert plan.status == "completed" and plan.ended_at is not None
    kinds = _events(db)
    assert "plan.completed" in kinds and "plan.broken" not in kinds
    assert not _mail(db, "has ended")
    assert _run(db, first.due_on + timedelta(days=40)) == {}


def test_a_settlement_is_charged_its_agreed_amount_or_postponed(alex, db, stripe_emulator,
                                                                keys):
    _page, number = _propose(alex, kind="settlement", months="", settlement="700.00")
    _save_card(alex, stripe_emulator, number)
    _accept(alex, number)
    (only,) = _installments(db, number)

    from portal.accounts import ledger

    def credited():  # the balance drops below the settlement, say by a credit
        session = db.database.session
        account = session.scalar(select(Account).where(Account.reference == "LUM-1001"))
        ledger.post_credit(account, 20000, "Goodwill credit", charging.JOB, datetime.now(UTC))

    db.run(credited)
    assert _balance(db) == 63000
    counts = _run(db, only.due_on)
    assert counts["skipped"] == 1 and "charged" not in counts  # not 630.00, as if it settled
    assert keys == []
    (only,) = _installments(db, number)
    assert only.status == "scheduled" and only.payment_id is None
    assert _plan(db, number).status == "active"
    assert db.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "credit")) == 1


@pytest.mark.parametrize("reached_stripe", [False, True])
def test_after_an_unknown_outcome_the_charge_is_looked_up_and_its_key_kept(
        alex, db, stripe_emulator, monkeypatch, reached_stripe):
    from portal.payments.gateway import GatewayError

    _page, number = _propose(alex)
    _save_card(alex, stripe_emulator, number)
    _accept(alex, number)
    first = _installments(db, number)[0]
    original = StripeGateway.charge_off_session
    lost, sent = [], []

    def timeout(self, *args, **kwargs):  # the first charge's answer is lost
        sent.append(args[5])
        if not lost:
            lost.append(original(self, *args, **kwargs) if reached_stripe else None)
            raise GatewayError("Timeout")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StripeGateway, "charge_off_session", timeout)
    assert _run(db, first.due_on) == {"unknown": 1}
    # The reconciliation finds no PaymentIntent (Stripe's list lagging, or none made): canceled.
    monkeypatch.setattr(StripeGateway, "find_intent", lambda self, key, after: None)
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert db.run(reconcile.reconcile, later) == {"canceled": 1}
    monkeypatch.undo()
    monkeypatch.setattr(StripeGateway, "charge_off_session", timeout)

    counts = _run(db, first.due_on)
    key = f"installment:{first.id}:attempt:1"
    first = _installments(db, number)[0]
    if reached_stripe:  # found at Stripe after all: not charged again
        assert sent == [key] and "charged" not in counts
        payment = db.scalar(select(Payment).where(Payment.id == first.payment_id))
        assert payment.status == "succeeded" and first.status == "paid"
    else:  # charged anew, with the same idempotency key
        assert sent == [key, key] and counts["charged"] == 1
        assert first.status == "processing" and first.attempts == 1


def test_while_a_hold_stops_collection_the_plan_is_neither_charged_nor_broken(
        alex, db, stripe_emulator, keys):
    _page, number = _propose(alex)
    _save_card(alex, stripe_emulator, number, DECLINES)
    _accept(alex, number)
    first = _installments(db, number)[0]
    due = first.due_on
    alex.submit(alex.get("/contact-preferences/"), action="/contact-preferences/stop")
    assert db.scalar(select(ContactHold).where(ContactHold.rule == "us.cease-communication",
                                               ContactHold.ended_at.is_(None)))

    assert "failed" not in _run(db, due) and keys == []
    assert "broken" not in _run(db, due + timedelta(days=15)) and keys == []
    assert _plan(db, number).status == "active"

    # The cease is withdrawn (say on the 9th day after the due date): charged, grace from then.
    alex.submit(alex.get("/contact-preferences/"), action="/contact-preferences/resume")

    def ended_on_day_9():
        session = db.database.session
        hold = session.scalar(select(ContactHold).where(
            ContactHold.rule == "us.cease-communication"))
        assert hold.ended_at is not None
        hold.ended_at = datetime.combine(due + timedelta(days=9), time(12), UTC)

    db.run(ended_on_day_9)
    counts = _run(db, due + timedelta(days=15))
    assert counts["failed"] == 1 and "broken" not in counts
    assert keys == [f"installment:{first.id}:attempt:1"]
    assert "broken" not in _run(db, due + timedelta(days=19))
    assert _plan(db, number).status == "active"
    assert _run(db, due + timedelta(days=20))["broken"] == 1


def test_the_failure_and_broken_plan_emails_go_through_the_contact_rules(
        alex, db, stripe_emulator, monkeypatch):
    _page, number = _propose(alex)
    _save_card(alex, stripe_emulator, number, DECLINES)
    _accept(alex, number)
    due = _installments(db, number)[0].due_on
    # Charged and declined at 09:00 UTC (01:00 in Los Angeles): no email at that hour.
    assert _run(db, due, hour=9) == {"failed": 1}
    assert not _mail(db, "did not go through")
    assert _run(db, due + timedelta(days=3)) == {"failed": 1}  # 11:00 there: told
    assert len(_mail(db, "did not go through")) == 1
    counts = _run(db, due + timedelta(days=11), hour=9)
    assert counts["broken"] == 1
    assert not _mail(db, "has ended")  # not at 01:00; not sent later either (logged)


def test_due_dates_are_the_borrowers_own_dates(alex, db, stripe_emulator, keys):
    _page, number = _propose(alex)
    _save_card(alex, stripe_emulator, number)
    _accept(alex, number)
    first = _installments(db, number)[0]
    # 02:00 UTC on the due date is still the day before in Los Angeles: not due yet.
    early = datetime.combine(first.due_on, time(2), UTC)
    assert "charged" not in db.run(charging.charge_due, None, early) and keys == []
    later = datetime.combine(first.due_on, time(19), UTC)
    assert db.run(charging.charge_due, None, later)["charged"] == 1
    assert keys == [f"installment:{first.id}:attempt:1"]
