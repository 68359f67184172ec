"""The agency's commission, as pure rules: which rate applies to a payment, and how a line's
commission is rounded. No database, no Flask: tested with tables (tests/unit/test_commission.py).

Rounding rule (README, "Statements"): the exact commission of each account line of a statement —
the sum, over the line's payments, of amount x rate / 10,000 — is rounded once, half to even, to
the currency's minor unit. Never per payment, never on the statement's total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

BASIS = 10_000


@dataclass(frozen=True)
class Rate:
    """One rate of some terms: for `product` (None: any) from `min_age_days` after placement."""

    product: str | None
    min_age_days: int
    rate_bp: int


@dataclass(frozen=True)
class Terms:
    """A creditor's terms from `valid_from` (inclusive) until the next terms' `valid_from`."""

    valid_from: date
    method: str
    rates: tuple[Rate, ...]


class NoTerms(LookupError):
    """No terms of the creditor were in force on that day: the statement cannot be drawn up."""


def terms_on(history: Sequence[Terms], day: date) -> Terms:
    """The terms in force on `day`: the latest to start on or before it."""
    in_force = [t for t in history if t.valid_from <= day]
    if not in_force:
        raise NoTerms(day.isoformat())
    return max(in_force, key=lambda t: t.valid_from)


def rate_for(terms: Terms, product: str, age_days: int) -> int:
    """The rate in basis points for an account of `product`, `age_days` after its placement.

    A rate naming the product beats one for any product; among those, the highest age band the
    account has reached applies. No matching rate: 0 (the terms charge nothing for it)."""
    return next((r.rate_bp for r in by_precedence(terms.rates)
                 if r.min_age_days <= max(age_days, 0) and r.product in (None, product)), 0)


def by_precedence(rates: Iterable[Rate]) -> list[Rate]:
    """The rates in the order `rate_for` tries them: a product's before any product's, the
    higher age band first, and among equals the first given (the database's statement tries
    them in this order too)."""
    return sorted(rates, key=lambda r: (r.product is not None, r.min_age_days), reverse=True)


def exact(amount_minor: int, rate_bp: int) -> Fraction:
    """The commission on an amount, exactly (a fraction of a minor unit)."""
    return Fraction(amount_minor * rate_bp, BASIS)


def half_even(value: Fraction) -> int:
    """Round to the nearest minor unit, a half to the even neighbour (banker's rounding)."""
    return round(value)  # Fraction.__round__ rounds half to even


def line_commission(parts: Iterable[tuple[int, int]]) -> int:
    """One line's commission: (amount, rate) parts summed exactly, rounded half-even once."""
    return basis_half_even(sum(amount * rate for amount, rate in parts))


def basis_half_even(units: int) -> int:
    """`half_even(Fraction(units, BASIS))` in integers: every part of a line is a whole number of
    1/BASIS minor units, so their exact sum is too (a statement has a line an account)."""
    whole, rest = divmod(units, BASIS)  # floor: rest is 0 <= rest < BASIS, of either sign's units
    if 2 * rest > BASIS or (2 * rest == BASIS and whole % 2):
        return whole + 1
    return whole
