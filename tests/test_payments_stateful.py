"""Stripe's webhooks and the borrower's browser in any order, any number of times: after every
step the ledger says what really happened at Stripe, to the cent, and each payment is posted once.

The truth lives in the state machine: which charges succeeded, how much of each was refunded or
charged back. Events reach the real webhook endpoint, signed by the stripe library's own scheme,
and are applied as the worker applies them (`apply_received`) once the endpoint has kept them.
Each example runs inside a savepoint of its own, rolled back when it ends, so every example starts
from the demo data: LUM-1001 owing USD 830.00.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from portal.accounts.models import Account, EntryKind, LedgerEntry
from portal.extensions import db as database
from portal.money import Money
from portal.payments.inbox import apply_received
from portal.payments.models import Payment
from tests.fixtures.stripe import event

REFERENCE = "LUM-1001"
OWNER = ("DEMO-1001", "1985-04-12")
START = 83000
amounts = st.integers(100, 60000)
#: What a borrower may type: sometimes more than is owed, which the pay page refuses.
typed_amounts = st.integers(100, 90000)


@dataclass
class Truth:
    """One payment as Stripe knows it, and what of it has been delivered to us."""

    public_id: str
    amount: int
    intent_id: str
    charge_id: str
    initial: str  # pending (made by the factory) or created (started in the browser)
    success_delivered: bool = False
    failure_delivered: bool = False
    refunded_at_stripe: int = 0  # the charge's cumulative amount_refunded, as last delivered
    refunded: int = 0  # what the ledger should have given back for refunds
    dispute_amount: int | None = None
    disputed: bool = False  # a dispute reached the ledger
    charged_back: int = 0
    #: Whether our row has one of Stripe's ids yet (a dispute carries nothing else to find it by).
    known_to_us: bool = False

    @property
    def status(self) -> str:
        if self.success_delivered:
            return "succeeded"
        return "failed" if self.failure_delivered else self.initial

    @property
    def room(self) -> int:
        return self.amount - self.refunded - self.charged_back

    def intent(self, status: str) -> dict:
        """The PaymentIntent as Stripe sends it in a payment_intent.* event."""
        obj = {"id": self.intent_id, "object": "payment_intent", "amount": self.amount,
               "currency": "usd", "status": status, "client_secret": None,
               "metadata": {"payment_id": self.public_id},
               "latest_charge": self.charge_id if status == "succeeded"
               else f"{self.charge_id}_declined"}
        if status == "requires_payment_method":
            obj["last_payment_error"] = {"code": "card_declined",
                                         "message": "Your card was declined."}
        return obj

    def charge(self) -> dict:
        return {"id": self.charge_id, "object": "charge", "payment_intent": self.intent_id,
                "amount": self.amount, "amount_refunded": self.refunded_at_stripe,
                "refunded": self.refunded_at_stripe == self.amount, "currency": "usd",
                "metadata": {"payment_id": self.public_id}}

    def dispute(self) -> dict:
        return {"id": f"dp_{self.charge_id}", "object": "dispute", "charge": self.charge_id,
                "payment_intent": self.intent_id, "amount": self.dispute_amount,
                "reason": "fraudulent", "status": "needs_response", "currency": "usd"}


HEADINGS = {"succeeded": "Thank you: your payment went through",
            "failed": "Your payment did not go through",
            "pending": "We are confirming your payment"}


def _ledger_facts(account_id: int):
    """The balance, the 'payment' entries per payment, each payment row, and the account."""
    session = database.session
    balance = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
                             .where(LedgerEntry.account_id == account_id))
    postings = dict(session.execute(
        select(Payment.public_id, func.count()).join(LedgerEntry, LedgerEntry.payment_id ==
                                                     Payment.id)
        .where(LedgerEntry.kind == EntryKind.PAYMENT, LedgerEntry.account_id == account_id)
        .group_by(Payment.public_id)).all())
    payments = {str(p.public_id): (p.status, p.refunded_minor, p.charged_back_minor)
                for p in session.scalars(select(Payment).where(Payment.account_id == account_id))}
    account = session.get(Account, account_id)
    return (int(balance), {str(k): v for k, v in postings.items()}, payments,
            str(account.status), account.chargeback_at is not None)


def test_webhooks_and_the_browser_in_any_order_keep_the_ledger_true(
        app, db, demo, person, make_payment, post_event):
    page = person.sign_in(*OWNER)
    assert page.h1 == "Your accounts"
    account_id = db.scalar(select(Account.id).where(Account.reference == REFERENCE))
    # The connection holding the test's outer transaction: each example takes a savepoint on it.
    connection = db.database.session.session_factory.kw["bind"]

    def formatted(minor: int) -> str:
        with app.test_request_context():
            from portal.web.i18n import money

            return money(Money(minor, "USD"))

    class PaymentsAndWebhooks(RuleBasedStateMachine):
        payments = Bundle("payments")

        def __init__(self):
            super().__init__()
            self.example = connection.begin_nested()  # rolled back in teardown
            self.truth: dict[str, Truth] = {}
            self.delivered: list[dict] = []  # every event we answered 'applied', verbatim
            self.bounced: list[tuple[dict, Truth]] = []  # refused with 404, to be retried

        def teardown(self):
            self.example.rollback()

        # --- the model's arithmetic ---------------------------------------------------------

        def balance(self) -> int:
            return START - sum(t.amount - t.refunded - t.charged_back
                               for t in self.truth.values() if t.success_delivered)

        def in_flight(self) -> int:
            return sum(t.amount for t in self.truth.values() if t.status == "pending")

        def deliver(self, evt: dict) -> None:
            """The endpoint keeps the event; the worker applies it (this one, and only it)."""
            response = post_event(evt)
            assert response.status_code == 200, (response.status_code, response.data)
            assert response.json == {"received": "queued"}, (evt["type"], response.json)
            assert db.run(apply_received) == {"applied": 1}, evt["type"]
            self.delivered.append(evt)

        def succeeds(self, truth: Truth) -> None:
            """Whatever arrives first, a refund or a dispute means the charge succeeded."""
            truth.success_delivered = True

        def new_truth(self, public_id: str, amount: int, initial: str) -> Truth:
            tag = uuid.uuid4().hex[:16]
            truth = Truth(public_id, amount, f"pi_sm_{tag}", f"ch_sm_{tag}", initial,
                          known_to_us=initial == "pending")
            self.truth[public_id] = truth
            return truth

        # --- payments come to be --------------------------------------------------------------

        @rule(target=payments, amount=amounts)
        def charge_accepted_by_stripe(self, amount):
            """The borrower's card was charged; Stripe's webhook is still to come."""
            public_id = uuid.uuid4()
            truth = self.new_truth(str(public_id), amount, "pending")
            make_payment(REFERENCE, amount, "pending", public_id=public_id,
                         intent_id=truth.intent_id)
            return str(public_id)

        @precondition(lambda self: self.balance() - self.in_flight() > 0)
        @rule(target=payments)
        def charge_for_the_rest(self):
            """A payment of everything still owed (and not already on its way): paid in full."""
            public_id = uuid.uuid4()
            amount = self.balance() - self.in_flight()
            truth = self.new_truth(str(public_id), amount, "pending")
            make_payment(REFERENCE, amount, "pending", public_id=public_id,
                         intent_id=truth.intent_id)
            return str(public_id)

        @rule(target=payments, amount=typed_amounts)
        def start_in_the_browser(self, amount):
            """The borrower chooses an amount on the pay page: allowed only within what is owed
            and not already being paid; the card form opens (Stripe has charged nothing yet)."""
            page = person.get(f"/accounts/{REFERENCE}/pay")
            payable = self.balance() - self.in_flight()
            if payable <= 0:  # nothing to choose: the page says why, and has no form
                assert not page.soup.find("form", action=re.compile("/pay$")), page.text[:300]
                assert ("already being processed" if self.in_flight()
                        else "nothing left to pay") in page.text
                return multiple()
            page = person.submit(page, {"choice": "other", "amount": f"{amount / 100:.2f}"},
                                 action="/pay")
            if self.balance() <= 0 or amount > payable:
                assert page.status == 422, page.text[:300]
                assert page.h1 == "Make a payment"
                return multiple()  # nothing new for the bundle
            assert page.status == 200 and page.h1 == f"Pay {formatted(amount)}", page.text[:300]
            public_id = re.search(r"/payments/([0-9a-f-]{36})/card", page.url).group(1)
            self.new_truth(public_id, amount, "created")
            return public_id

        # --- what Stripe tells us ------------------------------------------------------------

        @rule(public_id=payments)
        def deliver_success(self, public_id):
            truth = self.truth[public_id]
            self.deliver(event("payment_intent.succeeded", truth.intent("succeeded")))
            self.succeeds(truth)
            truth.known_to_us = True

        @rule(public_id=payments)
        def deliver_failure(self, public_id):
            """A declined attempt: a late one after a success changes nothing."""
            truth = self.truth[public_id]
            self.deliver(event("payment_intent.payment_failed",
                               truth.intent("requires_payment_method")))
            truth.failure_delivered = truth.known_to_us = True

        @rule(public_id=payments, more=st.integers(0, 40000))
        def deliver_refund(self, public_id, more):
            """charge.refunded with the charge's cumulative amount_refunded: the same as last time,
            or more (never more than the charge), and perhaps before the success it refunds."""
            truth = self.truth[public_id]
            truth.refunded_at_stripe = min(truth.amount, max(truth.refunded_at_stripe + more, 1))
            self.deliver(event("charge.refunded", truth.charge()))
            self.succeeds(truth)
            truth.known_to_us = True  # by the charge's id
            truth.refunded += max(0, min(truth.refunded_at_stripe - truth.refunded, truth.room))

        @rule(public_id=payments, data=st.data())
        def deliver_dispute(self, public_id, data):
            """charge.dispute.created: one dispute per charge, delivered once or again and again
            (under new event ids); only the first takes money back."""
            truth = self.truth[public_id]
            if truth.dispute_amount is None:
                truth.dispute_amount = data.draw(st.integers(1, truth.amount), label="disputed")
            self.dispute(truth, event("charge.dispute.created", truth.dispute()))

        def dispute(self, truth: Truth, evt: dict) -> None:
            if not truth.known_to_us:
                # A dispute names only Stripe's ids, and we have none yet (the browser has not
                # come back, no other event came first): refused unrecorded, for Stripe to retry.
                response = post_event(evt)
                assert response.status_code == 404, (response.status_code, response.json)
                self.bounced.append((evt, truth))
                return
            self.deliver(evt)
            self.succeeds(truth)
            if not truth.disputed:
                truth.disputed = True
                truth.charged_back = min(truth.dispute_amount, truth.room)

        @precondition(lambda self: self.delivered)
        @rule(data=st.data())
        def redeliver(self, data):
            """Stripe retries an event it already sent: same id, same body, a no-op."""
            evt = data.draw(st.sampled_from(self.delivered), label="again")
            response = post_event(evt)
            assert response.status_code == 200
            assert response.json == {"received": "duplicate"}, evt["type"]
            assert db.run(apply_received) == {}  # nothing kept, nothing to apply

        @precondition(lambda self: self.bounced)
        @rule(data=st.data())
        def retry_refused(self, data):
            """Stripe retries an event we refused: it applies once we know the payment."""
            evt, truth = data.draw(st.sampled_from(self.bounced), label="retry")
            self.bounced.remove((evt, truth))
            self.dispute(truth, evt)

        # --- the borrower looks ---------------------------------------------------------------

        @rule(public_id=payments)
        def borrower_opens_the_payment(self, public_id):
            truth = self.truth[public_id]
            page = person.get(f"/payments/{public_id}")
            assert page.status == 200
            if truth.status == "created":  # not submitted yet: the card form again
                assert page.h1 == f"Pay {formatted(truth.amount)}"
                return
            assert page.h1 == HEADINGS[truth.status], (truth, page.text[:300])
            shown = page.soup.find("dt", string=re.compile("^Balance")).find_next("dd")
            assert shown.get_text(strip=True) == formatted(self.balance())

        # --- after every step -----------------------------------------------------------------

        @invariant()
        def the_ledger_is_the_truth(self):
            balance, postings, payments, status, flagged = db.run(_ledger_facts, account_id)
            # The ledger: what succeeded, less what was refunded and charged back, to the cent.
            assert balance == self.balance(), (balance, self.balance(), self.truth)
            # One 'payment' entry per payment, and only for a success Stripe told us about.
            assert all(count == 1 for count in postings.values()), postings
            assert set(postings) == {p for p, t in self.truth.items() if t.success_delivered}
            assert set(payments) == set(self.truth)
            for public_id, truth in self.truth.items():
                assert payments[public_id] == (truth.status, truth.refunded,
                                               truth.charged_back), truth
            # Paid in full at zero (or less), open again as soon as a reversal means it owes.
            assert status == ("paid" if balance <= 0 else "open")
            assert flagged == any(t.disputed for t in self.truth.values())

    run_state_machine_as_test(PaymentsAndWebhooks, settings=settings(
        max_examples=40, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
