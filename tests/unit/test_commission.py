"""The commission rules, as tables: which rate applies, and how a line's commission rounds."""

from __future__ import annotations

from datetime import date

import pytest

from portal.lenders.commission import (
    NoTerms,
    Rate,
    Terms,
    basis_half_even,
    half_even,
    line_commission,
    rate_for,
    terms_on,
)
from portal.lenders.remittance import BadPeriod, period_bounds, previous_period

CARD_TERMS = Terms(date(2026, 1, 1), "net", (
    Rate(None, 0, 2000),           # any account: 20 %
    Rate(None, 180, 2500),         # placed six months or more: 25 %
    Rate("Credit card", 0, 1800),  # credit cards: 18 %
    Rate("Credit card", 365, 3000),
))


@pytest.mark.parametrize(("product", "age", "rate"), [
    ("Online loan", 0, 2000),
    ("Online loan", 179, 2000),
    ("Online loan", 180, 2500),
    ("Online loan", 5000, 2500),
    ("Credit card", 0, 1800),      # the product's own rate beats any product's, at any age
    ("Credit card", 200, 1800),
    ("Credit card", 365, 3000),
    ("Credit card", -3, 1800),     # paid before the placement date recorded: the first band
])
def test_the_rate_is_the_products_own_then_the_highest_age_band_reached(product, age, rate):
    assert rate_for(CARD_TERMS, product, age) == rate


def test_terms_that_name_no_rate_for_an_account_charge_nothing():
    assert rate_for(Terms(date(2026, 1, 1), "net", (Rate("Auto", 0, 900),)), "Card", 10) == 0


HISTORY = [Terms(date(2026, 1, 1), "net", ()), Terms(date(2026, 7, 1), "gross", ())]


@pytest.mark.parametrize(("day", "method"), [
    (date(2026, 1, 1), "net"), (date(2026, 6, 30), "net"), (date(2026, 7, 1), "gross"),
    (date(2027, 3, 1), "gross"),
])
def test_the_terms_in_force_are_the_latest_started(day, method):
    assert terms_on(HISTORY, day).method == method


def test_before_any_terms_there_are_none():
    with pytest.raises(NoTerms):
        terms_on(HISTORY, date(2025, 12, 31))


@pytest.mark.parametrize(("parts", "commission"), [
    ([(10_000, 2500)], 2500),          # 25 % of 100.00
    ([(1, 5000)], 0),                  # 0.5 cent: half to even, 0
    ([(3, 5000)], 2),                  # 1.5 cents: half to even, 2
    ([(5, 5000)], 2),                  # 2.5 cents: 2
    ([(7, 5000)], 4),                  # 3.5 cents: 4
    ([(1, 5000), (1, 5000)], 1),       # summed exactly first, rounded once: 1, not 0 + 0
    ([(333, 1000), (333, 1000)], 67),  # 33.3 + 33.3 = 66.6 -> 67 (per payment: 33 + 33 = 66)
    ([(-5, 5000)], -2),                # a deduction rounds the same way
    ([(12_345, 1750)], 2160),          # 2160.375 -> 2160
    ([], 0),
])
def test_a_lines_commission_is_summed_exactly_and_rounded_half_even_once(parts, commission):
    assert line_commission(parts) == commission


def test_half_even_rounds_halves_to_the_even_neighbour():
    from fractions import Fraction

    assert [half_even(Fraction(n, 2)) for n in range(-3, 6)] == [-2, -1, 0, 0, 0, 1, 2, 2, 2]


def test_the_integer_rounding_of_a_lines_units_is_half_even_of_the_exact_fraction():
    """A line's commission is summed in 1/10,000 minor units and rounded in integers: the same
    as rounding the exact fraction, halves and deductions included."""
    from fractions import Fraction

    units = [*range(-40_001, 40_002), 12_345 * 1750, -12_345 * 1750, 10**15 + 5000]
    assert [basis_half_even(n) for n in units] == [half_even(Fraction(n, 10_000))
                                                   for n in units]


@pytest.mark.parametrize(("period", "start", "end"), [
    ("2026-11", "2026-11-01", "2026-12-01"),
    ("2026-12", "2026-12-01", "2027-01-01"),
    ("2024-02", "2024-02-01", "2024-03-01"),
])
def test_a_period_is_a_utc_month(period, start, end):
    first, after = period_bounds(period)
    assert (first.date().isoformat(), after.date().isoformat()) == (start, end)
    assert first.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "november", "", "2026-11-01", "20-11"])
def test_a_period_not_written_yyyy_mm_is_refused(period):
    with pytest.raises(BadPeriod):
        period_bounds(period)


def test_the_period_before_january_is_last_december():
    assert previous_period("2027-01") == "2026-12"
    assert previous_period("2026-11") == "2026-10"
