"""The borrower's plan pages (a live calculator, the decision, accepting) and the staff queue."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.accounts.service import account_of
from portal.cases.service import Actor
from portal.identity.roles import WORK_PLANS
from portal.money import Money
from portal.operations import Refused, reading
from portal.payments.gateway import GatewayError, gateway
from portal.payments.views import _allow_stripe_js
from portal.plans import autopay, charging, service
from portal.plans.forms import AcceptForm, ConfirmForm, DayForm, DecisionForm, PlanForm
from portal.plans.models import InstallmentStatus, PlanStatus
from portal.web.access import borrower_actor, borrower_required, staff_required
from portal.web.fragments import wants_fragment
from portal.web.i18n import long_date, money

log = logging.getLogger("portal.plans")
bp = Blueprint("plans", __name__)
staff_bp = Blueprint("staff_plans", __name__, url_prefix="/staff/plans")

#: Each reason as the borrower reads it; figures are minor units, shown as money.
REASON_TEXT = {
    "within_policy": _l("%(monthly)s a month for %(months)s months is within the creditor's "
                        "rules (at least %(minimum)s a month, at most %(max_months)s months)."),
    "below_minimum": _l("%(monthly)s a month is below the creditor's minimum of %(minimum)s."),
    "too_long": _l("%(months)s months is longer than the creditor's maximum of "
                   "%(max_months)s months."),
    "counter": _l("We can offer %(monthly)s a month for %(months)s months."),
    "budget_below_policy": _l("Your budget leaves %(affordable)s a month, less than the "
                              "%(needed)s the rules need, so a person will look at it."),
    "settlement_within_policy": _l("A one-time %(offer)s settles the debt (the creditor accepts "
                                   "%(floor)s or more): you save %(saving)s."),
    "settlement_below_floor": _l("%(offer)s is below what the creditor can accept to settle "
                                 "(%(floor)s)."),
    "counter_settlement": _l("We can accept %(settlement)s as a one-time settlement."),
    "settlement_too_low": _l("%(offer)s is too far below what the creditor can accept to "
                             "settle (%(floor)s). You can propose monthly payments instead."),
    "full_balance": _l("%(offer)s pays the whole balance."),
    "hardship_review": _l("A person reviews every hardship request; we pause collection "
                          "contact while they do."),
    "pause_longer_than_usual": _l("A pause of %(pause_days)s days is longer than the usual "
                                  "%(max_days)s days; the reviewer will consider it."),
    "below_hardship_minimum": _l("%(monthly)s a month is below the usual hardship minimum of "
                                 "%(minimum)s; the reviewer will consider it."),
    "staff_decision": _l("Decided by a member of our team."),
    "nothing_owed": _l("There is nothing left to pay on this account."),
    "incomplete": _l("The proposal was missing an amount."),
}
MONEY_FIGURES = {"monthly", "minimum", "affordable", "needed", "offer", "floor", "saving",
                 "settlement"}
STATUS_NAMES = {
    "approved": _l("Approved"), "countered": _l("We made you an offer"),
    "referred": _l("With a person for review"), "declined": _l("Declined"),
    "active": _l("Active"), "completed": _l("Completed"), "broken": _l("Ended: missed payment"),
    "canceled": _l("Cancelled"),
}


def describe(reason: dict, currency: str) -> str:
    figures = {k: (money(Money(v, currency)) if k in MONEY_FIGURES and v is not None else v)
               for k, v in (reason.get("figures") or {}).items()}
    return str(REASON_TEXT.get(reason["code"], reason["code"])) % figures


INSTALLMENT_NAMES = {"scheduled": _l("Due"), "processing": _l("Being paid"), "paid": _l("Paid"),
                     "failed": _l("Payment failed")}


@bp.app_template_filter("installment_status")
def installment_status(status: str) -> str:
    return str(INSTALLMENT_NAMES.get(status, status))


@bp.app_template_filter("plan_status")
def plan_status(status: str) -> str:
    return str(STATUS_NAMES.get(status, status))


def _actor() -> Actor:
    return borrower_actor()


def _ask(form: PlanForm) -> service.Ask:
    budget = {c: getattr(form, c).data for c in ("income", "fixed_costs", "flexible_costs",
                                                 "other_debts")}
    return service.Ask(kind=form.kind.data or "installments", monthly=form.monthly.data,
                       months=form.months.data, settlement=form.settlement.data,
                       first_due=form.first_due.data, pause_days=form.pause_days.data,
                       hardship_reason=form.hardship_reason.data,
                       hardship_details=form.hardship_details.data, budget=budget)


def _today():
    return datetime.now(UTC).date()


@bp.route("/accounts/<reference>/plan", methods=["GET", "POST"])
@borrower_required
def calculator(reference: str):
    view = account_of(current_user, reference, _today())
    form = PlanForm()
    seen, error = None, None
    if request.method == "POST":
        if not form.validate():
            error = next(iter(form.errors.values()))[0]
        elif request.form.get("action") == "propose":
            try:
                plan = service.propose(current_user.id, reference, _ask(form), _actor())
            except Refused as refusal:
                error = refusal.message
            else:
                return redirect(url_for("plans.show", plan_number=plan.number), 303)
        if error is None:
            try:
                seen = service.preview(view.account, _ask(form), _today())
            except Refused as refusal:
                error = refusal.message
    fragment = wants_fragment("plan-preview")
    template = "plans/_preview.html" if fragment else "plans/calculator.html"
    status = 422 if error and not fragment else 200
    return render_template(template, view=view, form=form, seen=seen, error=error,
                           describe=describe), status


@bp.get("/plans/<plan_number>")
@borrower_required
def show(plan_number: str):
    plan = service.own_plan(current_user.id, plan_number)
    return render_template("plans/show.html", plan=plan, dues=service.schedule_of(plan),
                           describe=describe, form=ConfirmForm(), day_form=_day_form(plan),
                           review_days=service.REVIEW_DAYS,
                           payable=charging.payable_installment(plan))


@bp.post("/plans/<plan_number>/review")
@borrower_required
def review(plan_number: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.request_review(current_user.id, plan_number, _actor())
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(_("A person will review your proposal within %(n)d working days.",
                n=service.REVIEW_DAYS), "success")
    return redirect(url_for("plans.show", plan_number=plan_number), 303)


@bp.post("/plans/<plan_number>/counter")
@borrower_required
def counter(plan_number: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.accept_counter(current_user.id, plan_number, _actor())
    except Refused as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("plans.show", plan_number=plan_number), 303)
    return redirect(url_for("plans.accept", plan_number=plan_number), 303)


def consent_text(plan, dues) -> str:
    first, last = dues[0], dues[-1]
    return service.CONSENT.format(
        creditor=plan.account.creditor.name, amount=money(Money(first.amount, plan.currency)),
        day=first.on.day, first=long_date(first.on), last=long_date(last.on), count=len(dues),
        total=money(plan.total), account=plan.account.reference)


@bp.route("/plans/<plan_number>/accept", methods=["GET", "POST"])
@borrower_required
def accept(plan_number: str):
    plan = service.own_plan(current_user.id, plan_number)
    if plan.status != PlanStatus.APPROVED:
        return redirect(url_for("plans.show", plan_number=plan_number), 303)
    dues = service.schedule_of(plan)
    form = AcceptForm()
    error = None
    if form.validate_on_submit():
        autopay = request.form.get("how") == "autopay"
        if autopay and not form.autopay_consent.data:
            error = _("Tick the box to agree to the recurring payments, or choose to pay each "
                      "installment yourself.")
        else:
            try:
                service.accept(current_user.id, plan_number, autopay,
                               consent_text(plan, dues) if autopay else None, _actor())
            except Refused as refusal:
                error = refusal.message
            else:
                flash(_("Your plan %(number)s has started.", number=plan.number), "success")
                return redirect(url_for("plans.show", plan_number=plan_number), 303)
    return render_template("plans/accept.html", plan=plan, dues=dues, form=form, error=error,
                           consent=consent_text(plan, dues) if dues else ""), \
        422 if error else 200


@bp.app_template_global("active_plan")
def active_plan(account):
    """The borrower's active plan on this account and the installment payable by hand now
    (for the pay page), or (None, None)."""
    plan = charging.active_plan(account.id, current_user.id)
    return (plan, charging.payable_installment(plan)) if plan else (None, None)


@bp.route("/plans/<plan_number>/card", methods=["GET", "POST"])
@borrower_required
def card(plan_number: str):
    """Save a card for autopay: Stripe.js confirms a SetupIntent in the browser (the card number
    never reaches us); the form then posts and the card is kept on the plan."""
    plan = service.own_plan(current_user.id, plan_number)
    back = "plans.accept" if plan.status == PlanStatus.APPROVED else "plans.show"
    form = ConfirmForm()
    error = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            autopay.save_card(current_user.id, plan_number, _actor())
        except (Refused, GatewayError) as problem:
            error = problem.message if isinstance(problem, Refused) else _(
                "We could not reach our card processor. Please try again.")
        else:
            flash(_("Your card is saved for autopay."), "success")
            return redirect(url_for(back, plan_number=plan_number), 303)
    try:
        secret = autopay.card_secret(current_user.id, plan_number)
    except Refused as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("plans.show", plan_number=plan_number), 303)
    except GatewayError as exc:
        log.warning("plan %s: card form unavailable: %s", plan_number, exc)
        flash(_("Saving a card is not available right now. Please try again later."), "error")
        return redirect(url_for(back, plan_number=plan_number), 303)
    plan = service.own_plan(current_user.id, plan_number)
    _allow_stripe_js()
    return render_template("plans/card.html", plan=plan, client_secret=secret, form=form,
                           error=error, back=back, publishable_key=gateway().publishable_key,
                           js_url=gateway().js_url), 422 if error else 200


def _day_form(plan) -> DayForm:
    """The payment-day form, set to the day the next scheduled installment falls on."""
    coming = [i.due_on for i in plan.installments if i.status == InstallmentStatus.SCHEDULED]
    if not coming:
        return DayForm()
    return DayForm(day=str(min(min(coming).day, autopay.LAST_DAY)))


@bp.post("/plans/<plan_number>/day")
@borrower_required
def change_day(plan_number: str):
    form = DayForm()
    if not form.validate_on_submit():
        service.own_plan(current_user.id, plan_number)  # someone else's plan: 404, not a hint
        flash(_("Choose a day from 1 to %(n)d.", n=autopay.LAST_DAY), "error")
        return redirect(url_for("plans.show", plan_number=plan_number), 303)
    try:
        autopay.change_day(current_user.id, plan_number, form.day.data, _actor())
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(_("Your payment date has changed."), "success")
    return redirect(url_for("plans.show", plan_number=plan_number), 303)


@bp.post("/plans/<plan_number>/autopay/cancel")
@borrower_required
def cancel_autopay(plan_number: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        autopay.cancel_autopay(current_user.id, plan_number, _actor())
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(_("Autopay is off. Your plan goes on: pay each installment yourself."), "success")
    return redirect(url_for("plans.show", plan_number=plan_number), 303)


@bp.post("/plans/<plan_number>/pay-installment")
@borrower_required
def pay_installment(plan_number: str):
    """Pay the next installment by hand: a card payment for its amount, then the card page."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        payment = charging.start_installment_payment(current_user.id, plan_number)
    except Refused as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("plans.show", plan_number=plan_number), 303)
    return redirect(url_for("payments.card", payment_id=payment.public_id), 303)


# --- staff ---------------------------------------------------------------------------------------


def _staff_actor() -> Actor:
    return Actor("staff", str(current_user.id), request.remote_addr)


@staff_bp.get("/<plan_number>")
@staff_required(WORK_PLANS)
def case(plan_number: str):
    plan = service.open_for_staff(current_user.agency_id, plan_number, _staff_actor(),
                                  current_user.role)
    budget = json.loads(plan.budget) if plan.budget else None
    return render_template("plans/staff_case.html", plan=plan, budget=budget,
                           dues=service.schedule_of(plan), describe=describe,
                           form=DecisionForm())


@staff_bp.post("/<plan_number>/decide")
@staff_required(WORK_PLANS)
def decide(plan_number: str):
    # Another agency's plan is 404, before the form is read; the read ends here, so the
    # decision's own locked read loads the plan afresh.
    with reading("whether the plan is the agency's"):
        service.staff_plan(current_user.agency_id, plan_number)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.staff_decide(current_user.agency_id, plan_number, form.outcome.data or "",
                             form.monthly.data, form.months.data, form.settlement.data,
                             form.note.data or "", _staff_actor())
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("staff_plans.case", plan_number=plan_number), 303)
