"""The Regulation F validation period (12 CFR 1006.34(b)(5)): when a borrower's right to dispute
with collection paused ends. Pure: dates in, dates out.

The notice is assumed received 5 days after it was sent, not counting Saturdays, Sundays and
federal public holidays; the period ends 30 days after that receipt.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

RECEIPT_BUSINESS_DAYS = 5
PERIOD_DAYS = 30


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@cache
def federal_holidays(year: int) -> frozenset[date]:
    """The legal public holidays of 5 USC 6103, as observed."""
    mon, thu = 0, 3
    fixed = [date(year, 1, 1), date(year, 6, 19), date(year, 7, 4), date(year, 11, 11),
             date(year, 12, 25)]
    floating = [
        _nth_weekday(year, 1, mon, 3),  # Birthday of Martin Luther King, Jr.
        _nth_weekday(year, 2, mon, 3),  # Washington's Birthday
        _last_weekday(year, 5, mon),  # Memorial Day
        _nth_weekday(year, 9, mon, 1),  # Labor Day
        _nth_weekday(year, 10, mon, 2),  # Columbus Day
        _nth_weekday(year, 11, thu, 4),  # Thanksgiving Day
    ]
    observed = {_observed(d) for d in fixed} | set(floating)
    # New Year's Day of next year observed on Friday 31 December.
    if date(year + 1, 1, 1).weekday() == 5:
        observed.add(date(year, 12, 31))
    return frozenset(observed)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in federal_holidays(day.year)


def assumed_receipt(sent: date) -> date:
    day, counted = sent, 0
    while counted < RECEIPT_BUSINESS_DAYS:
        day += timedelta(days=1)
        if is_business_day(day):
            counted += 1
    return day


def period_end(sent: date) -> date:
    """The last day of the validation period for a notice sent on `sent`."""
    return assumed_receipt(sent) + timedelta(days=PERIOD_DAYS)


def in_period(sent: date | None, today: date) -> bool:
    return sent is not None and today <= period_end(sent)
