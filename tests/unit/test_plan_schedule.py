"""Plan schedules add up to the plan's total to the cent, whatever the amounts and dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.plans import schedule


@pytest.mark.parametrize(("first", "later", "day", "expected"), [
    (date(2026, 1, 15), 1, None, date(2026, 2, 15)),
    (date(2026, 1, 31), 1, None, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, None, date(2028, 2, 29)),  # leap year
    (date(2026, 1, 31), 2, None, date(2026, 3, 31)),  # back to the 31st after February
    (date(2026, 11, 30), 2, None, date(2027, 1, 30)),
    (date(2026, 12, 5), 1, 28, date(2027, 1, 28)),
])
def test_monthly_dates_clamp_to_the_end_of_short_months(first, later, day, expected):
    assert schedule.monthly_date(first, later, day) == expected


@pytest.mark.parametrize(("total", "count", "amounts"), [
    (83000, 12, [6917] * 8 + [6916] * 4),
    (100, 3, [34, 33, 33]),
    (5, 5, [1] * 5),
    (120000, 1, [120000]),
])
def test_by_count_spreads_the_odd_cents_over_the_first_installments(total, count, amounts):
    dues = schedule.by_count(total, count, date(2026, 12, 15))
    assert [d.amount for d in dues] == amounts
    assert [d.number for d in dues] == list(range(1, count + 1))


@pytest.mark.parametrize(("total", "monthly", "amounts"), [
    (83000, 10000, [10000] * 8 + [3000]),
    (83000, 83000, [83000]),
    (83000, 90000, [83000]),
    (100, 30, [30, 30, 30, 10]),
])
def test_by_amount_pays_what_is_left_last(total, monthly, amounts):
    dues = schedule.by_amount(total, min(monthly, total), date(2026, 12, 15))
    assert [d.amount for d in dues] == amounts


@pytest.mark.parametrize("call", [
    lambda: schedule.by_count(0, 3, date(2026, 1, 1)),
    lambda: schedule.by_count(100, 0, date(2026, 1, 1)),
    lambda: schedule.by_amount(100, 0, date(2026, 1, 1)),
    lambda: schedule.lump(0, date(2026, 1, 1)),
])
def test_nonsense_schedules_are_refused(call):
    with pytest.raises(ValueError):
        call()


@given(total=st.integers(1, 10**11), count=st.integers(1, 120),
       first=st.dates(date(2020, 1, 1), date(2040, 12, 31)))
def test_by_count_always_sums_to_the_total(total, count, first):
    dues = schedule.by_count(total, count, first)
    assert sum(d.amount for d in dues) == total
    assert max(d.amount for d in dues) - min(d.amount for d in dues) <= 1
    assert all(a.on < b.on for a, b in zip(dues, dues[1:], strict=False))


@given(total=st.integers(1, 10**11), monthly=st.integers(1, 10**9),
       first=st.dates(date(2020, 1, 1), date(2040, 12, 31)))
def test_by_amount_always_sums_to_the_total(total, monthly, first):
    monthly = min(monthly, total)
    if -(-total // monthly) > 600:
        monthly = -(-total // 600)
    dues = schedule.by_amount(total, monthly, first)
    assert sum(d.amount for d in dues) == total
    assert all(0 < d.amount <= monthly for d in dues)
    assert len(dues) == schedule.months_needed(total, monthly)
