"""Issue 18, faults: Stripe (localstripe) down or too slow, at the card page and at the charge.
The borrower reads that nothing was charged, the payment waits where it was, nothing reaches the
ledger, and once Stripe answers again the same payment goes through, charged once."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Account, LedgerEntry
from portal.payments.gateway import EXTENSION, StripeGateway
from portal.payments.models import Payment
from tests.test_payments import OWNER, _card_and_submit, _public_id, _start

NOTHING_CHARGED = "We could not reach our card processor. Nothing was charged."


@pytest.fixture
def alex(person, demo):
    assert person.sign_in(*OWNER).h1 == "Your accounts"
    return person


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: connections are refused


class _Stalls(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the standard library's name
        self.server.stalled.wait(10)  # longer than the gateway's timeout

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_stripe():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stalls)
    server.stalled = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.stalled.set()
    server.shutdown()
    server.server_close()


def _unreachable(app, monkeypatch, api_base: str, timeout: float = 20) -> None:
    real = app.extensions[EXTENSION]
    monkeypatch.setitem(app.extensions, EXTENSION, StripeGateway(
        "sk_test_down", real.publishable_key, real.webhook_secret, api_base=api_base,
        js_url=real.js_url, timeout=timeout))


def _ledger(db) -> int:
    return db.scalar(select(func.count()).select_from(LedgerEntry).join(Account).where(
        Account.reference == "LUM-1001"))


@pytest.mark.parametrize("how", ["down", "slow"])
def test_stripe_unreachable_at_the_card_page_says_nothing_was_charged(
        app, alex, db, monkeypatch, slow_stripe, how):
    entries = _ledger(db)
    api_base = f"http://127.0.0.1:{_closed_port()}" if how == "down" else slow_stripe
    _unreachable(app, monkeypatch, api_base, timeout=1)
    started = time.monotonic()
    page = _start(alex, "50.00")
    assert time.monotonic() - started < 8  # the borrower is not kept waiting on Stripe
    assert page.status == 503 and NOTHING_CHARGED in page.text
    payment = db.scalar(select(Payment).where(Payment.public_id == _public_id(page)))
    assert payment.status == "created" and payment.payment_intent_id is None
    assert _ledger(db) == entries
    monkeypatch.undo()  # Stripe is back: the same payment's card page opens
    again = alex.get(page.url)
    assert again.status == 200 and again.soup.find(id="card-form") is not None


def test_stripe_down_at_the_charge_charges_nothing_and_the_retry_charges_once(
        app, alex, db, monkeypatch, stripe_emulator):
    page = _start(alex, "50.00")
    public_id = _public_id(page)
    form = page.soup.find(id="card-form")
    assert stripe_emulator.confirm_card(form["data-client-secret"], "4242424242424242")[
        "status"] == "succeeded"
    _unreachable(app, monkeypatch, f"http://127.0.0.1:{_closed_port()}")
    refused = alex.submit(page, action="/submit")
    assert NOTHING_CHARGED in refused.text
    payment = db.scalar(select(Payment).where(Payment.public_id == public_id))
    assert payment.status == "created" and payment.payment_intent_id is None
    assert stripe_emulator.intents_for(public_id) == []  # no charge was made
    monkeypatch.undo()
    answer, done = _card_and_submit(alex, alex.get(refused.url), stripe_emulator)
    assert done.h1 == "We are confirming your payment", done.text[:300]
    assert len(stripe_emulator.intents_for(public_id)) == 1  # charged once
