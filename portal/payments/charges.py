"""The one charge path: a payment row, what the account can still take, the charge at Stripe
(on-session with the borrower's card, off-session with a saved one) and what Stripe answered.

Checkout (the borrower paying now) and plans (an installment by hand or by autopay) both charge
through here, so a payment's status, ids and events are written by one module whoever asked.
Each function runs inside its caller's operation; the charges themselves are called between
operations, never with a transaction open.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.accounts import ledger
from portal.accounts.models import Account
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.extensions import db
from portal.outbox.service import publish, publish_many
from portal.payments import rules
from portal.payments.gateway import IntentResult, gateway
from portal.payments.models import Payment
from portal.payments.rules import PaymentStatus as S

#: Statuses whose money may still reach the ledger: counted against the balance left to pay.
IN_FLIGHT = (S.SUBMITTING, S.PENDING, S.REQUIRES_ACTION)


def in_flight(account_id: int, other_than: int | None = None) -> int:
    """What payments with Stripe may still take from the account's balance."""
    query = select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
        Payment.account_id == account_id, Payment.status.in_([str(s) for s in IN_FLIGHT]))
    if other_than is not None:
        query = query.where(Payment.id != other_than)
    return int(db.session.scalar(query))


def payable(account: Account) -> int:
    """The balance less the money already on its way: what a new payment may take."""
    return ledger.balance_of(account.id, account.currency).minor - in_flight(account.id)


def new_payment(account: Account, borrower_id: int, amount_minor: int, choice: str,
                status: S = S.CREATED) -> Payment:
    """Our row for a charge, written (and committed by the caller) before Stripe is asked."""
    now = datetime.now(UTC)
    payment = Payment(borrower_id=borrower_id, account_id=account.id, amount_minor=amount_minor,
                      currency=account.currency, choice=choice, status=status,
                      created_at=now, updated_at=now)
    db.session.add(payment)
    db.session.flush()
    return payment


def charge_on_session(payment: Payment, payment_method: str) -> IntentResult:
    """Charge the card the borrower just gave; CardDeclined or GatewayError as the gateway's."""
    return gateway().charge(str(payment.public_id), payment.amount_minor, payment.currency,
                            payment_method)


def charge_off_session(payment_key: str, amount: int, currency: str, customer: str,
                       payment_method: str, idempotency_key: str) -> IntentResult:
    """Charge a saved card with the cardholder absent (autopay); same errors."""
    return gateway().charge_off_session(payment_key, amount, currency, customer, payment_method,
                                        idempotency_key)


def find_charge(public_id: str, created_at: datetime) -> IntentResult | None:
    """Stripe's PaymentIntent for our payment, if one was made after all (found by our id)."""
    return gateway().find_intent(str(public_id), int(created_at.timestamp()) - 60)


# --- the payment's own state -----------------------------------------------------------------


def adopt(payment: Payment, result: IntentResult) -> None:
    """Keep Stripe's ids on our row (the first we hear of them may be a webhook)."""
    payment.payment_intent_id = payment.payment_intent_id or result.id
    payment.charge_id = result.charge_id or payment.charge_id
    if result.client_secret and result.status == "requires_action":
        payment.intent_client_secret = result.client_secret
    payment.card_brand = result.card_brand or payment.card_brand
    payment.card_last4 = result.card_last4 or payment.card_last4


def move(payment: Payment, status: S) -> bool:
    """Follow what Stripe reports where the lifecycle allows it; a late or repeated event that
    would move the payment back (a 'failed' after a success) changes nothing."""
    if payment.status == status or not rules.PAYMENT.allows(payment.status, status):
        return False
    rules.PAYMENT.move(payment, status)
    payment.updated_at = datetime.now(UTC)
    return True


def facts(payment: Payment) -> dict:
    return {"payment": str(payment.public_id), "receipt": payment.receipt_number,
            "amount_minor": payment.amount_minor, "currency": payment.currency,
            "stripe_reference": payment.stripe_reference}


def announce(topic: str, payment: Payment, event, **extra) -> None:
    account = payment.account
    publish(topic, {"account_ref": account.reference, **facts(payment), **extra},
            account_ref=account.reference, case_event_id=event.id,
            agency_id=account.creditor.agency_id)  # the account's, as publish would look up


def announce_many(topic: str, announced: list[tuple[Payment, int, dict]]) -> None:
    """`announce` for many payments at once (payment, its case event's id, the extra facts), in a
    few statements per agency."""
    by_agency: dict[int | None, list[tuple[dict, str, int | None]]] = {}
    for payment, event_id, extra in announced:
        account = payment.account
        by_agency.setdefault(account.creditor.agency_id, []).append((
            {"account_ref": account.reference, **facts(payment), **extra}, account.reference,
            event_id))
    for agency_id, messages in by_agency.items():
        publish_many(topic, messages, agency_id)


def fail(payment: Payment, message: str | None, actor: Actor) -> None:
    if not move(payment, S.FAILED):
        return
    payment.failure_message = (message or _("The payment did not go through."))[:300]
    event = record(actor, EventKind.PAYMENT_FAILED, borrower_id=payment.borrower_id,
                   account_id=payment.account_id,
                   data=dict(facts(payment), reason=payment.failure_message))
    announce("payment.failed", payment, event, reason=payment.failure_message)


def submitted(payment: Payment, result: IntentResult, actor: Actor, **extra) -> Payment:
    """Stripe took the charge: the payment waits for its webhook (a success) or for the
    borrower's bank (3-D Secure); a refusal in the answer fails it at once."""
    adopt(payment, result)
    record(actor, EventKind.PAYMENT_SUBMITTED, borrower_id=payment.borrower_id,
           account_id=payment.account_id, data=dict(facts(payment), **extra))
    if payment.status in (S.SUBMITTING, S.PENDING):
        move(payment, S.REQUIRES_ACTION if result.status == "requires_action" else S.PENDING)
    if result.status == "requires_payment_method":
        fail(payment, result.failure_message, actor)
    return payment


def record_canceled(payment: Payment, actor: Actor, why: str) -> None:
    """A payment that ended without a charge is on the record too (it was on the borrower's
    screen); a charge that still succeeds later is posted all the same."""
    record(actor, EventKind.PAYMENT_CANCELED, borrower_id=payment.borrower_id,
           account_id=payment.account_id, data=dict(facts(payment), reason=why))
