"""The borrower paying now: choosing an amount, the card form's SetupIntent, the charge (each step
one transaction, the payment row locked, Stripe called between them) and the status page.

A payment row is committed before Stripe is called, so a crash between the two leaves a record
that `reconcile` resolves against Stripe; Stripe's signed webhooks (`inbox`) decide the outcome.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts import ledger
from portal.accounts.models import Account, AccountStatus
from portal.accounts.service import own_account
from portal.cases.service import Actor
from portal.extensions import db
from portal.money import Money, MoneyError
from portal.operations import NotFound, Refused, operation
from portal.payments import charges, rules
from portal.payments.gateway import (
    CardDeclined,
    GatewayError,
    IntentResult,
    gateway,
)
from portal.payments.models import Payment
from portal.payments.rules import PaymentStatus as S

log = logging.getLogger("portal.payments")


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
        charges.record_canceled(payment, Actor("borrower", str(borrower_id), None),
                                "balance_changed")
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
