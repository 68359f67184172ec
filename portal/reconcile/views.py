"""The console's reconciliation page (/staff/reconciliation?period=2026-11): what matched Stripe,
what either side lacks, the differences to the cent and their explanations."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.identity.roles import EXPLAIN_DIFFERENCES, VIEW_RECONCILIATION, allows
from portal.lenders import trust as trust_accounting
from portal.operations import NotFound, Refused, reading
from portal.payments.gateway import GatewayError
from portal.reconcile import review, service
from portal.reconcile.forms import ExplainForm, RunForm
from portal.reconcile.period import Period
from portal.web.access import staff_required

bp = Blueprint("reconcile", __name__, url_prefix="/staff")

#: Each outcome as the page names it.
OUTCOMES = {"matched": _l("Matched"), "stripe_only": _l("At Stripe, not ours"),
            "ours_only": _l("Ours, never settled by Stripe"),
            "difference": _l("Amounts differ")}
#: Stripe's reporting categories as people say them.
CATEGORIES = {"charge": _l("Card payments"), "refund": _l("Refunds"),
              "dispute": _l("Chargebacks"), "payout": _l("Payouts")}


def _period(text: str | None) -> Period:
    if not text:
        return Period.of(datetime.now(UTC).date())
    try:
        return Period.parse(text)
    except ValueError:
        abort(404)


def _page(period: Period, explain_form: ExplainForm | None = None, status: int = 200):
    with reading("reconcile.page"):
        found = review.review(current_user.agency_id, period)
        return render_template(
            "reconcile/page.html", period=period, found=found, outcomes=OUTCOMES,
            categories=CATEGORIES, failed=explain_form,
            may_explain=allows(current_user.role, EXPLAIN_DIFFERENCES),
            explain_form=ExplainForm, run_form=RunForm(period=str(period)),
            months=[period.previous, period, period.next]), status


@bp.get("/reconciliation")
@staff_required(VIEW_RECONCILIATION)
def page():
    return _page(_period(request.args.get("period")))


@bp.post("/reconciliation/run")
@staff_required(VIEW_RECONCILIATION)
def run_now():
    """Read the month from Stripe now (the worker does it every hour)."""
    form = RunForm()
    if not form.validate_on_submit():
        return _page(_period(request.args.get("period")), status=422)
    period = _period(form.period.data)
    try:
        result = service.run(current_user.agency_id, period)
    except GatewayError:
        flash(_("Stripe could not be reached; nothing changed. Try again in a few minutes."),
              "error")
    else:
        flash(_("Reconciled with Stripe: %(count)s lines, %(changed)s changed.",
                count=result.items, changed=result.added + result.changed + result.removed),
              "success")
    return redirect(url_for("reconcile.page", period=str(period)), 303)


@bp.post("/reconciliation/explain")
@staff_required(EXPLAIN_DIFFERENCES)
def explain():
    form = ExplainForm()
    if not form.validate_on_submit():
        return _page(_period(form.period.data or None), form, 422)
    period = _period(form.period.data)
    try:
        review.explain(current_user._get_current_object(), period, form.key.data,
                       form.text.data, request.remote_addr)
    except NotFound:
        abort(404)
    except Refused as refusal:
        form.text.errors = [refusal.message]
        return _page(period, form, refusal.status)
    flash(_("Your explanation is kept; this line no longer holds the month open."), "success")
    return redirect(url_for("reconcile.page", period=str(period)) + "#open", 303)


@bp.get("/trust")
@staff_required(VIEW_RECONCILIATION)
def trust():
    """Per creditor and month: collected, remitted, still owed, and what is overdue."""
    today = datetime.now(UTC).date()
    with reading("reconcile.trust"):
        lines = trust_accounting.ledger(current_user.agency_id, today=today)
        rule = trust_accounting.deadline(current_user.agency_id)
    return render_template("reconcile/trust.html", lines=lines, rule=rule, today=today)
