"""Each dashboard chart as people read it: its title, its SVG and its numbers (a table on the
page and the same rows as CSV), in the viewer's language. The numbers come from service.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from portal.dashboard import service, svg
from portal.dashboard.period import Period, buckets
from portal.money import Money
from portal.web.i18n import amounts

#: The charts, in the order the page shows them (each one's id names its CSV).
NAMES = ("collected", "plans", "disputes", "dispute_ages", "holds", "attempts")


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    svgs: list[str]
    #: The table's column headings and rows as shown (translated, formatted).
    columns: list[str]
    rows: list[list[str]]
    #: The same rows for a spreadsheet: plain codes, ISO dates, amounts as decimals.
    csv_columns: list[str]
    csv_rows: list[list]


def _bucket_label(day: date, period: Period) -> str:
    if period.by == "week":
        return _("Week of %(day)s", day=format_date(day, "medium"))
    return format_date(day, "medium")


def _count(value: float) -> str:
    return format_decimal(value)


def _decimal(minor: int, currency: str) -> str:
    return str(Money(minor, currency).decimal)


def _by(period: Period) -> str:
    return _("per week") if period.by == "week" else _("per day")


def collected(agency_id: int, period: Period, zone: str) -> Chart:
    rows = service.collected(agency_id, period, zone)
    currencies = sorted({r.currency for r in rows})
    written = {currency: amounts(currency) for currency in currencies}
    days = buckets(period)
    labels = [_bucket_label(d, period) for d in days]
    label_of = dict(zip(days, labels, strict=True))
    svgs = []
    for currency in currencies:
        mine = [r for r in rows if r.currency == currency]
        lines = []
        for creditor in sorted({r.creditor for r in mine}):
            net = {r.bucket: r.net_minor for r in mine if r.creditor == creditor}
            lines.append(svg.Series(creditor, tuple(net.get(d, 0) for d in days)))
        svgs.append(svg.line_chart(
            f"chart-collected-{currency.lower()}",
            _("Collected in %(currency)s %(by)s, by creditor", currency=currency,
              by=_by(period)),
            _("Card payments less refunds and chargebacks, %(by)s from %(start)s to %(end)s, "
              "one line for each creditor.", by=_by(period), start=format_date(period.start),
              end=format_date(period.end)),
            labels, lines, currency, lambda v, c=currency: written[c](int(v))))
    return Chart(
        "collected", _("Collected, by creditor"), svgs,
        [_("Period"), _("Creditor"), _("Currency"), _("Payments"), _("Paid"), _("Given back"),
         _("Collected")],
        [[label_of[r.bucket], r.creditor, r.currency, _count(r.payments),
          written[r.currency](r.paid_minor), written[r.currency](r.reversed_minor),
          written[r.currency](r.net_minor)] for r in rows],
        ["period_start", "creditor", "currency", "payments", "paid", "given_back", "collected"],
        [[r.bucket.isoformat(), r.creditor, r.currency, r.payments,
          _decimal(r.paid_minor, r.currency), _decimal(r.reversed_minor, r.currency),
          _decimal(r.net_minor, r.currency)] for r in rows])


def plans(agency_id: int, period: Period, zone: str) -> Chart:
    rows = service.plans(agency_id, period, zone)
    labels = [_bucket_label(b, period) for b, *_n in rows]
    chart = svg.bar_chart(
        "chart-plans", _("Plans kept and broken %(by)s", by=_by(period)),
        _("Payment plans that ended %(by)s: kept (every installment paid, solid bars) and "
          "broken (an installment left unpaid, hatched bars).", by=_by(period)),
        labels, [svg.Series(_("Kept"), tuple(r[1] for r in rows)),
                 svg.Series(_("Broken"), tuple(r[2] for r in rows))], _("Plans"), _count)
    return Chart(
        "plans", _("Plans kept and broken"), [chart],
        [_("Period"), _("Kept"), _("Broken")],
        [[label, _count(kept), _count(broken)] for label, (_b, kept, broken) in
         zip(labels, rows, strict=True)],
        ["period_start", "kept", "broken"],
        [[b.isoformat(), kept, broken] for b, kept, broken in rows])


def disputes(agency_id: int, period: Period, zone: str) -> Chart:
    rows = service.disputes(agency_id, period, zone)
    labels = [_bucket_label(r.bucket, period) for r in rows]
    chart = svg.bar_chart(
        "chart-disputes", _("Disputes opened and closed %(by)s", by=_by(period)),
        _("Disputes opened (solid bars), resolved (hatched) and withdrawn (dotted) %(by)s.",
          by=_by(period)),
        labels, [svg.Series(_("Opened"), tuple(r.opened for r in rows)),
                 svg.Series(_("Resolved"), tuple(r.resolved for r in rows)),
                 svg.Series(_("Withdrawn"), tuple(r.withdrawn for r in rows))],
        _("Disputes"), _count)

    def mean(r: service.Disputes) -> str:
        return "" if r.mean_days_to_close is None else format_decimal(r.mean_days_to_close)

    return Chart(
        "disputes", _("Disputes opened and closed"), [chart],
        [_("Period"), _("Opened"), _("Resolved"), _("Withdrawn"),
         _("Mean days open, of those closed")],
        [[label, _count(r.opened), _count(r.resolved), _count(r.withdrawn), mean(r)]
         for label, r in zip(labels, rows, strict=True)],
        ["period_start", "opened", "resolved", "withdrawn", "mean_days_to_close"],
        [[r.bucket.isoformat(), r.opened, r.resolved, r.withdrawn,
          "" if r.mean_days_to_close is None else r.mean_days_to_close] for r in rows])


def _band(low: int, high: int | None) -> str:
    if high is None:
        return _("Over %(days)s days", days=low - 1)
    return _("%(low)s to %(high)s days", low=low, high=high)


def dispute_ages(agency_id: int, now: datetime) -> Chart:
    rows = service.open_dispute_ages(agency_id, now)
    labels = [_band(*band) for band, _n in rows]
    chart = svg.bar_chart(
        "chart-dispute-ages", _("Open disputes by age"),
        _("Disputes not yet resolved or withdrawn, by how many days they have been open."),
        labels, [svg.Series(_("Open disputes"), tuple(n for _b, n in rows))],
        _("Disputes"), _count)
    return Chart(
        "dispute_ages", _("Open disputes by age, today"), [chart],
        [_("Days open"), _("Open disputes")],
        [[label, _count(n)] for label, (_b, n) in zip(labels, rows, strict=True)],
        ["days_from", "days_to", "open_disputes"],
        [[low, "" if high is None else high, n] for (low, high), n in rows])


def holds(agency_id: int, period: Period, zone: str) -> Chart:
    rows = service.holds(agency_id, period, zone)
    chart = svg.bar_chart(
        "chart-holds", _("Holds by rule"),
        _("Holds on contact that started (solid bars) and ended (hatched) in the period, by "
          "the rule that required them."),
        [rule for rule, *_n in rows],
        [svg.Series(_("Started"), tuple(r[1] for r in rows)),
         svg.Series(_("Ended"), tuple(r[2] for r in rows))], _("Holds"), _count)
    return Chart(
        "holds", _("Holds by rule"), [chart], [_("Rule"), _("Started"), _("Ended")],
        [[rule, _count(started), _count(ended)] for rule, started, ended in rows],
        ["rule", "started", "ended"], [list(r) for r in rows])


def attempts(agency_id: int, period: Period, zone: str,
             channel_name: Callable[[str], str]) -> Chart:
    rows = service.attempts(agency_id, period, zone)
    chart = svg.bar_chart(
        "chart-attempts", _("Contact attempts and violations by channel"),
        _("Contact attempts in the period (solid bars) and those the contact rules would have "
          "blocked (hatched), by channel."),
        [channel_name(c) for c, *_n in rows],
        [svg.Series(_("Attempts"), tuple(r[1] for r in rows)),
         svg.Series(_("Violations"), tuple(r[2] for r in rows))], _("Attempts"), _count)
    return Chart(
        "attempts", _("Contact attempts and violations by channel"), [chart],
        [_("Channel"), _("Attempts"), _("Violations")],
        [[channel_name(c), _count(n), _count(v)] for c, n, v in rows],
        ["channel", "attempts", "violations"], [list(r) for r in rows])
