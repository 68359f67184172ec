"""Card payments: each step one transaction, the payment row locked, Stripe called between them.

A payment row is committed before Stripe is called, so a crash between the two leaves a record
that `reconcile` resolves against Stripe. Stripe's signed webhooks decide the outcome: the endpoint
only keeps each event (its id is the primary key, so a repeat is a no-op) and the worker applies
it, once, oldest first; applying is order-free: a refund that arrives before the success it
refunds applies the success first.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert

from portal.accounts import ledger
from portal.accounts.models import Account, AccountStatus, Borrower
from portal.accounts.service import own_account
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.contact import service as contact
from portal.extensions import db
from portal.jobs.queue import defer_in_transaction
from portal.money import Money, MoneyError
from portal.operations import NotFound, Refused, operation, reading
from portal.payments import charges, rules
from portal.payments.gateway import (
    CardDeclined,
    GatewayError,
    IntentResult,
    gateway,
    intent_result,
)
from portal.payments.models import PENDING, EventStatus, Payment, StripeEvent
from portal.payments.receipts import email_receipt
from portal.payments.rules import PaymentStatus as S
from portal.payments.task_names import APPLY_EVENTS

log = logging.getLogger("portal.payments")

SYSTEM = Actor.system("stripe-webhook")


class UnknownPayment(Exception):
    """A Stripe event about a PaymentIntent or charge that is not one of ours."""


# --- the borrower's steps ------------------------------------------------------------------------


def _own_account(borrower_id: int, reference: str, *, lock: bool = False) -> Account:
    return own_account(borrower_id, reference, lock=lock)




@dataclass(frozen=True)
class PayOptions:
    """What the pay page offers for one account."""

    account: Account
    balance: Money
    in_flight: Money
    limits: rules.AmountLimits


def options_for(borrower_id: int, reference: str) -> PayOptions:
    account = _own_account(borrower_id, reference)
    balance = ledger.balance_of(account.id, account.currency)
    waiting = charges.in_flight(account.id)
    payable = max(balance.minor - waiting, 0)
    return PayOptions(account, balance, Money(waiting, account.currency),
                      rules.limits(payable, account.currency, account.creditor.allow_overpayment))


AMOUNT_MESSAGES = {
    "nothing_owed": lambda o: _("There is nothing left to pay on this account."),
    "not_positive": lambda o: _("Enter an amount greater than zero."),
    "below_minimum": lambda o: _("The smallest payment we can take is %(amount)s.",
                                 amount=o["minimum"]),
    "above_balance": lambda o: _("You can pay at most %(amount)s.", amount=o["maximum"]),
}


@operation
def start_payment(borrower_id: int, reference: str, choice: str, amount_text: str | None,
                  fmt) -> Payment:
    """The borrower chose what to pay: check it against the balance and keep it (no charge yet).

    `fmt` formats Money for the messages (the view's locale)."""
    account = _own_account(borrower_id, reference, lock=True)
    if account.status != AccountStatus.OPEN:
        raise Refused(_("This account is not open for payments."))
    balance = ledger.balance_of(account.id, account.currency)
    payable = balance.minor - charges.in_flight(account.id)
    if choice == "full":
        amount = payable
    elif choice == "other":
        try:
            amount = Money.parse(amount_text or "", account.currency).minor
        except MoneyError:
            raise Refused(_("Enter the amount as a number, like 50.00.")) from None
    else:
        raise Refused(_("Choose how much to pay."))
    if payable <= 0 < balance.minor:
        raise Refused(_("A payment for the rest of this balance is already being processed."))
    problem = rules.check_amount(amount, payable, account.currency,
                                 account.creditor.allow_overpayment)
    if problem:
        bounds = rules.limits(payable, account.currency, account.creditor.allow_overpayment)
        raise Refused(AMOUNT_MESSAGES[problem]({
            "minimum": fmt(Money(bounds.minimum, account.currency)),
            "maximum": fmt(Money(bounds.maximum or 0, account.currency)),
        }))
    return charges.new_payment(account, borrower_id, amount, choice)


def own_payment(borrower_id: int, public_id: str, *, lock: bool = False) -> Payment:
    """The borrower's own payment, or 404 (a guessed or another borrower's id finds nothing)."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise NotFound() from None
    query = select(Payment).where(Payment.public_id == key, Payment.borrower_id == borrower_id)
    payment = db.session.scalar(query.with_for_update() if lock else query)
    if payment is None:
        raise NotFound()
    return payment


def ensure_setup_intent(payment: Payment) -> str:
    """The client secret the card form needs; made at Stripe once per payment."""
    if payment.setup_client_secret:
        return payment.setup_client_secret
    # A new SetupIntent after a refused card: the key names the one it replaces.
    attempt = f"{payment.public_id}:after:{payment.replaced_setup_intent_id or 'none'}"
    intent_id, secret = gateway().create_setup_intent(attempt, str(payment.public_id))
    _keep_setup_intent(payment.id, intent_id, secret)
    return secret


@operation
def _keep_setup_intent(payment_id: int, intent_id: str, secret: str) -> None:
    payment = db.session.get(Payment, payment_id, with_for_update=True)
    if payment.setup_intent_id is None:
        payment.setup_intent_id, payment.setup_client_secret = intent_id, secret


@operation
def _claim(borrower_id: int, public_id: str) -> Payment | None:
    """Move a payment to `submitting`, once: a double click or a second tab finds it taken."""
    payment = own_payment(borrower_id, public_id, lock=True)
    if payment.status != S.CREATED:
        return None
    account = db.session.get(Account, payment.account_id, with_for_update=True)
    payable = ledger.balance_of(account.id, account.currency).minor - charges.in_flight(account.id)
    if account.status != AccountStatus.OPEN or rules.check_amount(
            payment.amount_minor, payable, payment.currency,
            account.creditor.allow_overpayment):
        rules.PAYMENT.move(payment, S.CANCELED)
        payment.failure_message = _("The balance changed since you chose this amount. "
                                    "Nothing was charged; please choose again.")
        _record_canceled(payment, Actor("borrower", str(borrower_id), None), "balance_changed")
        return None
    rules.PAYMENT.move(payment, S.SUBMITTING)
    payment.updated_at = datetime.now(UTC)
    return payment


def submit(borrower_id: int, public_id: str, actor: Actor) -> Payment:
    """Charge the card the browser collected; whatever happens, the payment row says where it is."""
    claimed = _claim(borrower_id, public_id)
    if claimed is None:  # already submitted (or no longer payable): show where it stands
        return own_payment(borrower_id, public_id)
    try:
        method = gateway().card_of_setup(claimed.setup_intent_id) \
            if claimed.setup_intent_id else None
    except GatewayError as exc:
        log.warning("payment %s: setup intent not readable: %s", claimed.id, exc)
        return _unclaim(claimed.id, _("We could not reach our card processor. Nothing was "
                                      "charged. Please try again."), keep_card=True)
    if method is None:
        return _unclaim(claimed.id, _("Your card details were not confirmed. Please try again."))
    try:
        result = charges.charge_on_session(claimed, method)
    except CardDeclined as exc:
        return _declined(claimed.id, exc, actor)
    except GatewayError as exc:
        # Stripe may or may not have charged: stay `submitting`; reconciliation finds out.
        log.warning("payment %s: charge outcome unknown: %s", claimed.id, exc)
        return own_payment(borrower_id, public_id)
    return _submitted(claimed.id, result, actor)


@operation
def _unclaim(payment_id: int, message: str, keep_card: bool = False) -> Payment:
    payment = db.session.get(Payment, payment_id, with_for_update=True)
    if payment.status == S.SUBMITTING:
        rules.PAYMENT.move(payment, S.CREATED)
        payment.failure_message = message
        if keep_card:
            return payment
        # The card form starts again with a fresh SetupIntent (a refused one cannot be reused).
        payment.replaced_setup_intent_id = payment.setup_intent_id
        payment.setup_intent_id = payment.setup_client_secret = None
    return payment


@operation
def _submitted(payment_id: int, result: IntentResult, actor: Actor) -> Payment:
    return charges.submitted(db.session.get(Payment, payment_id, with_for_update=True), result,
                             actor)


@operation
def _declined(payment_id: int, exc: CardDeclined, actor: Actor) -> Payment:
    payment = db.session.get(Payment, payment_id, with_for_update=True)
    if exc.intent is not None:
        charges.adopt(payment, exc.intent)
    charges.fail(payment, exc.message, actor)
    return payment


# --- what Stripe tells us ------------------------------------------------------------------------












def _lock_account(payment: Payment) -> None:
    """Two payments of one account applied at once must not both allocate against the same
    outstanding fees: the account row queues them (always after the payment row, as `_claim`)."""
    db.session.execute(select(Account.id).where(Account.id == payment.account_id)
                       .with_for_update())


def _succeed(payment: Payment, actor: Actor, at: datetime) -> None:
    """Post the payment once: the status says whether it was, the ledger's unique index backs it."""
    if payment.status == S.SUCCEEDED or not rules.PAYMENT.allows(payment.status, S.SUCCEEDED):
        return
    _lock_account(payment)
    charges.move(payment, S.SUCCEEDED)
    payment.succeeded_at, payment.failure_message = at, None
    entry = ledger.post_payment(payment.account, payment.amount_minor, payment.id,
                                f"Card payment {payment.receipt_number}", actor, at)
    event = record(actor, EventKind.PAYMENT_SUCCEEDED, borrower_id=payment.borrower_id,
                   account_id=payment.account_id,
                   data=dict(charges.facts(payment), allocation=entry.allocation))
    charges.announce("payment.succeeded", payment, event, allocation=entry.allocation)
    try:
        with db.session.begin_nested():  # a receipt that cannot be made never holds up a payment
            email_receipt(payment)
    except Exception as exc:  # noqa: BLE001
        log.warning("payment %s: receipt email not sent: %s", payment.id, type(exc).__name__)
    _settle(payment, actor)


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


def apply_intent(result: IntentResult, actor: Actor, at: datetime | None = None) -> Payment:
    """Bring our payment in line with a PaymentIntent as Stripe reports it."""
    payment = _find(result.id, result.payment_id)
    if result.amount != payment.amount_minor or result.currency != payment.currency:
        log.error("payment %s: Stripe reports %s %s, we asked for %s %s", payment.id,
                  result.amount, result.currency, payment.amount_minor, payment.currency)
        raise UnknownPayment(result.id)
    charges.adopt(payment, result)
    at = at or datetime.now(UTC)
    if result.status == "succeeded":
        _succeed(payment, actor, at)
    elif result.status in ("requires_payment_method", "canceled"):
        charges.fail(payment, result.failure_message, actor)
    elif result.status == "requires_action":
        charges.move(payment, S.REQUIRES_ACTION)
    elif result.status == "processing":
        charges.move(payment, S.PENDING)
    return payment


def apply_refund(charge: dict, actor: Actor, at: datetime | None = None) -> Payment:
    """A refund (cumulative `amount_refunded` on the charge): reverse what is not yet reversed."""
    payment = _find(charge.get("payment_intent"), charge.get("metadata", {}).get("payment_id"),
                    charge.get("id"))
    at = at or datetime.now(UTC)
    payment.charge_id = payment.charge_id or charge.get("id")
    _succeed(payment, actor, at)  # a refunded charge had succeeded, whatever arrived first
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


def apply_chargeback(dispute: dict, actor: Actor, at: datetime | None = None) -> Payment:
    """The cardholder's bank took the money back: reverse it, flag the account, tell staff."""
    payment = _find(dispute.get("payment_intent"), None, dispute.get("charge"))
    at = at or datetime.now(UTC)
    if payment.chargeback_id is not None:
        return payment  # one dispute per charge at Stripe: this one is already applied
    _succeed(payment, actor, at)
    if payment.status != S.SUCCEEDED:
        raise UnknownPayment(dispute.get("charge"))
    room = payment.amount_minor - payment.refunded_minor - payment.charged_back_minor
    amount = min(int(dispute.get("amount", 0)), room)
    payment.chargeback_id = dispute.get("id")
    payment.account.chargeback_at = at
    if amount > 0:
        payment.charged_back_minor += amount
        ledger.post_reversal(payment.account, payment.id, amount,
                             f"Chargeback of card payment {payment.receipt_number}", actor, at)
    event = record(actor, EventKind.PAYMENT_CHARGED_BACK, borrower_id=payment.borrower_id,
                   account_id=payment.account_id,
                   data=dict(charges.facts(payment), charged_back_minor=amount,
                             reason=dispute.get("reason")))
    charges.announce("payment.charged_back", payment, event, charged_back_minor=amount,
              reason=dispute.get("reason"))
    _settle(payment, actor)
    return payment


#: What each Stripe event type does; any other type is acknowledged and ignored.
HANDLERS = {
    "payment_intent.succeeded": "intent",
    "payment_intent.payment_failed": "intent",
    "payment_intent.processing": "intent",
    "payment_intent.requires_action": "intent",
    "payment_intent.canceled": "intent",
    "charge.refunded": "refund",
    "charge.dispute.created": "chargeback",
}


def _text_or_none(value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError("an id that is not text")
    return value


def _keys_of(handler: str, obj) -> tuple[str | None, str | None, str | None, IntentResult | None]:
    """What `_find` will look the event's payment up by: (PaymentIntent id, our public id,
    charge id), and the PaymentIntent itself for the intent events. Raises KeyError, TypeError or
    ValueError for an object of the wrong shape."""
    if not isinstance(obj, dict):
        raise TypeError("the event's object is not an object")
    if handler == "intent":
        result = intent_result(obj)
        return _text_or_none(result.id), _text_or_none(result.payment_id), None, result
    if handler == "refund":
        metadata = obj.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise TypeError("metadata that is not an object")
        return (_text_or_none(obj.get("payment_intent")), _text_or_none(metadata.get("payment_id")),
                _text_or_none(obj.get("id")), None)
    return _text_or_none(obj.get("payment_intent")), None, _text_or_none(obj.get("charge")), None


#: One statement for the endpoint: find the payment as `_find` does (PaymentIntent id, charge id,
#: or our id in the metadata while the payment has no other PaymentIntent; the PaymentIntent's own
#: payment first), without a lock; keep the event if it is ours and Stripe reports our amount (for
#: a PaymentIntent). Fixed text, so the driver prepares it once per connection.
_KEEP = text("""
WITH found AS (
    SELECT id, amount_minor, currency FROM payment
    WHERE payment_intent_id = CAST(:intent_id AS varchar)
       OR charge_id = CAST(:charge_id AS varchar)
       OR (public_id = CAST(:public_id AS uuid)
           AND (payment_intent_id IS NULL OR payment_intent_id = CAST(:intent_id AS varchar)))
    ORDER BY (payment_intent_id = CAST(:intent_id AS varchar)) IS NOT TRUE
    LIMIT 1
), kept AS (
    INSERT INTO stripe_event (id, type, payment_id, received_at, payload, attempts, status)
    SELECT CAST(:event_id AS varchar), CAST(:type AS varchar), found.id, clock_timestamp(),
           CAST(:payload AS jsonb), 0, 'received'
    FROM found
    WHERE CAST(:amount AS bigint) IS NULL
       OR (found.amount_minor = CAST(:amount AS bigint)
           AND found.currency = CAST(:currency AS varchar))
    ON CONFLICT (id) DO NOTHING
    RETURNING id
)
SELECT found.id, found.amount_minor, found.currency, (SELECT id FROM kept) AS kept
FROM found
""")


def _keep(event: dict, kind: str, handler: str) -> str:
    """Keep an event about one of our payments (`_KEEP`): 'queued' or 'duplicate'. Raises
    UnknownPayment."""
    intent_id, public_id, charge_id, result = _keys_of(handler, event["data"]["object"])
    try:
        key = str(uuid.UUID(public_id)) if public_id else None
    except ValueError:
        key = None
    if not (intent_id or charge_id or key):
        raise UnknownPayment(None)
    row = db.session.execute(_KEEP, {
        "intent_id": intent_id, "charge_id": charge_id, "public_id": key,
        "event_id": event["id"], "type": kind, "payload": json.dumps(event),
        "amount": result.amount if result else None,
        "currency": result.currency if result else None,
    }).first()
    if row is None:
        raise UnknownPayment(intent_id or charge_id)
    if result is not None and (result.amount, result.currency) != (row.amount_minor,
                                                                    row.currency):
        log.error("payment %s: Stripe reports %s %s, we asked for %s %s", row.id,
                  result.amount, result.currency, row.amount_minor, row.currency)
        raise UnknownPayment(intent_id)
    return "queued" if row.kept is not None else "duplicate"


@operation
def receive_event(event: dict) -> str:
    """Keep one verified Stripe event for the worker: 'queued', 'duplicate' or 'ignored'.

    Cheap and quick, as Stripe asks of an endpoint: one statement checks that the event is about
    one of our payments (an indexed lookup) and keeps it (its id is the primary key: a repeat is
    a 'duplicate'); a kept one defers `payments.apply_events` in the same transaction, so a worker
    applies it (`apply_received`) as soon as it commits. The job's queueing lock lets one wait: a
    burst finds it waiting (procrastinate is asked, on the same connection) and adds none; an
    event committed just after that job had looked is applied by the next one, or by the sweep
    every 2 seconds.
    Raises UnknownPayment (nothing kept) for an event about a payment we do not know, so that
    Stripe's retry can still deliver it if it raced our own write; KeyError, TypeError or
    ValueError for one of the wrong shape."""
    event_id, kind = event["id"], event.get("type")
    if not event_id or len(event_id) > 100:
        raise ValueError("an event id we cannot keep")
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        inserted = db.session.execute(
            insert(StripeEvent).values(
                id=event_id, type=kind[:100] if isinstance(kind, str) else "",
                # Kept for its id only: an ignored event (customer.*, ...) may carry a
                # person's name and address, which we have no reason to store.
                received_at=datetime.now(UTC), payload={}, attempts=0,
                status=EventStatus.IGNORED)
            .on_conflict_do_nothing(index_elements=["id"]).returning(StripeEvent.id)
        ).scalar()
        return "ignored" if inserted is not None else "duplicate"
    try:
        outcome = _keep(event, kind, handler)
    except UnknownPayment:
        if db.session.get(StripeEvent, event_id) is not None:
            return "duplicate"  # kept already (its payment is not found now: it waits as failed)
        raise
    if outcome == "queued":
        defer_in_transaction(APPLY_EVENTS, queueing_lock=APPLY_EVENTS)
    return outcome


def apply_event(event: dict) -> Payment:
    """Apply one event of a handled type (in the caller's transaction); the payment it changed."""
    handler = HANDLERS[event["type"]]
    obj = event["data"]["object"]
    at = datetime.fromtimestamp(int(event.get("created") or datetime.now(UTC).timestamp()), UTC)
    if handler == "intent":
        return apply_intent(intent_result(obj), SYSTEM, at)
    if handler == "refund":
        return apply_refund(obj, SYSTEM, at)
    return apply_chargeback(obj, SYSTEM, at)


#: A failed event is tried again after 30 s, then 1, 2, 4... minutes, at most hourly, and never
#: dropped: it stays `failed`, with its error's class, for as long as it does not apply.
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LAST_RETRY)


def _due(now: datetime):
    return and_(StripeEvent.status.in_([str(s) for s in PENDING]), or_(
        StripeEvent.status == EventStatus.RECEIVED, StripeEvent.next_attempt_at <= now))


@operation
def _apply_next(now: datetime) -> str | None:
    """Claim the oldest event due (skipping those other workers hold) and apply it, in one
    transaction: 'applied', 'failed', or None when nothing is due."""
    row = db.session.scalar(
        select(StripeEvent).where(_due(now))
        .order_by(StripeEvent.received_at, StripeEvent.id).limit(1)
        .with_for_update(skip_locked=True))
    if row is None:
        return None
    row.attempts += 1
    try:
        with db.session.begin_nested():  # a failure undoes its own writes, not the claim
            payment = apply_event(row.payload)
    except Exception as exc:  # noqa: BLE001 any error: kept as failed, retried later, never lost
        row.status, row.error = EventStatus.FAILED, type(exc).__name__[:100]
        row.next_attempt_at = now + retry_delay(row.attempts)
        log.warning("stripe event %s (%s): not applied (%s), attempt %d; again after %s",
                    row.id, row.type, row.error, row.attempts, row.next_attempt_at.isoformat())
        return "failed"
    row.status, row.error, row.next_attempt_at = EventStatus.APPLIED, None, None
    row.payment_id, row.applied_at = payment.id, now
    return "applied"


def apply_received(limit: int = 100, *, now: datetime | None = None,
                   seconds: float | None = None, should_stop=None) -> dict[str, int]:
    """Apply the events the webhook kept, oldest first, each in a transaction of its own, and the
    failed ones whose retry is due; at most `limit` (and about `seconds`). Several workers may run
    it at once. Returns the counts ('applied', 'failed'; 'more' when it stopped at its limit)."""
    counts: dict[str, int] = {}
    deadline = time.monotonic() + seconds if seconds is not None else None
    for _turn in range(limit):
        if (deadline is not None and time.monotonic() > deadline) or \
                (should_stop is not None and should_stop()):
            counts["more"] = 1
            return counts
        outcome = _apply_next(now or datetime.now(UTC))
        if outcome is None:
            return counts
        counts[outcome] = counts.get(outcome, 0) + 1
    counts["more"] = 1
    return counts


def pending_events() -> dict[str, int]:
    """How many events wait to be applied ('received') or to be retried ('failed')."""
    with reading("pending_events"):
        rows = db.session.execute(select(StripeEvent.status, func.count()).where(
            StripeEvent.status.in_([str(s) for s in PENDING])).group_by(StripeEvent.status)).all()
    return {str(status): int(count) for status, count in rows}


@operation
def retry_failed_now() -> int:
    """Make every failed event due at once (by hand, after fixing what made it fail)."""
    return db.session.execute(
        StripeEvent.__table__.update().where(StripeEvent.status == EventStatus.FAILED)
        .values(next_attempt_at=datetime.now(UTC))).rowcount


# --- reconciliation ------------------------------------------------------------------------------

#: How long each state may last before the job asks Stripe what happened.
STALE = {S.CREATED: timedelta(hours=1), S.SUBMITTING: timedelta(minutes=2),
         S.PENDING: timedelta(minutes=5), S.REQUIRES_ACTION: timedelta(hours=1)}
RECONCILER = Actor.system("payments-reconcile")


def stale_payments(now: datetime) -> list[int]:
    ids = []
    with reading("stale_payments"):
        for status, age in STALE.items():
            ids.extend(db.session.scalars(select(Payment.id).where(
                Payment.status == str(status), Payment.updated_at < now - age)))
    return ids


def reconcile(now: datetime | None = None) -> dict[str, int]:
    """Resolve payments stuck between our row and Stripe (a crash, a timeout, a lost webhook)."""
    now = now or datetime.now(UTC)
    counts: dict[str, int] = {}
    for payment_id in stale_payments(now):
        try:
            outcome = _reconcile_one(payment_id, now)
        except GatewayError as exc:
            log.warning("payment %s: reconciliation postponed: %s", payment_id, exc)
            outcome = "postponed"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _reconcile_one(payment_id: int, now: datetime) -> str:
    with reading("_reconcile_one"):
        payment = db.session.get(Payment, payment_id)
        status, key, intent_id = payment.status, str(payment.public_id), payment.payment_intent_id
        created = int(payment.created_at.timestamp()) - 60
    if status == S.CREATED:
        return _abandon(payment_id, S.CREATED)
    if status == S.REQUIRES_ACTION:
        # The bank's check was left unfinished for an hour: stop counting it against the
        # balance. Stripe never charged it; if the borrower finishes it after all, the
        # webhook posts it (canceled may still become succeeded).
        result = gateway().retrieve_intent(intent_id) if intent_id else None
        if result is not None and result.status not in ("requires_action",
                                                         "requires_confirmation"):
            _apply_found(result, now)
            return "resolved"
        return _abandon(payment_id, S.REQUIRES_ACTION)
    # Ask Stripe before touching anything (a network call never holds a row lock).
    result = gateway().retrieve_intent(intent_id) if intent_id else \
        gateway().find_intent(key, created)
    if result is None:
        return _abandon(payment_id, S.SUBMITTING)
    _apply_found(result, now)
    return "resolved"


@operation
def _apply_found(result: IntentResult, now: datetime) -> None:
    apply_intent(result, RECONCILER, now)


@operation
def _abandon(payment_id: int, expected: S) -> str:
    """Stripe has no charge for it: the payment never happened (nothing to post or refund)."""
    payment = db.session.get(Payment, payment_id, with_for_update=True)
    if payment.status != expected:
        return "changed"
    rules.PAYMENT.move(payment, S.CANCELED)
    payment.failure_message = _("This payment was not completed. Nothing was charged.")
    payment.updated_at = datetime.now(UTC)
    _record_canceled(payment, RECONCILER, f"stale_{expected}")
    return "canceled"


def _record_canceled(payment: Payment, actor: Actor, why: str) -> None:
    """A payment that ended without a charge is on the record too (it was on the borrower's
    screen); a charge that still succeeds later is posted all the same."""
    record(actor, EventKind.PAYMENT_CANCELED, borrower_id=payment.borrower_id,
           account_id=payment.account_id, data=dict(charges.facts(payment), reason=why))


@dataclass(frozen=True)
class StatusView:
    """What the status page says about a payment."""

    state: str  # checking | action | succeeded | failed | canceled
    message: str | None
    balance: Money
    needs_action: bool
    client_secret: str | None


def status_view(payment: Payment, back_from_bank: bool = False) -> StatusView:
    """`back_from_bank`: the borrower has just done the bank's check; until Stripe's webhook says
    how it went, the page waits (it does not open the check again)."""
    status = payment.status
    state = {S.SUCCEEDED: "succeeded", S.FAILED: "failed", S.CANCELED: "canceled",
             S.REQUIRES_ACTION: "checking" if back_from_bank else "action"}.get(status,
                                                                                 "checking")
    action = state == "action" and bool(payment.intent_client_secret)
    return StatusView(state, payment.failure_message,
                      ledger.balance_of(payment.account_id, payment.currency), action,
                      payment.intent_client_secret if action else None)


def payments_of(borrower_id: int, account_id: int, limit: int = 20) -> list[Payment]:
    return list(db.session.scalars(
        select(Payment).where(Payment.borrower_id == borrower_id, Payment.account_id == account_id,
                              Payment.status.not_in([str(S.CREATED), str(S.CANCELED)]))
        .order_by(Payment.created_at.desc()).limit(limit)
    ))
