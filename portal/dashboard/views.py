"""The supervisor's dashboard page and its charts' CSV, for the viewer's agency and time zone."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from portal import csvsafe
from portal.contact.views import channel_name
from portal.dashboard import charts
from portal.dashboard.forms import PeriodForm
from portal.dashboard.period import MAX_DAYS, Period, choose
from portal.identity.roles import VIEW_DASHBOARD
from portal.operations import reading
from portal.web.access import staff_required

bp = Blueprint("dashboard", __name__, url_prefix="/staff")


def _period(form: PeriodForm, zone: str) -> tuple[Period, str | None]:
    """The period asked for (dates in the viewer's zone), or the last 30 days and why."""
    form.validate()
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    period, problem = choose(None if form.start.errors else form.start.data,
                             None if form.end.errors else form.end.data, form.by.data, today)
    if form.start.errors or form.end.errors:
        problem = "date"
    return period, problem


PROBLEMS = {
    "order": lambda: _("The start of the period was after its end, so the last 30 days are "
                       "shown."),
    "long": lambda: _("A period can be at most %(days)s days, so the last 30 days are shown.",
                      days=MAX_DAYS),
    "date": lambda: _("A date was not understood (write it as YYYY-MM-DD); the dates that were "
                      "are used."),
}


def _chart(name: str, agency_id: int, period: Period, zone: str) -> charts.Chart:
    if name == "dispute_ages":
        return charts.dispute_ages(agency_id, datetime.now(UTC))
    if name == "attempts":
        return charts.attempts(agency_id, period, zone, channel_name)
    return getattr(charts, name)(agency_id, period, zone)


@bp.get("/dashboard")
@staff_required(VIEW_DASHBOARD)
def page():
    zone = current_user.shown_time_zone
    form = PeriodForm(request.args)
    period, problem = _period(form, zone)
    form.start.data, form.end.data, form.by.data = period.start, period.end, period.by
    query = {"start": period.start.isoformat(), "end": period.end.isoformat(), "by": period.by}
    with reading("the dashboard"):
        shown = [_chart(name, current_user.agency_id, period, zone) for name in charts.NAMES]
        return render_template("dashboard/page.html", form=form, charts=shown, zone=zone,
                               period=period, query=query,
                               problem=PROBLEMS[problem]() if problem else None)


@bp.get("/dashboard.csv")
@staff_required(VIEW_DASHBOARD)
def csv_export():
    name = request.args.get("chart") or charts.NAMES[0]
    if name not in charts.NAMES:
        abort(404)
    zone = current_user.shown_time_zone
    period, _problem = _period(PeriodForm(request.args), zone)
    with reading("a dashboard export"):
        chart = _chart(name, current_user.agency_id, period, zone)
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(chart.csv_columns)
    writer.writerows(chart.csv_rows)
    filename = f"{name}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})
