"""Paying by card, end to end against localstripe with the real stripe library: the borrower's
pages, Stripe's webhooks (signed by the stripe library's own scheme), the ledger and the record."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text

from portal.accounts.models import Account, LedgerEntry
from portal.cases.models import CaseEvent
from portal.outbox.models import OutboxMessage
from portal.payments import checkout, inbox
from portal.payments.models import Payment, StripeEvent
from tests.fixtures.stripe import event

OWNER = ("DEMO-1001", "1985-04-12")


@pytest.fixture
def alex(person, demo):
    page = person.sign_in(*OWNER)
    assert page.h1 == "Your accounts"
    return person


def _balance(db, reference: str) -> int:
    return db.scalar(select(func.sum(LedgerEntry.amount_minor)).join(Account).where(
        Account.reference == reference))


def _payment(db, public_id) -> Payment:
    return db.scalar(select(Payment).where(Payment.public_id == public_id))


def _apply(db, **options) -> dict:
    """What the worker does: apply the events the webhook kept (each in its own transaction)."""
    return db.run(inbox.apply_received, **options)


def _queued_jobs(db) -> list[tuple[str, str | None]]:
    """The jobs waiting for a worker, with their queueing locks."""
    return [tuple(r) for r in db.execute(text(
        "SELECT task_name, queueing_lock FROM procrastinate_jobs WHERE status = 'todo'"
        " AND task_name LIKE 'payments.%' ORDER BY id")).all()]


def _start(person, amount: str | None = "50.00", reference: str = "LUM-1001"):
    page = person.get(f"/accounts/{reference}/pay")
    fields = {"choice": "other", "amount": amount} if amount else {"choice": "full"}
    return person.submit(page, fields, action="/pay")


def _public_id(page) -> str:
    return re.search(r"/payments/([0-9a-f-]{36})", page.url).group(1)


def _card_and_submit(person, page, stripe_emulator, number="4242424242424242"):
    """What the browser does on the card page: Stripe.js confirms the SetupIntent, then the
    form posts."""
    form = page.soup.find(id="card-form")
    answer = stripe_emulator.confirm_card(form["data-client-secret"], number)
    return answer, person.submit(page, action="/submit")


def _deliver(post_event, stripe_emulator, payment: Payment, times: int = 1,
             event_id: str | None = None):
    """Stripe's payment_intent.succeeded for the payment, built from the PaymentIntent as
    localstripe holds it, and delivered (signed) `times` times."""
    intent = (stripe_emulator.intent(payment.payment_intent_id) if payment.payment_intent_id
              else stripe_emulator.intents_for(payment.public_id)[0])
    outcome = "succeeded" if intent["status"] == "succeeded" else "payment_failed"
    evt = event(f"payment_intent.{outcome}", intent, event_id)
    return [post_event(evt) for _ in range(times)]


def test_pay_50_dollars_with_a_card(alex, db, stripe_emulator, post_event):
    page = alex.get("/accounts/LUM-1001")
    assert "Make a payment" in page.text
    page = alex.get("/accounts/LUM-1001/pay")
    assert page.h1 == "Make a payment"
    assert "We never charge a fee for paying online or by card." in page.text
    assert "$830.00" in page.text

    page = _start(alex, "50.00")
    assert page.h1 == "Pay $50.00", page.text[:400]
    assert "Fee None" in page.text
    public_id = _public_id(page)
    csp = page.response.headers["Content-Security-Policy"]
    assert stripe_emulator.url in csp  # only this page may load Stripe.js

    answer, page = _card_and_submit(alex, page, stripe_emulator)
    assert answer["status"] == "succeeded"
    assert page.h1 == "We are confirming your payment", page.text[:400]
    payment = _payment(db, public_id)
    assert payment.status == "pending" and payment.payment_intent_id.startswith("pi_")
    assert _balance(db, "LUM-1001") == 83000  # nothing posted before Stripe's webhook

    (response,) = _deliver(post_event, stripe_emulator, payment)
    # Kept, and a worker woken in the same transaction; nothing is posted until it applies it.
    assert response.status_code == 200 and response.json == {"received": "queued"}
    assert _queued_jobs(db) == [("payments.apply_events", "payments.apply_events")]
    kept = db.scalar(select(StripeEvent).where(StripeEvent.payment_id == payment.id))
    assert (kept.status, kept.type, kept.attempts) == ("received", "payment_intent.succeeded", 0)
    assert kept.payload["data"]["object"]["id"] == payment.payment_intent_id
    assert _balance(db, "LUM-1001") == 83000
    assert _apply(db) == {"applied": 1}
    kept = db.scalar(select(StripeEvent).where(StripeEvent.payment_id == payment.id))
    assert (kept.status, kept.attempts, kept.error) == ("applied", 1, None)
    assert kept.applied_at is not None
    assert _apply(db) == {}  # nothing left

    page = alex.get(f"/payments/{public_id}")
    assert page.h1 == "Thank you: your payment went through"
    assert "$780.00" in page.text
    assert _balance(db, "LUM-1001") == 78000
    payment = _payment(db, public_id)
    assert payment.status == "succeeded" and payment.charge_id.startswith("ch_")
    entry = db.scalar(select(LedgerEntry).where(LedgerEntry.payment_id == payment.id))
    assert entry.kind == "payment" and entry.amount_minor == -5000
    assert sum(entry.allocation.values()) == 5000

    receipt = alex.get(f"/payments/{public_id}/receipt")
    assert receipt.h1 == "Payment receipt"
    for fact in ("$50.00", "LUM-1001", "Lumen Lending", "$780.00", payment.receipt_number,
                 payment.charge_id):
        assert fact in receipt.text, fact
    pdf = alex.client.get(f"/payments/{public_id}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    assert b"LUM-1001" in pdf.data and b"USD 50.00" in pdf.data

    messages = alex.get("/dev/messages")
    assert f"Your payment receipt {payment.receipt_number}" in messages.text
    kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.account_id == payment.account_id))
    assert {"payment.submitted", "payment.succeeded", "ledger.posted"} <= set(kinds)
    topics = db.scalars(select(OutboxMessage.topic).where(OutboxMessage.account_ref == "LUM-1001"))
    assert topics.count("payment.succeeded") == 1
    account_page = alex.get("/accounts/LUM-1001")
    assert "Your card payment of $50.00 went through" in account_page.text


def test_the_same_webhook_ten_times_posts_once(alex, db, stripe_emulator, post_event):
    page = _start(alex, "25.00")
    public_id = _public_id(page)
    _card_and_submit(alex, page, stripe_emulator)
    payment = _payment(db, public_id)
    answers = _deliver(post_event, stripe_emulator, payment, times=10, event_id="evt_same_ten")
    assert [r.json["received"] for r in answers] == ["queued"] + ["duplicate"] * 9
    assert _apply(db) == {"applied": 1}
    assert _deliver(post_event, stripe_emulator, payment, event_id="evt_same_ten")[0].json == {
        "received": "duplicate"}  # a repeat after it was applied, too
    # Ten more deliveries of the same fact under new event ids change nothing either; the burst
    # finds one job waiting for a worker (its queueing lock) and adds none.
    for _ in range(10):
        assert _deliver(post_event, stripe_emulator, payment)[0].json == {"received": "queued"}
    assert _queued_jobs(db) == [("payments.apply_events", "payments.apply_events")]
    assert _apply(db) == {"applied": 10}
    assert _balance(db, "LUM-1001") == 83000 - 2500
    assert db.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.payment_id == payment.id)) == 1


def test_a_card_declined_at_the_charge_shows_why_and_posts_nothing(alex, db, stripe_emulator,
                                                                   post_event):
    page = _start(alex, "40.00")
    public_id = _public_id(page)
    _answer, page = _card_and_submit(alex, page, stripe_emulator, "4000000000000341")
    assert page.h1 == "Your payment did not go through", page.text[:400]
    assert "declined" in page.text.lower()
    assert "Nothing was taken from your card" in page.text
    payment = _payment(db, public_id)
    assert payment.status == "failed"
    # Stripe's own payment_failed webhook later changes nothing.
    _deliver(post_event, stripe_emulator, payment)
    assert _apply(db) == {"applied": 1}
    assert _balance(db, "LUM-1001") == 83000
    assert db.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.payment_id == payment.id)) == 0
    failed = db.scalars(select(CaseEvent).where(CaseEvent.kind == "payment.failed",
                                                CaseEvent.account_id == payment.account_id))
    assert len(failed) == 1


def test_a_card_refused_in_the_browser_is_never_charged(alex, db, stripe_emulator):
    page = _start(alex, "40.00")
    public_id = _public_id(page)
    answer, page = _card_and_submit(alex, page, stripe_emulator, "4000000000000002")
    assert answer["error"]["code"] == "card_declined"  # Stripe.js shows this message
    # Even if the form is posted anyway, nothing is charged: the card was never set up.
    assert "Your card details were not confirmed" in page.text, page.text[:400]
    assert _payment(db, public_id).status == "created"
    assert _payment(db, public_id).payment_intent_id is None


def test_double_click_on_pay_charges_once(alex, db, stripe_emulator, post_event):
    page = _start(alex, "30.00")
    public_id = _public_id(page)
    stripe_emulator.confirm_card(page.soup.find(id="card-form")["data-client-secret"])
    first = alex.submit(page, action="/submit")
    second = alex.submit(page, action="/submit")
    assert first.h1 == second.h1 == "We are confirming your payment"
    payment = _payment(db, public_id)
    assert len(stripe_emulator.intents_for(public_id)) == 1
    _deliver(post_event, stripe_emulator, payment)
    assert _apply(db) == {"applied": 1}
    assert _balance(db, "LUM-1001") == 83000 - 3000


def test_two_tabs_cannot_both_pay_the_whole_balance(alex, make_person, db, stripe_emulator):
    first = _start(alex, None)  # the whole balance, in the first tab
    second = alex.get("/accounts/LUM-1001/pay")  # the second tab loaded before the first paid
    _card_and_submit(alex, first, stripe_emulator)
    page = alex.submit(second, {"choice": "full"}, action="/pay")
    assert page.status == 422
    assert "already being processed" in page.text
    page = alex.submit(second, {"choice": "other", "amount": "10.00"}, action="/pay")
    assert page.status == 422 and "already being processed" in page.text


def test_3d_secure_waits_for_the_bank_then_posts(alex, db, stripe_emulator, post_event):
    page = _start(alex, "60.00")
    public_id = _public_id(page)
    _answer, page = _card_and_submit(alex, page, stripe_emulator, "4000002500003155")
    assert page.h1 == "Your bank needs to confirm it is you", page.text[:400]
    payment = _payment(db, public_id)
    assert payment.status == "requires_action"
    assert page.soup.find(id="card-action")["data-client-secret"] == payment.intent_client_secret
    stripe_emulator.authenticate(payment.payment_intent_id, payment.intent_client_secret)
    _deliver(post_event, stripe_emulator, payment)
    assert _apply(db) == {"applied": 1}
    assert _payment(db, public_id).status == "succeeded"
    assert _balance(db, "LUM-1001") == 83000 - 6000


def test_the_webhook_can_arrive_before_the_browser_returns(db, demo, make_payment, post_event,
                                                           stripe_emulator):
    from portal.cases.service import Actor
    from portal.payments.gateway import intent_result

    payment = make_payment("LUM-1001", 7000, "submitting", intent_id=None)
    db.execute(Payment.__table__.update().where(Payment.id == payment.id)
               .values(payment_intent_id=None))
    intent = stripe_emulator.client.v1.payment_intents.create({
        "amount": 7000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
        "metadata": {"payment_id": str(payment.public_id)}}).to_dict()
    # Stripe's webhook lands while our own request is still waiting for Stripe's answer.
    assert post_event(event("payment_intent.succeeded", intent)).json["received"] == "queued"
    assert _apply(db) == {"applied": 1}
    # Then our request records Stripe's answer: the success stands, nothing is posted twice.
    db.run(checkout._submitted, payment.id, intent_result(intent), Actor.system("test"))
    assert _payment(db, payment.public_id).status == "succeeded"
    assert _balance(db, "LUM-1001") == 83000 - 7000


def test_paid_in_full_stops_collection_and_a_refund_restores_it(alex, db, stripe_emulator,
                                                                post_event, client):
    page = _start(alex, None)
    public_id = _public_id(page)
    _card_and_submit(alex, page, stripe_emulator)
    payment = _payment(db, public_id)
    assert payment.amount_minor == 83000
    _deliver(post_event, stripe_emulator, payment)
    assert _apply(db) == {"applied": 1}
    account = db.scalar(select(Account).where(Account.reference == "LUM-1001"))
    assert account.status == "paid"
    decision = client.post("/api/v1/contact-decisions", json={
        "account_ref": "LUM-1001", "channel": "letter"},
        headers={"Authorization": "Bearer demo-dialer-key"}).json
    assert not decision["allowed"]
    assert "policy.paid-in-full" in [r["rule"] for r in decision["reasons"]]
    assert "Paid in full" in alex.get("/accounts/LUM-1001").text

    payment = _payment(db, public_id)
    charge = {"id": payment.charge_id, "object": "charge", "payment_intent":
              payment.payment_intent_id, "amount": 83000, "amount_refunded": 10000,
              "refunded": False, "currency": "usd"}
    assert post_event(event("charge.refunded", charge)).status_code == 200
    assert _apply(db) == {"applied": 1}
    assert _balance(db, "LUM-1001") == 10000
    account = db.scalar(select(Account).where(Account.reference == "LUM-1001"))
    assert account.status == "open"
    decision = client.post("/api/v1/contact-decisions", json={
        "account_ref": "LUM-1001", "channel": "letter"},
        headers={"Authorization": "Bearer demo-dialer-key"}).json
    assert "policy.paid-in-full" not in [r["rule"] for r in decision["reasons"]]
    topics = db.scalars(select(OutboxMessage.topic).where(OutboxMessage.account_ref == "LUM-1001"))
    assert "payment.refunded" in topics and "contact.hold.ended" in topics


def test_a_chargeback_reverses_the_payment_and_flags_the_account(db, demo, make_payment,
                                                                 post_event, staff_sign_in,
                                                                 make_person):
    payment = make_payment("NWB-1001", 12000, "succeeded")
    assert _balance(db, "NWB-1001") == 248019 - 12000
    dispute = {"id": "dp_test_1", "object": "dispute", "charge": f"ch_test_{payment.id}",
               "payment_intent": payment.payment_intent_id, "amount": 12000,
               "reason": "fraudulent", "status": "needs_response", "currency": "usd"}
    for _ in range(3):
        assert post_event(event("charge.dispute.created", dispute)).status_code == 200
    assert _apply(db) == {"applied": 3}  # one dispute per charge: only the first takes money
    assert _balance(db, "NWB-1001") == 248019
    account = db.scalar(select(Account).where(Account.reference == "NWB-1001"))
    assert account.chargeback_at is not None
    assert db.scalars(select(OutboxMessage.topic).where(
        OutboxMessage.account_ref == "NWB-1001")).count("payment.charged_back") == 1
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    page = staff.get("/staff/accounts")
    assert "Chargeback" in page.text


@pytest.mark.parametrize(("fields", "message"), [
    ({"choice": "other", "amount": "-5"}, "Enter an amount greater than zero."),
    ({"choice": "other", "amount": "0"}, "Enter an amount greater than zero."),
    ({"choice": "other", "amount": "0.50"}, "The smallest payment we can take is $1.00."),
    ({"choice": "other", "amount": "830.01"}, "You can pay at most $830.00."),
    ({"choice": "other", "amount": "99999999999999"}, "You can pay at most $830.00."),
    ({"choice": "other", "amount": "12.345"}, "Enter the amount as a number, like 50.00."),
    ({"choice": "other", "amount": "NaN"}, "Enter the amount as a number, like 50.00."),
    ({"choice": "other", "amount": "1e3"}, None),  # a number, if an odd one: $1,000 > balance
    ({"choice": "other", "amount": ""}, "Enter the amount as a number, like 50.00."),
    ({"choice": "everything"}, "Not a valid choice."),
])
def test_bad_amounts_are_refused_and_nothing_is_kept(alex, db, fields, message):
    page = alex.submit(alex.get("/accounts/LUM-1001/pay"), fields, action="/pay")
    assert page.status == 422, page.text[:300]
    assert page.h1 == "Make a payment"
    if message:
        assert message in page.text
    assert db.scalar(select(func.count()).select_from(Payment)) == 0


def test_another_borrowers_account_and_payment_are_not_found(alex, db, make_payment):
    other = make_payment("NWB-1002", 1000, "succeeded")
    assert alex.client.get("/accounts/NWB-1002/pay").status_code == 404
    for path in (f"/payments/{other.public_id}", f"/payments/{other.public_id}/receipt",
                 f"/payments/{other.public_id}/card", "/payments/not-a-uuid"):
        assert alex.client.get(path).status_code == 404, path
    token = alex.csrf_token()
    response = alex.client.post(f"/payments/{other.public_id}/submit",
                                data={"csrf_token": token})
    assert response.status_code == 404


def test_webhooks_that_do_not_verify_are_refused(db, demo, make_payment, post_event, client):
    payment = make_payment("LUM-1001", 5000, "pending")
    intent = {"id": payment.payment_intent_id, "object": "payment_intent", "amount": 5000,
              "currency": "usd", "status": "succeeded", "metadata": {}, "latest_charge": "ch_x"}
    evt = event("payment_intent.succeeded", intent)
    assert post_event(evt, secret="whsec_wrong").status_code == 400
    assert post_event(evt, timestamp=1_600_000_000).status_code == 400  # too old: a replay
    assert client.post("/payments/stripe/webhook", data=b"{}",
                       headers={"Content-Type": "application/json"}).status_code == 400
    unknown = dict(intent, id="pi_unknown_to_us")
    assert post_event(event("payment_intent.succeeded", unknown)).status_code == 404
    tampered = dict(intent, amount=1)
    assert post_event(event("payment_intent.succeeded", tampered)).status_code == 404
    assert post_event(event("customer.created", {"id": "cus_1"})).json["received"] == "ignored"
    malformed = event("payment_intent.succeeded", {"id": payment.payment_intent_id})
    assert post_event(malformed).status_code == 400
    assert post_event(event("charge.refunded", "ch_x")).status_code == 400
    # Only the ignored one was kept, and no worker was woken for it.
    assert db.scalars(select(StripeEvent.status)) == ["ignored"]
    assert _queued_jobs(db) == []
    assert _apply(db) == {}
    assert _balance(db, "LUM-1001") == 83000
    assert _payment(db, payment.public_id).status == "pending"


def test_a_refund_before_the_success_it_refunds_gives_the_same_ledger(db, demo, make_payment,
                                                                     post_event):
    payment = make_payment("LUM-1001", 20000, "pending")
    charge = {"id": "ch_early", "object": "charge", "payment_intent": payment.payment_intent_id,
              "amount": 20000, "amount_refunded": 5000, "currency": "usd"}
    intent = {"id": payment.payment_intent_id, "object": "payment_intent", "amount": 20000,
              "currency": "usd", "status": "succeeded", "latest_charge": "ch_early",
              "metadata": {"payment_id": str(payment.public_id)}}
    assert post_event(event("charge.refunded", charge)).status_code == 200
    assert post_event(event("payment_intent.succeeded", intent)).status_code == 200
    assert post_event(event("charge.refunded", dict(charge, amount_refunded=5000))).json[
        "received"] == "queued"
    assert _apply(db) == {"applied": 3}  # oldest first: the refund, then the success, again
    assert _balance(db, "LUM-1001") == 83000 - 20000 + 5000


def test_an_event_that_fails_to_apply_is_kept_undone_and_retried(db, demo, make_payment,
                                                                 post_event, monkeypatch):
    from datetime import UTC, datetime, timedelta

    from portal.accounts import ledger

    payment = make_payment("LUM-1001", 4000, "pending")
    intent = {"id": payment.payment_intent_id, "object": "payment_intent", "amount": 4000,
              "currency": "usd", "status": "succeeded", "latest_charge": "ch_flaky",
              "metadata": {"payment_id": str(payment.public_id)}}
    assert post_event(event("payment_intent.succeeded", intent)).json == {"received": "queued"}
    real_post, real_posts = ledger.post_payment, ledger.post_payments

    def broken(*args, **kwargs):
        raise RuntimeError("the ledger is not there today")

    # Both ways of posting a card payment: one by one, and a batch's (the worker tries first).
    monkeypatch.setattr(ledger, "post_payment", broken)
    monkeypatch.setattr(ledger, "post_payments", broken)
    now = datetime.now(UTC)
    assert _apply(db, now=now) == {"failed": 1}
    kept = db.scalar(select(StripeEvent).where(StripeEvent.payment_id == payment.id))
    assert (kept.status, kept.error, kept.attempts) == ("failed", "RuntimeError", 1)
    assert kept.next_attempt_at == now + timedelta(seconds=30)
    # Whatever the attempt wrote before it failed is undone with it: the payment is as it was.
    assert _payment(db, payment.public_id).status == "pending"
    assert _balance(db, "LUM-1001") == 83000
    assert _apply(db, now=now + timedelta(seconds=29)) == {}  # not due yet
    assert _apply(db, now=now + timedelta(seconds=30)) == {"failed": 1}
    assert db.scalar(select(StripeEvent.next_attempt_at).where(
        StripeEvent.id == kept.id)) == now + timedelta(seconds=90)  # then 60 s later, and so on

    monkeypatch.setattr(ledger, "post_payment", real_post)
    monkeypatch.setattr(ledger, "post_payments", real_posts)
    assert _apply(db, now=now + timedelta(seconds=90)) == {"applied": 1}
    kept = db.scalar(select(StripeEvent).where(StripeEvent.id == kept.id))
    assert (kept.status, kept.error, kept.attempts, kept.next_attempt_at) == (
        "applied", None, 3, None)
    assert _payment(db, payment.public_id).status == "succeeded"
    assert _balance(db, "LUM-1001") == 83000 - 4000
    assert inbox.retry_delay(20) == timedelta(hours=1)  # at most hourly, never given up


def test_an_event_whose_payment_is_gone_by_the_time_it_applies_is_kept_as_failed(
        db, demo, make_payment, post_event):
    from datetime import UTC, datetime, timedelta

    # The endpoint finds the payment by our id in the metadata (it has no PaymentIntent yet)...
    payment = make_payment("LUM-1001", 7000, "submitting", intent_id=None)
    db.execute(Payment.__table__.update().where(Payment.id == payment.id)
               .values(payment_intent_id=None))
    intent = {"id": "pi_another_one", "object": "payment_intent", "amount": 7000,
              "currency": "usd", "status": "succeeded", "latest_charge": "ch_another_one",
              "metadata": {"payment_id": str(payment.public_id)}}
    evt = event("payment_intent.succeeded", intent)
    assert post_event(evt).json == {"received": "queued"}
    # ...but before the worker gets to it, the payment has become another PaymentIntent's.
    db.execute(Payment.__table__.update().where(Payment.id == payment.id)
               .values(payment_intent_id="pi_the_real_one"))
    now = datetime.now(UTC)
    assert _apply(db, now=now) == {"failed": 1}
    kept = db.scalar(select(StripeEvent).where(StripeEvent.id == evt["id"]))
    assert (kept.status, kept.error, kept.attempts) == ("failed", "UnknownPayment", 1)
    assert kept.payload == evt  # never lost: kept verbatim, retried later
    assert _apply(db, now=now + timedelta(hours=2)) == {"failed": 1}
    assert db.scalar(select(StripeEvent.attempts).where(StripeEvent.id == evt["id"])) == 2
    assert _balance(db, "LUM-1001") == 83000
    # Stripe's retry of it, meanwhile, is a duplicate: the one kept is the one retried.
    assert post_event(evt).json == {"received": "duplicate"}


def test_events_are_applied_oldest_first(db, demo, make_payment, post_event, monkeypatch):
    payments = [make_payment("LUM-1001", 1000 + n, "pending") for n in range(3)]
    events = [event("payment_intent.succeeded", {
        "id": p.payment_intent_id, "object": "payment_intent", "amount": p.amount_minor,
        "currency": "usd", "status": "succeeded", "latest_charge": f"ch_order_{p.id}",
        "metadata": {}}) for p in payments]
    for evt in events:
        assert post_event(evt).json == {"received": "queued"}
    assert _apply(db, limit=2) == {"applied": 2, "more": 1}
    assert _apply(db) == {"applied": 1}
    # The ledger's entries, in the order written, are the events' payments in the order sent.
    posted = db.scalars(select(LedgerEntry.payment_id).where(
        LedgerEntry.payment_id.in_([p.id for p in payments])).order_by(LedgerEntry.id))
    assert posted == [p.id for p in payments]


def test_received_events_are_applied_from_the_command_line(app, db, demo, make_payment,
                                                          post_event):
    payment = make_payment("LUM-1001", 2500, "pending")
    intent = {"id": payment.payment_intent_id, "object": "payment_intent", "amount": 2500,
              "currency": "usd", "status": "succeeded", "latest_charge": "ch_cli",
              "metadata": {}}
    assert post_event(event("payment_intent.succeeded", intent)).json == {"received": "queued"}
    result = app.test_cli_runner().invoke(args=["payments", "apply-events"])
    assert result.exit_code == 0, result.output
    assert "applied: 1" in result.output
    assert _payment(db, payment.public_id).status == "succeeded"
    again = app.test_cli_runner().invoke(args=["payments", "apply-events", "--retry-failed"])
    assert again.exit_code == 0 and "nothing to apply" in again.output


def test_an_old_receipt_shows_the_balance_that_payment_left(db, demo, make_payment, person):
    first = make_payment("LUM-1001", 10000, "succeeded")
    make_payment("LUM-1001", 5000, "succeeded")
    person.sign_in("DEMO-1001", "1985-04-12")
    receipt = person.get(f"/payments/{first.public_id}/receipt")
    assert "$730.00" in receipt.text and "$680.00" not in receipt.text


def test_an_ignored_event_is_kept_without_its_personal_data(db, demo, post_event):
    from portal.payments.models import StripeEvent

    customer = {"id": "cus_1", "object": "customer", "name": "Alex Rivera",
                "email": "alex@example.com", "address": {"line1": "350 W 31st St"}}
    evt = event("customer.created", customer)
    assert post_event(evt).json["received"] == "ignored"
    kept = db.scalar(select(StripeEvent).where(StripeEvent.id == evt["id"]))
    assert kept.payload == {} and "Rivera" not in str(kept.payload)


BILLING = {"name": "Robin Q. Cardholder", "email": "robin.card@example.net",
           "phone": "+12135550199",
           "address": {"line1": "77 Billing Lane", "city": "Pasadena", "state": "CA",
                       "postal_code": "91101", "country": "US"}}


def test_kept_stripe_events_carry_no_cardholder_details(alex, db, stripe_emulator, post_event):
    """A real payment on localstripe by a card with billing details; its webhook is kept without
    them (issue 12). localstripe keeps the billing details on the PaymentMethod but leaves them
    off its charges, so the event shows the charge as Stripe does: the PaymentMethod's billing
    details and card copied onto it, and the PaymentMethod expanded."""
    page = _start(alex, "40.00")
    public_id = _public_id(page)
    form = page.soup.find(id="card-form")
    answer = stripe_emulator.confirm_card(form["data-client-secret"], billing_details=BILLING)
    assert answer["status"] == "succeeded", answer
    alex.submit(page, action="/submit")
    payment = _payment(db, public_id)
    intent = stripe_emulator.intent(payment.payment_intent_id)
    method = stripe_emulator.client.v1.payment_methods.retrieve(
        intent["payment_method"]).to_dict()
    assert method["billing_details"]["name"] == BILLING["name"]  # localstripe kept them
    charge = intent["latest_charge"]  # localstripe expands it
    charge.update(billing_details=method["billing_details"], receipt_email=BILLING["email"],
                  payment_method_details={"type": "card", "card": dict(
                      method["card"], checks={"address_line1_check": "pass"})})
    intent.update(latest_charge=charge, payment_method=method, receipt_email=BILLING["email"],
                  shipping={"name": BILLING["name"], "phone": BILLING["phone"],
                            "address": BILLING["address"]})

    assert post_event(event("payment_intent.succeeded", intent)).json == {"received": "queued"}
    assert _apply(db) == {"applied": 1}

    assert _payment(db, public_id).status == "succeeded"
    assert _balance(db, "LUM-1001") == 83000 - 4000
    stored = db.scalar(text("SELECT string_agg(payload::text, '') FROM stripe_event"))
    assert payment.payment_intent_id in stored and charge["id"] in stored
    for value in ("Cardholder", "robin.card", "2135550199", "Billing Lane", "Pasadena", "91101"):
        assert value not in stored, value
    kept = db.scalar(select(StripeEvent).where(StripeEvent.payment_id == payment.id))
    card = kept.payload["data"]["object"]["latest_charge"]["payment_method_details"]["card"]
    assert card["last4"] == "4242" and "exp_year" not in card and "checks" not in card
