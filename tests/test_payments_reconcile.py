"""A payment row exists before Stripe is called, so whatever breaks between the two (a crash, a
timeout, a lost webhook) leaves a record that the reconciliation job resolves against Stripe."""

from __future__ import annotations

import re
import socket
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Account, LedgerEntry
from portal.cases.models import CaseEvent
from portal.payments import inbox, reconcile
from portal.payments.gateway import StripeGateway, install
from portal.payments.models import Payment
from tests.fixtures.stripe import event

LATER = timedelta(minutes=10)


def _balance(db, reference: str) -> int:
    return db.scalar(select(func.sum(LedgerEntry.amount_minor)).join(Account).where(
        Account.reference == reference))


def _payment(db, public_id) -> Payment:
    return db.scalar(select(Payment).where(Payment.public_id == public_id))


class _ChargeTimesOut(StripeGateway):
    """The real gateway, except that creating the charge goes to a Stripe that never answers."""

    def __init__(self, real: StripeGateway, silent: StripeGateway):
        self.__dict__.update(real.__dict__)
        self.silent = silent

    def charge(self, *args, **kwargs):
        return self.silent.charge(*args, **kwargs)


@contextmanager
def silent_stripe(app, only_the_charge: bool = False):
    """Stripe that accepts the connection and never answers: calls time out (all of them, or
    only the one that creates the charge)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []

    def hold():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=hold, daemon=True).start()
    real = app.extensions["portal.payments.gateway"]
    silent = StripeGateway("sk_test_emulator", "pk_test_emulator",
                           app.config["STRIPE_WEBHOOK_SECRET"],
                           api_base=f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.5)
    install(app, _ChargeTimesOut(real, silent) if only_the_charge else silent)
    try:
        yield
    finally:
        install(app, real)
        listener.close()
        for conn in held:
            conn.close()


@pytest.fixture
def alex(person, demo):
    person.sign_in("DEMO-1001", "1985-04-12")
    return person


def _to_card_page(person, amount="45.00"):
    page = person.submit(person.get("/accounts/LUM-1001/pay"),
                         {"choice": "other", "amount": amount}, action="/pay")
    assert page.h1 == f"Pay ${amount}", page.text[:300]
    return page, re.search(r"/payments/([0-9a-f-]{36})", page.url).group(1)


def test_stripe_timing_out_on_create_leaves_a_payment_the_job_resolves(
        alex, app, db, stripe_emulator, post_event):
    page, public_id = _to_card_page(alex)
    stripe_emulator.confirm_card(page.soup.find(id="card-form")["data-client-secret"])
    with silent_stripe(app, only_the_charge=True):
        page = alex.submit(page, action="/submit")
    # The borrower is told it is being confirmed, not that it failed: it may have gone through.
    assert page.h1 == "We are confirming your payment", page.text[:300]
    assert _payment(db, public_id).status == "submitting"
    # Meanwhile, the charge did reach Stripe (only the answer was lost), as Stripe would have it.
    intent = stripe_emulator.client.v1.payment_intents.create({
        "amount": 4500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
        "metadata": {"payment_id": public_id}}).to_dict()

    counts = db.run(reconcile.reconcile, datetime.now(UTC) + LATER)
    assert counts == {"resolved": 1}
    payment = _payment(db, public_id)
    assert payment.status == "succeeded" and payment.payment_intent_id == intent["id"]
    assert _balance(db, "LUM-1001") == 83000 - 4500
    # Stripe's webhook for it, arriving late, changes nothing; nor does another run of the job.
    assert post_event(event("payment_intent.succeeded", intent)).json == {"received": "queued"}
    assert db.run(inbox.apply_received) == {"applied": 1}
    assert db.run(reconcile.reconcile, datetime.now(UTC) + LATER) == {}
    assert _balance(db, "LUM-1001") == 83000 - 4500


def test_a_charge_that_never_reached_stripe_is_closed_as_not_charged(alex, app, db,
                                                                     stripe_emulator):
    page, public_id = _to_card_page(alex, "20.00")
    stripe_emulator.confirm_card(page.soup.find(id="card-form")["data-client-secret"])
    with silent_stripe(app, only_the_charge=True):
        alex.submit(page, action="/submit")
    assert db.run(reconcile.reconcile, datetime.now(UTC)) == {}  # not stale yet: left alone
    assert db.run(reconcile.reconcile, datetime.now(UTC) + LATER) == {"canceled": 1}
    payment = _payment(db, public_id)
    assert payment.status == "canceled"
    page = alex.get(f"/payments/{public_id}")
    assert page.h1 == "Your payment did not go through"
    assert "Nothing was charged" in page.text
    assert _balance(db, "LUM-1001") == 83000


def test_a_lost_webhook_is_made_good_from_stripe(alex, db, stripe_emulator):
    page, public_id = _to_card_page(alex, "15.00")
    stripe_emulator.confirm_card(page.soup.find(id="card-form")["data-client-secret"])
    alex.submit(page, action="/submit")
    assert _payment(db, public_id).status == "pending"  # and Stripe's webhook never comes
    assert db.run(reconcile.reconcile, datetime.now(UTC) + LATER) == {"resolved": 1}
    assert _payment(db, public_id).status == "succeeded"
    assert _balance(db, "LUM-1001") == 83000 - 1500


def test_an_abandoned_card_form_is_closed_after_an_hour(alex, db):
    _page, public_id = _to_card_page(alex, "10.00")
    assert db.run(reconcile.reconcile, datetime.now(UTC) + LATER) == {}
    assert db.run(reconcile.reconcile, datetime.now(UTC) + timedelta(hours=2)) == {"canceled": 1}
    assert _payment(db, public_id).status == "canceled"


def test_stripe_down_postpones_reconciliation_without_changing_anything(alex, app, db,
                                                                        stripe_emulator):
    page, public_id = _to_card_page(alex, "12.00")
    stripe_emulator.confirm_card(page.soup.find(id="card-form")["data-client-secret"])
    alex.submit(page, action="/submit")
    with silent_stripe(app):
        assert db.run(reconcile.reconcile, datetime.now(UTC) + LATER) == {"postponed": 1}
    assert _payment(db, public_id).status == "pending"
    assert app.extensions["portal.payments.gateway"].api_base == stripe_emulator.url


def test_stripe_unreachable_before_the_charge_keeps_the_card_and_charges_nothing(
        alex, app, db, stripe_emulator):
    page, public_id = _to_card_page(alex, "11.00")
    stripe_emulator.confirm_card(page.soup.find(id="card-form")["data-client-secret"])
    with silent_stripe(app):
        page = alex.submit(page, action="/submit")
    assert _payment(db, public_id).status == "created"
    assert _payment(db, public_id).setup_intent_id is not None  # the card is still set up
    page = alex.get(f"/payments/{public_id}/card")
    assert "We could not reach our card processor" in page.text
    page = alex.submit(page, action="/submit")  # Stripe is back: the same card, one charge
    assert page.h1 == "We are confirming your payment", page.text[:300]
    assert len(stripe_emulator.intents_for(public_id)) == 1


def test_a_bank_check_left_unfinished_stops_blocking_the_balance(alex, db, stripe_emulator,
                                                                 post_event):
    page, public_id = _to_card_page(alex, "830.00")  # the whole balance, with a 3-D Secure card
    stripe_emulator.confirm_card(page.soup.find(id="card-form")["data-client-secret"],
                                 "4000002500003155")
    page = alex.submit(page, action="/submit")
    assert page.h1 == "Your bank needs to confirm it is you"
    # Back from the bank, the page waits for Stripe instead of opening the check again.
    back = alex.get(f"/payments/{public_id}?after=bank")
    assert back.h1 == "We are confirming your payment"
    assert back.soup.find(id="card-action") is None
    assert "after=bank" in back.soup.find(id="payment-status")["hx-get"]
    # An hour on, the unfinished check no longer blocks paying: it is closed, not charged.
    assert db.run(reconcile.reconcile, datetime.now(UTC) + timedelta(hours=2)) == {"canceled": 1}
    assert _payment(db, public_id).status == "canceled"
    assert "already being processed" not in alex.get("/accounts/LUM-1001/pay").text
    kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.kind == "payment.canceled"))
    assert kinds == ["payment.canceled"]
    # If the borrower finishes the check after all, the charge is posted, not lost.
    payment = _payment(db, public_id)
    stripe_emulator.authenticate(payment.payment_intent_id, payment.intent_client_secret)
    intent = stripe_emulator.intent(payment.payment_intent_id)
    assert post_event(event("payment_intent.succeeded", intent)).status_code == 200
    db.run(inbox.apply_received)
    assert _payment(db, public_id).status == "succeeded"
    assert _balance(db, "LUM-1001") == 0


def test_a_receipt_that_cannot_be_made_never_holds_up_the_payment(alex, db, stripe_emulator,
                                                                   post_event, monkeypatch):
    from portal.payments import receipts

    def broken(payment):
        raise RuntimeError("template missing")

    # What both the one-at-a-time and the batch path call to draw the receipt up.
    monkeypatch.setattr(receipts, "receipt_of", broken)
    page, public_id = _to_card_page(alex, "25.00")
    stripe_emulator.confirm_card(page.soup.find(id="card-form")["data-client-secret"])
    alex.submit(page, action="/submit")
    payment = _payment(db, public_id)
    intent = stripe_emulator.intent(payment.payment_intent_id)
    assert post_event(event("payment_intent.succeeded", intent)).status_code == 200
    db.run(inbox.apply_received)
    assert _payment(db, public_id).status == "succeeded"
    assert _balance(db, "LUM-1001") == 83000 - 2500
