"""A month to reconcile or remit, and a remittance deadline after its end: pure dates, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month, judged in UTC (Stripe's `created` times are Unix seconds)."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """'2026-11' -> Period(2026, 11); ValueError for anything else."""
        found = _MONTH.match((text or "").strip())
        if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
            raise ValueError(f"not a month like 2026-11: {text!r}")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Period:
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def last_day(self) -> date:
        return self.next.first_day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the month (exclusive bound)."""
        return self.next.start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class RemittanceDeadline:
    """When money collected in a month must reach the creditor: `days` after the month's end,
    counted as calendar days or as business days (Monday to Friday; holidays are not known)."""

    days: int
    business_days: bool = False

    def due(self, period: Period) -> date:
        day = period.last_day
        if not self.business_days:
            return day + timedelta(days=self.days)
        left = self.days
        while left > 0:
            day += timedelta(days=1)
            if day.weekday() < 5:
                left -= 1
        return day


#: Examples of state rules (README, "Trust accounting"): Washington wants clients paid within
#: 30 days after the month's end; Illinois wants deposits within 5 business days.
WASHINGTON = RemittanceDeadline(30)
ILLINOIS = RemittanceDeadline(5, business_days=True)
#: Until an agency sets its own.
DEFAULT_DEADLINE = WASHINGTON
