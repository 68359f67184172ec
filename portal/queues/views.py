"""The queues' pages: an index with each queue's count, and one page per queue (sortable,
filterable, paged; htmx swaps the table alone, a plain request gets the whole page)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.contact.rulebook import RULES
from portal.disputes.rules import days_open, overdue
from portal.identity.roles import VIEW_CASES, allows
from portal.money import Money
from portal.numbers import number
from portal.operations import reading
from portal.queues import paging, service
from portal.queues.catalogue import QUEUES
from portal.web.access import staff_required
from portal.web.fragments import wants_fragment

bp = Blueprint("staff_queues", __name__)

#: The element htmx swaps when a sort, a filter or a page is chosen.
TABLE_ID = "queue-table"


def _may_see() -> list[str]:
    return [name for name, q in QUEUES.items() if allows(current_user.role, q.permission)]


@bp.get("/staff/queues")
@staff_required(VIEW_CASES)
def index():
    with reading():
        counted = service.counts(current_user.agency_id, _may_see(), datetime.now(UTC),
                                 current_user.shown_time_zone)
    return render_template("queues/index.html", queues=QUEUES, counted=counted)


def _refusal(bad: paging.BadQuery) -> str:
    return _("This address asks for something the queue does not offer (%(why)s). Open the "
             "queue again from its page.", why=str(bad))


def _show(name: str):
    queue = QUEUES[name]
    try:
        asked = service.asked(queue, request.args)
    except paging.BadQuery as bad:
        abort(400, description=_refusal(bad))
    now = datetime.now(UTC)
    with reading():
        shown = service.page_of(name, current_user.agency_id, asked, now,
                                current_user.shown_time_zone)
    template = "queues/_table.html" if wants_fragment(TABLE_ID) else "queues/queue.html"
    return render_template(template, shown=shown, table_id=TABLE_ID, today=now.date(),
                           days_open=days_open, overdue=overdue, number=number, Money=Money,
                           rules=RULES, who=_who)


def _who(reported_by: str) -> str:
    """Whether a partner's system, an agent or the portal itself reported a contact."""
    kind = service.reporter_kind(reported_by)
    return _("The portal") if kind == "system" else str(QUEUES["violations"].label("who", kind))


@bp.get("/staff/plans")
@staff_required(QUEUES["plans"].permission)
def plans():
    return _show("plans")


@bp.get("/staff/queues/hardship")
@staff_required(QUEUES["hardship"].permission)
def hardship():
    return _show("hardship")


@bp.get("/staff/disputes")
@staff_required(QUEUES["disputes"].permission)
def disputes():
    return _show("disputes")


@bp.get("/staff/queues/contact-violations")
@staff_required(QUEUES["violations"].permission)
def violations():
    return _show("violations")


@bp.get("/staff/queues/holds-ending")
@staff_required(QUEUES["holds"].permission)
def holds():
    return _show("holds")


@bp.get("/staff/queues/chargebacks")
@staff_required(QUEUES["chargebacks"].permission)
def chargebacks():
    return _show("chargebacks")


@bp.get("/staff/queues/bounced-messages")
@staff_required(QUEUES["bounced"].permission)
def bounced():
    return _show("bounced")


@bp.get("/staff/queues/imports-waiting")
@staff_required(QUEUES["imports"].permission)
def imports():
    return _show("imports")


@bp.get("/staff/queues/corrections")
@staff_required(QUEUES["corrections"].permission)
def corrections():
    return _show("corrections")
