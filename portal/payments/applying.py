"""What Stripe tells us about a payment, applied to our row: a success posted to the ledger once,
a failure, a refund or a chargeback reversed. Order-free: a refund that arrives before the success
it refunds applies the success first. Called by the inbox, the reconciliation and plans."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from portal.accounts import ledger
from portal.accounts.models import Account, AccountStatus, Borrower
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, Pending, record, record_many
from portal.contact import service as contact
from portal.extensions import db
from portal.payments import charges, rules
from portal.payments.gateway import (
    IntentResult,
)
from portal.payments.models import Payment
from portal.payments.receipts import email_receipt
from portal.payments.rules import PaymentStatus as S

log = logging.getLogger("portal.payments")


SYSTEM = Actor.system("stripe-webhook")
#: How a chargeback's reversing ledger entry begins (a refund's begins "Refund of"): statements
#: tell the two apart by it.
CHARGEBACK_PREFIX = "Chargeback"


class UnknownPayment(Exception):
    """A Stripe event about a PaymentIntent or charge that is not one of ours."""


# --- what Stripe tells us ------------------------------------------------------------------------












def _lock_account(payment: Payment) -> Account:
    """Two payments of one account applied at once must not both allocate against the same
    outstanding fees: the account row queues them (always after the payment row, as `_claim`).
    Read whole as it is locked: the ledger needs it next."""
    with db.session.no_autoflush:  # the payment's changes go in one UPDATE, after the lock
        return db.session.scalar(select(Account).where(Account.id == payment.account_id)
                                 .with_for_update())


def _succeed(payment: Payment, actor: Actor, at: datetime,
             receipts: list[Payment] | None = None) -> None:
    """Post the payment once: the status says whether it was, the ledger's unique index backs it.
    `receipts`: the caller emails the receipt (`email_receipts`, for a batch), not this call."""
    if payment.status == S.SUCCEEDED or not rules.PAYMENT.allows(payment.status, S.SUCCEEDED):
        return
    account = _lock_account(payment)  # held: the session keeps only what is in use
    charges.move(payment, S.SUCCEEDED)
    payment.succeeded_at, payment.failure_message = at, None
    entry = ledger.post_payment(account, payment.amount_minor, payment.id,
                                f"Card payment {payment.receipt_number}", actor, at)
    event = record(actor, EventKind.PAYMENT_SUCCEEDED, borrower_id=payment.borrower_id,
                   account_id=payment.account_id,
                   data=dict(charges.facts(payment), allocation=entry.allocation))
    charges.announce("payment.succeeded", payment, event, allocation=entry.allocation)
    if receipts is not None:
        receipts.append(payment)
    else:
        try:
            with db.session.begin_nested():  # a receipt that cannot be made never holds it up
                email_receipt(payment)
        except Exception as exc:  # noqa: BLE001
            log.warning("payment %s: receipt email not sent: %s", payment.id, type(exc).__name__)
    _settle(payment, actor)


def can_succeed(payment: Payment, result: IntentResult) -> bool:
    """Whether `succeed_many` may post this payment: Stripe reports it succeeded, for our amount,
    and our lifecycle lets it succeed now (anything else goes through `apply_intent`)."""
    return (result.status == "succeeded" and result.id == payment.payment_intent_id
            and (result.amount, result.currency) == (payment.amount_minor, payment.currency)
            and payment.status != S.SUCCEEDED
            and rules.PAYMENT.allows(payment.status, S.SUCCEEDED))


def succeed_many(succeeded: list[tuple[Payment, IntentResult, datetime]], actor: Actor,
                 receipts: list[Payment]) -> None:
    """`apply_intent` for many succeeded PaymentIntents at once (a batch of Stripe events), each
    payment locked by the caller and passing `can_succeed`: their accounts locked in one order,
    the same rows `_succeed` writes (status, ledger entry, case events, outbox message), in a few
    statements for them all; the payments go to `receipts` for the caller to email. A payment's
    `ledger.posted` events come before their `payment.succeeded` ones in its account's record."""
    account_ids = sorted({payment.account_id for payment, _r, _at in succeeded})
    with db.session.no_autoflush:  # the payments' changes go in one flush, after the locks
        accounts = {a.id: a for a in db.session.scalars(  # held: the ledger needs them
            select(Account).where(Account.id.in_(account_ids)).order_by(Account.id)
            .with_for_update())}
    postings = []
    for payment, result, at in succeeded:
        charges.adopt(payment, result)
        charges.move(payment, S.SUCCEEDED)
        payment.succeeded_at, payment.failure_message = at, None
        postings.append(ledger.CardPayment(accounts[payment.account_id], payment.amount_minor,
                                           payment.id, f"Card payment {payment.receipt_number}",
                                           at))
    parts = ledger.post_payments(postings, actor)
    payments = [payment for payment, _r, _at in succeeded]
    events = record_many(actor, [
        Pending(EventKind.PAYMENT_SUCCEEDED, payment.borrower_id, payment.account_id,
                dict(charges.facts(payment), allocation=allocation))
        for payment, allocation in zip(payments, parts, strict=True)])
    charges.announce_many("payment.succeeded", [
        (payment, event_id, {"allocation": allocation})
        for payment, event_id, allocation in zip(payments, events, parts, strict=True)])
    receipts.extend(payments)
    owed = ledger.balances_of(account_ids)
    for account_id in account_ids:  # paid in full (rare): as `_settle` does it, one by one
        if accounts[account_id].status != AccountStatus.OPEN or owed[account_id] <= 0:
            _settle(next(p for p in payments if p.account_id == account_id), actor)


