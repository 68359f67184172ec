"""Local-time arithmetic for contact windows, safe across daylight-saving changes, and a
borrower's own date. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from portal.accounts.zones import everywhere, jurisdiction


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(at: datetime, zone_name: str) -> datetime:
    return at.astimezone(zone(zone_name))


def at_local(day: date, clock: time, zone_name: str) -> datetime:
    """The instant a wall clock in `zone_name` shows `clock` on `day` (first, if it shows twice)."""
    return datetime.combine(day, clock, tzinfo=zone(zone_name))


def in_window(clock: time, start: time, end: time) -> bool:
    """Is `clock` in [start, end)? A window may cross midnight (22:00-08:00)."""
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end


def next_window_start(at: datetime, start: time, end: time, zone_name: str) -> datetime:
    """The earliest instant >= at whose local clock is inside [start, end)."""
    here = local(at, zone_name)
    if in_window(here.timetz().replace(tzinfo=None), start, end):
        return at
    candidate = at_local(here.date(), start, zone_name)
    if candidate <= at:
        candidate = at_local(here.date() + timedelta(days=1), start, zone_name)
    return candidate


def window_end(at: datetime, start: time, end: time, zone_name: str) -> datetime:
    """When the window containing `at` closes (the next local `end` after at)."""
    here = local(at, zone_name)
    candidate = at_local(here.date(), end, zone_name)
    if candidate <= at:
        candidate = at_local(here.date() + timedelta(days=1), end, zone_name)
    return candidate


def day_start(day: date, zone_name: str) -> datetime:
    return at_local(day, time(0), zone_name)


def local_today(borrower, now: datetime | None = None) -> date:
    """The borrower's own date: the earliest among the zones of their contact points (a dispute
    sent at 20:30 in New York on the last day is inside the period, though it is tomorrow in
    UTC); where none has a zone, the earliest in every zone of their country (every US zone,
    Hawaii's and Alaska's too), never UTC. The rules judge the validation period so too
    (rules.borrower_date)."""
    now = now or datetime.now(UTC)
    zones = {z for p in borrower.contact_points for z in (p.time_zones or [])}
    if not zones:
        zones = set(everywhere(jurisdiction(borrower.mailing_address)[0]))
    return min((local(now, z).date() for z in zones), default=now.date())
