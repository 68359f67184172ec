"""Which days a dashboard shows and how they are grouped: pure, so tested with tables."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: The period shown when none is asked for: the last 30 days, today included.
DEFAULT_DAYS = 30
#: The longest period one page shows (a year and a day, so a leap year fits).
MAX_DAYS = 366
GROUPINGS = ("day", "week")


@dataclass(frozen=True)
class Period:
    """Local days `start` to `end`, both included, shown per day or per week (weeks from Monday)."""

    start: date
    end: date
    by: str = "day"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def default(today: date, by: str = "day") -> Period:
    return Period(today - timedelta(days=DEFAULT_DAYS - 1), today, by)


def choose(start: date | None, end: date | None, by: str | None,
           today: date) -> tuple[Period, str | None]:
    """The period asked for, or the default with why the ask was not taken ('order', 'long')."""
    grouping = by if by in GROUPINGS else "day"
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        return default(today, grouping), "order"
    if (end - start).days + 1 > MAX_DAYS:
        return default(today, grouping), "long"
    return Period(start, end, grouping), None


def bucket_of(day: date, by: str) -> date:
    """The first day of the group `day` falls in: itself, or the Monday of its week."""
    return day - timedelta(days=day.weekday()) if by == "week" else day


def buckets(period: Period) -> list[date]:
    """Every group's first day, in order, empty groups included (a chart shows the gaps)."""
    step = 7 if period.by == "week" else 1
    first, last = bucket_of(period.start, period.by), bucket_of(period.end, period.by)
    return [first + timedelta(days=n) for n in range(0, (last - first).days + 1, step)]


def utc_bounds(period: Period, zone: str) -> tuple[datetime, datetime]:
    """The instants the period starts and ends at (end excluded), local midnights in UTC."""
    tz = ZoneInfo(zone)
    start = datetime.combine(period.start, time(), tz)
    end = datetime.combine(period.end + timedelta(days=1), time(), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def fold(rows: Iterable[tuple], by: str) -> dict[tuple, list[int]]:
    """Sum rows of (local day, key tuple, numbers) into their groups: {(group, *key): numbers}."""
    totals: dict[tuple, list[int]] = {}
    for day, key, numbers in rows:
        slot = (bucket_of(day, by), *key)
        if slot not in totals:
            totals[slot] = [0] * len(numbers)
        for i, n in enumerate(numbers):
            totals[slot][i] += n
    return totals
