"""A plan's schedule: dates and amounts that always add up to the total, to the cent. Pure."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Due:
    """One installment: when, and how much (minor units)."""

    number: int
    on: date
    amount: int


def monthly_date(first: date, months_later: int, day: int | None = None) -> date:
    """The same day of the month `months_later` months on, clamped to the month's last day
    (a plan paid on the 31st pays on 28 or 29 February)."""
    day = day or first.day
    month_index = first.month - 1 + months_later
    year, month = first.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def by_count(total: int, count: int, first: date, day: int | None = None) -> list[Due]:
    """`count` monthly installments as equal as whole minor units allow; the earlier ones carry
    the extra units, so no installment is ever more than one unit from another."""
    if total <= 0 or count <= 0:
        raise ValueError("a schedule needs a positive total and count")
    base, extra = divmod(total, count)
    return [Due(i + 1, monthly_date(first, i, day), base + (1 if i < extra else 0))
            for i in range(count)]


def by_amount(total: int, monthly: int, first: date, day: int | None = None) -> list[Due]:
    """Installments of `monthly` until the total is paid; the last one pays what is left."""
    if total <= 0 or monthly <= 0:
        raise ValueError("a schedule needs a positive total and monthly amount")
    count, last = divmod(total, monthly)
    amounts = [monthly] * count + ([last] if last else [])
    return [Due(i + 1, monthly_date(first, i, day), amount) for i, amount in enumerate(amounts)]


def lump(total: int, on: date) -> list[Due]:
    """A one-time settlement payment."""
    if total <= 0:
        raise ValueError("a settlement needs a positive amount")
    return [Due(1, on, total)]


def months_needed(total: int, monthly: int) -> int:
    return -(-total // monthly)
