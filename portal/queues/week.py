"""Which instants "this week" covers for a person in a time zone: Monday 00:00 to the next
Monday 00:00 on their clock, so a hold ending Sunday night in Los Angeles is this week there
even when it is Monday in UTC. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def this_week(now: datetime, zone: str) -> tuple[datetime, datetime]:
    """[start, end) of the week holding `now` on `zone`'s clock, in UTC (DST-safe: each end is
    a local midnight converted on its own day)."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday, time(), tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), time(), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)
