"""What a borrower may pay, and the payment life cycle, rule by rule."""

from __future__ import annotations

from itertools import product

import pytest

from portal.payments.rules import (
    PAYMENT,
    SETTLED,
    AmountLimits,
    PaymentStatus,
    check_amount,
    limits,
)


@pytest.mark.parametrize(("balance", "currency", "overpayment", "expected"), [
    (83000, "USD", False, AmountLimits(100, 83000)),
    (83000, "USD", True, AmountLimits(100, 166000)),
    (83000, "CNY", False, AmountLimits(500, 83000)),
    (50000, "GBP", False, AmountLimits(100, 50000)),
    (50000, "EUR", True, AmountLimits(100, 100000)),
    (50000, "JPY", False, AmountLimits(100, 50000)),  # a currency without its own minimum
    # A balance smaller than the minimum may be paid off whole.
    (60, "USD", False, AmountLimits(60, 60)),
    (300, "CNY", False, AmountLimits(300, 300)),
    (60, "USD", True, AmountLimits(60, 120)),
    (100, "USD", False, AmountLimits(100, 100)),
    # Nothing owed, or a credit: nothing may be paid, overpayment or not.
    (0, "USD", False, AmountLimits(0, 0)),
    (0, "USD", True, AmountLimits(0, 0)),
    (-2500, "USD", True, AmountLimits(0, 0)),
])
def test_limits(balance, currency, overpayment, expected):
    assert limits(balance, currency, overpayment) == expected


@pytest.mark.parametrize(("amount", "balance", "currency", "overpayment", "problem"), [
    # Nothing owed comes first, whatever the amount.
    (5000, 0, "USD", False, "nothing_owed"),
    (5000, 0, "USD", True, "nothing_owed"),
    (0, -100, "USD", False, "nothing_owed"),
    # Not positive.
    (0, 83000, "USD", False, "not_positive"),
    (-5000, 83000, "USD", False, "not_positive"),
    (-1, 83000, "USD", True, "not_positive"),
    # Below the minimum.
    (99, 83000, "USD", False, "below_minimum"),
    (1, 83000, "GBP", False, "below_minimum"),
    (499, 83000, "CNY", False, "below_minimum"),
    (100, 83000, "USD", False, None),
    (500, 83000, "CNY", False, None),
    # The minimum is capped at the balance when the balance is smaller.
    (60, 60, "USD", False, None),
    (59, 60, "USD", False, "below_minimum"),
    (300, 300, "CNY", False, None),
    (61, 60, "USD", False, "above_balance"),
    # Above the balance.
    (83000, 83000, "USD", False, None),
    (83001, 83000, "USD", False, "above_balance"),
    (8300000, 83000, "USD", False, "above_balance"),
    # Overpayment allowed: up to twice the balance, and no further.
    (83001, 83000, "USD", True, None),
    (166000, 83000, "USD", True, None),
    (166001, 83000, "USD", True, "above_balance"),
    (8300000, 83000, "USD", True, "above_balance"),
    (120, 60, "USD", True, None),
    (121, 60, "USD", True, "above_balance"),
])
def test_check_amount(amount, balance, currency, overpayment, problem):
    assert check_amount(amount, balance, currency, overpayment) == problem


S = PaymentStatus
ALLOWED = [
    (S.CREATED, S.SUBMITTING), (S.CREATED, S.CANCELED), (S.CREATED, S.FAILED),
    (S.CREATED, S.SUCCEEDED), (S.CREATED, S.PENDING),
    # The card was not confirmed, so Stripe was never asked: the borrower tries again.
    (S.SUBMITTING, S.CREATED),
    (S.SUBMITTING, S.PENDING), (S.SUBMITTING, S.REQUIRES_ACTION), (S.SUBMITTING, S.FAILED),
    (S.SUBMITTING, S.SUCCEEDED), (S.SUBMITTING, S.CANCELED),
    (S.REQUIRES_ACTION, S.PENDING), (S.REQUIRES_ACTION, S.FAILED),
    (S.REQUIRES_ACTION, S.SUCCEEDED), (S.REQUIRES_ACTION, S.CANCELED),
    (S.PENDING, S.SUCCEEDED), (S.PENDING, S.FAILED), (S.PENDING, S.REQUIRES_ACTION),
    # A failed attempt may still succeed (another card, or 3-D Secure done late).
    (S.FAILED, S.SUCCEEDED),
    # Reconciliation withdrew it, but Stripe says it was charged after all.
    (S.CANCELED, S.SUCCEEDED),
]


@pytest.mark.parametrize(("current", "new"), ALLOWED)
def test_allowed_transitions(current, new):
    assert PAYMENT.allows(current, new)
    assert PAYMENT.allows(str(current), str(new))  # as the database holds them


@pytest.mark.parametrize(("current", "new"), [
    # A success is final: a late 'failed' or 'pending' does not undo it.
    (S.SUCCEEDED, S.FAILED), (S.SUCCEEDED, S.PENDING), (S.SUCCEEDED, S.CANCELED),
    (S.SUCCEEDED, S.REQUIRES_ACTION), (S.SUCCEEDED, S.CREATED), (S.SUCCEEDED, S.SUCCEEDED),
    # Nothing Stripe has seen goes back to 'created' or 'submitting'.
    (S.PENDING, S.CREATED), (S.PENDING, S.SUBMITTING),
    # A charge Stripe has accepted cannot be withdrawn by us.
    (S.PENDING, S.CANCELED),
    # A failure or a cancellation only ever turns into a success.
    (S.FAILED, S.PENDING), (S.FAILED, S.CANCELED), (S.FAILED, S.REQUIRES_ACTION),
    (S.CANCELED, S.FAILED), (S.CANCELED, S.PENDING), (S.CANCELED, S.SUBMITTING),
])
def test_refused_transitions(current, new):
    assert not PAYMENT.allows(current, new)


def test_the_table_allows_exactly_the_listed_transitions():
    everything = {(a, b) for a, b in product(S, S) if PAYMENT.allows(a, b)}
    assert everything == set(ALLOWED)
    assert set(PAYMENT.moves) == set(S)


def test_settled_statuses_lead_only_to_success():
    assert SETTLED == {S.SUCCEEDED, S.FAILED, S.CANCELED}
    for status in SETTLED:
        assert PAYMENT.moves[status] <= {S.SUCCEEDED}


@pytest.mark.parametrize(("current", "new"), [("paid", "succeeded"), ("pending", "refunded")])
def test_an_unknown_status_is_an_error(current, new):
    with pytest.raises(ValueError):
        PAYMENT.allows(current, new)