def _settle(payment: Payment, actor: Actor) -> None:
    account = db.session.get(Account, payment.account_id)
    if ledger.settle_status(account, actor):
        contact.reconcile(db.session.get(Borrower, payment.borrower_id), actor)


def _find(intent_id: str | None, public_id: str | None = None,
          charge_id: str | None = None) -> Payment:
    """Our payment, locked, by PaymentIntent id, our own id in its metadata, or charge id."""
    conditions = []
    if intent_id:
        conditions.append(Payment.payment_intent_id == intent_id)
    if charge_id:
        conditions.append(Payment.charge_id == charge_id)
    for condition in conditions:
        payment = db.session.scalar(select(Payment).where(condition).with_for_update())
        if payment is not None:
            return payment
    if public_id:
        try:
            key = uuid.UUID(public_id)
        except ValueError:
            raise UnknownPayment(intent_id or charge_id) from None
        payment = db.session.scalar(
            select(Payment).where(Payment.public_id == key).with_for_update())
        if payment is not None and payment.payment_intent_id in (None, intent_id):
            return payment
    raise UnknownPayment(intent_id or charge_id)


def apply_intent(result: IntentResult, actor: Actor, at: datetime | None = None,
                 receipts: list[Payment] | None = None) -> Payment:
    """Bring our payment in line with a PaymentIntent as Stripe reports it. `receipts`: collect
    the payment for the caller to email its receipt, instead of emailing it here."""
    payment = _find(result.id, result.payment_id)
    if result.amount != payment.amount_minor or result.currency != payment.currency:
        log.error("payment %s: Stripe reports %s %s, we asked for %s %s", payment.id,
                  result.amount, result.currency, payment.amount_minor, payment.currency)
        raise UnknownPayment(result.id)
    charges.adopt(payment, result)
    at = at or datetime.now(UTC)
    if result.status == "succeeded":
        _succeed(payment, actor, at, receipts)
    elif result.status in ("requires_payment_method", "canceled"):
        charges.fail(payment, result.failure_message, actor)
    elif result.status == "requires_action":
        charges.move(payment, S.REQUIRES_ACTION)
    elif result.status == "processing":
        charges.move(payment, S.PENDING)
    return payment


def apply_refund(charge: dict, actor: Actor, at: datetime | None = None,
                 receipts: list[Payment] | None = None) -> Payment:
    """A refund (cumulative `amount_refunded` on the charge): reverse what is not yet reversed."""
    payment = _find(charge.get("payment_intent"), charge.get("metadata", {}).get("payment_id"),
                    charge.get("id"))
    at = at or datetime.now(UTC)
    payment.charge_id = payment.charge_id or charge.get("id")
    _succeed(payment, actor, at, receipts)  # a refunded charge had succeeded, whatever came first
    if payment.status != S.SUCCEEDED:
        raise UnknownPayment(charge.get("id"))
    room = payment.amount_minor - payment.refunded_minor - payment.charged_back_minor
    amount = min(int(charge.get("amount_refunded", 0)) - payment.refunded_minor, room)
    if amount <= 0:
        return payment
    payment.refunded_minor += amount
    ledger.post_reversal(payment.account, payment.id, amount,
                         f"Refund of card payment {payment.receipt_number}", actor, at)
    event = record(actor, EventKind.PAYMENT_REFUNDED, borrower_id=payment.borrower_id,
                   account_id=payment.account_id,
                   data=dict(charges.facts(payment), refunded_minor=amount))
    charges.announce("payment.refunded", payment, event, refunded_minor=amount,
              refunded_total_minor=payment.refunded_minor)
    _settle(payment, actor)
    return payment


def apply_chargeback(dispute: dict, actor: Actor, at: datetime | None = None,
                     receipts: list[Payment] | None = None) -> Payment:
    """The cardholder's bank took the money back: reverse it, flag the account, tell staff."""
    payment = _find(dispute.get("payment_intent"), None, dispute.get("charge"))
    at = at or datetime.now(UTC)
    if payment.chargeback_id is not None:
        return payment  # one dispute per charge at Stripe: this one is already applied
    _succeed(payment, actor, at, receipts)
    if payment.status != S.SUCCEEDED:
        raise UnknownPayment(dispute.get("charge"))
    room = payment.amount_minor - payment.refunded_minor - payment.charged_back_minor
    amount = min(int(dispute.get("amount", 0)), room)
    payment.chargeback_id = dispute.get("id")
    payment.account.chargeback_at = at
    if amount > 0:
        payment.charged_back_minor += amount
        ledger.post_reversal(payment.account, payment.id, amount,
                             f"{CHARGEBACK_PREFIX} of card payment {payment.receipt_number}",
                             actor, at)
    event = record(actor, EventKind.PAYMENT_CHARGED_BACK, borrower_id=payment.borrower_id,
                   account_id=payment.account_id,
                   data=dict(charges.facts(payment), charged_back_minor=amount,
                             reason=dispute.get("reason")))
    charges.announce("payment.charged_back", payment, event, charged_back_minor=amount,
              reason=dispute.get("reason"))
    _settle(payment, actor)
    return payment


#: What each Stripe event type does; any other type is acknowledged and ignored.
