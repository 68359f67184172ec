"""What a borrower may pay, and how a payment's status may move. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from portal.lifecycle import Lifecycle


class PaymentStatus(StrEnum):
    #: Our row exists; Stripe has not been asked to charge yet (the card is being collected).
    CREATED = "created"
    #: The charge is being created at Stripe; a crash here is resolved by reconciliation.
    SUBMITTING = "submitting"
    #: The card needs the borrower's bank to confirm it is them (3-D Secure).
    REQUIRES_ACTION = "requires_action"
    #: Stripe accepted the charge; its signed webhook decides the outcome.
    PENDING = "pending"
    #: Stripe's webhook said the charge succeeded: posted to the ledger.
    SUCCEEDED = "succeeded"
    #: The charge failed (declined, authentication failed); nothing was posted.
    FAILED = "failed"
    #: Never charged: abandoned before the card was submitted, or withdrawn by reconciliation.
    CANCELED = "canceled"


S = PaymentStatus
#: Which status may follow which. A failed attempt may still succeed (Stripe lets a payment be
#: retried with another card or after 3-D Secure); a success is final (refunds are entries).
PAYMENT = Lifecycle("payment", PaymentStatus, {
    S.CREATED: {S.SUBMITTING, S.CANCELED, S.FAILED, S.SUCCEEDED, S.PENDING},
    # Back to created only before Stripe was asked (the card was not confirmed): try again.
    S.SUBMITTING: {S.CREATED, S.PENDING, S.REQUIRES_ACTION, S.FAILED, S.SUCCEEDED, S.CANCELED},
    S.REQUIRES_ACTION: {S.PENDING, S.FAILED, S.SUCCEEDED, S.CANCELED},
    S.PENDING: {S.SUCCEEDED, S.FAILED, S.REQUIRES_ACTION},
    S.FAILED: {S.SUCCEEDED},
    S.SUCCEEDED: set(),
    S.CANCELED: {S.SUCCEEDED},
})
#: A payment in one of these has nothing more to wait for.
SETTLED = frozenset({S.SUCCEEDED, S.FAILED, S.CANCELED})


@dataclass(frozen=True)
class AmountLimits:
    """The smallest and largest amount a borrower may pay now, in minor units."""

    minimum: int
    maximum: int | None  # None: no upper limit (overpayment allowed)


#: The smallest card payment we take, in minor units of each currency (Stripe's own minimums are
#: near these; anything smaller costs the creditor more than it pays).
MINIMUM = {"USD": 100, "GBP": 100, "EUR": 100, "CNY": 500}
#: Even where overpayment is allowed, no single payment may exceed the balance by more than this
#: factor: a typo of two extra digits is refused, not charged.
OVERPAYMENT_CAP = 2


def limits(balance: int, currency: str, allow_overpayment: bool = False) -> AmountLimits:
    """A borrower may pay from the minimum (or the whole balance, if smaller) up to the balance."""
    if balance <= 0:
        return AmountLimits(0, 0)
    minimum = min(MINIMUM.get(currency, 100), balance)
    maximum = balance * OVERPAYMENT_CAP if allow_overpayment else balance
    return AmountLimits(minimum, maximum)


def check_amount(amount: int, balance: int, currency: str,
                 allow_overpayment: bool = False) -> str | None:
    """Why `amount` may not be paid ('not_positive', 'below_minimum', 'above_balance',
    'nothing_owed'), or None when it may."""
    bounds = limits(balance, currency, allow_overpayment)
    if bounds.maximum == 0:
        return "nothing_owed"
    if amount <= 0:
        return "not_positive"
    if amount < bounds.minimum:
        return "below_minimum"
    if bounds.maximum is not None and amount > bounds.maximum:
        return "above_balance"
    return None
