"""The dashboard's numbers for one agency, one period, one time zone: read from the rollup the
triggers keep (tally_sql.py), one range of its primary key each."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, case, cast, func, select

from portal.accounts.models import Creditor
from portal.dashboard.models import DashboardTally
from portal.dashboard.period import Period, buckets, fold, utc_bounds
from portal.extensions import db

#: Open disputes' ages, in days: (label's lower bound, upper bound or None).
AGE_BANDS = ((0, 7), (8, 30), (31, 60), (61, None))


@dataclass(frozen=True)
class Collected:
    """What one creditor's borrowers paid by card in one day or week, in one currency."""

    bucket: date
    creditor: str
    currency: str
    payments: int
    paid_minor: int
    #: Given back in the same period (refunds, chargebacks), whichever payment it reversed.
    reversed_minor: int

    @property
    def net_minor(self) -> int:
        return self.paid_minor - self.reversed_minor


@dataclass(frozen=True)
class Disputes:
    bucket: date
    opened: int
    resolved: int
    withdrawn: int
    #: Days from opening to resolution or withdrawal, summed over those closed (for the mean).
    closed_age_seconds: int

    @property
    def mean_days_to_close(self) -> float | None:
        closed = self.resolved + self.withdrawn
        return round(self.closed_age_seconds / 86400 / closed, 1) if closed else None


def _tallies(agency_id: int, metric: str, period: Period, zone: str) -> list[tuple]:
    """(local day, creditor id or 0, key, currency, count, amount) of the agency's tallies: one
    range of the table's primary key."""
    start, end = utc_bounds(period, zone)
    t = DashboardTally
    day = cast(func.timezone(zone, t.bucket), Date)
    return list(db.session.execute(
        select(day, t.creditor_id, t.key, t.currency, cast(func.sum(t.count), BigInteger),
               cast(func.sum(t.amount), BigInteger))
        .where(t.metric == metric, t.agency_id == agency_id, t.bucket >= start, t.bucket < end)
        .group_by(day, t.creditor_id, t.key, t.currency)))


def _creditor_names(agency_id: int) -> dict[int, str]:
    return dict(db.session.execute(
        select(Creditor.id, Creditor.name).where(Creditor.agency_id == agency_id)).all())


def collected(agency_id: int, period: Period, zone: str) -> list[Collected]:
    """Per day or week, per creditor and currency: payments, paid and given back."""
    rows = _tallies(agency_id, "collected", period, zone)
    totals = fold(((day, (creditor, currency),
                    (count, amount if key == "payment" else 0, -amount if key == "reversal"
                     else 0)) for day, creditor, key, currency, count, amount in rows),
                  period.by)
    names = _creditor_names(agency_id)
    return sorted((Collected(bucket, names.get(creditor, str(creditor)), currency, *numbers)
                   for (bucket, creditor, currency), numbers in totals.items()),
                  key=lambda c: (c.bucket, c.creditor, c.currency))


def plans(agency_id: int, period: Period, zone: str) -> list[tuple[date, int, int]]:
    """Per day or week, every one shown: plans kept (all paid) and broken, by the day they
    ended."""
    rows = _tallies(agency_id, "plan_ended", period, zone)
    totals = fold(((day, (), (count if key == "completed" else 0,
                              count if key == "broken" else 0))
                   for day, _c, key, _cur, count, _a in rows), period.by)
    return [(b, *totals.get((b,), [0, 0])) for b in buckets(period)]


def disputes(agency_id: int, period: Period, zone: str) -> list[Disputes]:
    """Per day or week, every one shown: disputes opened, resolved and withdrawn."""
    opened = _tallies(agency_id, "dispute_opened", period, zone)
    closed = _tallies(agency_id, "dispute_closed", period, zone)
    totals = fold([*((day, (), (count, 0, 0, 0)) for day, _c, _k, _cur, count, _a in opened),
                   *((day, (), (0, count if key == "resolved" else 0,
                                count if key == "withdrawn" else 0, amount))
                     for day, _c, key, _cur, count, amount in closed)], period.by)
    return [Disputes(b, *totals.get((b,), [0, 0, 0, 0])) for b in buckets(period)]


def open_dispute_ages(agency_id: int, now: datetime) -> list[tuple[tuple, int]]:
    """The disputes still open now, counted by how many days they have been open (from the
    quarter hour each opened in: the rollup keeps the open ones by it)."""
    t = DashboardTally
    age = func.floor(func.extract("epoch", now - t.bucket) / 86400)
    band = case(*((age <= high, low) for low, high in AGE_BANDS if high is not None),
                else_=AGE_BANDS[-1][0])
    counts = dict(db.session.execute(
        select(band, cast(func.sum(t.count), BigInteger))
        .where(t.metric == "dispute_open", t.agency_id == agency_id, t.count != 0)
        .group_by(band)).all())
    return [((low, high), counts.get(low, 0)) for low, high in AGE_BANDS]


def _by_key(agency_id: int, metric: str, period: Period, zone: str) -> dict[str, list[int]]:
    """{key: [count, amount]} over the whole period and every creditor of the agency."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _day, _creditor, key, _cur, count, amount in _tallies(agency_id, metric, period, zone):
        found[key][0] += count
        found[key][1] += amount
    return found


def holds(agency_id: int, period: Period, zone: str) -> list[tuple[str, int, int]]:
    """Per rule: holds that started and holds that ended in the period (most started first)."""
    started = _by_key(agency_id, "hold_started", period, zone)
    ended = _by_key(agency_id, "hold_ended", period, zone)
    found = [(rule, started[rule][0], ended[rule][0]) for rule in {*started, *ended}]
    return sorted(found, key=lambda r: (-r[1], -r[2], r[0]))


def attempts(agency_id: int, period: Period, zone: str) -> list[tuple[str, int, int]]:
    """Per channel: contact attempts in the period, and those the rules would have blocked."""
    found = _by_key(agency_id, "attempt", period, zone)
    return sorted(((channel, *n) for channel, n in found.items()), key=lambda r: r[0])
