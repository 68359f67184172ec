"""The staff console: accounts, one case's timeline, and what staff record about contact."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.agency import scope, service
from portal.agency.forms import CrisisEndedForm, LiftHoldForm, StaffConsentForm, StaffHoldForm
from portal.cases.service import Actor, history
from portal.contact import operations as contact_operations
from portal.contact import service as contact
from portal.contact.forms import ConfirmPointForm, WithdrawConsentForm
from portal.contact.service import statements
from portal.disputes.service import resolution_notes
from portal.identity.roles import LIFT_HOLDS, RECORD_HOLDS, VIEW_CASES, allows
from portal.identity.rules import mask_email, mask_phone, mask_tail
from portal.operations import Refused, reading
from portal.plans.service import decision_notes
from portal.web.access import staff_required

bp = Blueprint("agency", __name__, url_prefix="/staff")


@bp.get("/accounts")
@staff_required(VIEW_CASES)
def accounts():
    # Bounded, so a huge number is an empty page, not an OFFSET overflow in PostgreSQL.
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    return render_template("agency/accounts.html", page=page,
                           views=service.list_accounts(current_user.agency_id, page))


def _said_elsewhere(events) -> dict[int, dict]:
    """By event id, what an event names rather than holds (personal data stays out of the
    record): a statement's words, a staff decision's note."""
    found = statements(events)
    for notes in (resolution_notes(events), decision_notes(events)):
        for event_id, note in notes.items():
            found.setdefault(event_id, {})["note"] = note
    return found


@bp.get("/accounts/<reference>")
@staff_required(VIEW_CASES)
def case(reference: str):
    view = service.open_case(current_user, reference, request.remote_addr)
    events = history(view.account.borrower_id, view.account.id)
    borrower_id = view.account.borrower_id
    return render_template(
        "agency/case.html",
        view=view,
        events=events,
        told=_said_elsewhere(events),
        mask_email=mask_email,
        mask_phone=mask_phone,
        mask_tail=mask_tail,
        country=contact.jurisdiction_of(view.account.borrower)[0],
        holds=contact.live_holds(borrower_id, view.account.id),
        consents=contact_operations.consents_of(borrower_id),
        may_record=allows(current_user.role, RECORD_HOLDS),
        may_lift=allows(current_user.role, LIFT_HOLDS),
        hold_form=StaffHoldForm(prefix="hold"), lift_form=LiftHoldForm(prefix="lift"),
        crisis_form=CrisisEndedForm(prefix="crisis"),
        consent_form=StaffConsentForm(prefix="consent"),
        withdraw_form=WithdrawConsentForm(prefix="withdraw"),
        confirm_form=ConfirmPointForm(prefix="confirm"),
    )


def _staff_actor() -> Actor:
    return Actor("staff", str(current_user.id), request.remote_addr)


def _contact_action(reference: str, form, run, done: str):
    """Run one staff action on the case's contact, then back to the case with what happened."""
    with reading():
        agency_id = scope.agency_of_account(reference)
    if agency_id is None or agency_id != current_user.agency_id:
        abort(404)  # another agency's case, or none: the same answer, before the form is read
    if not form.validate_on_submit():
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        flash(str(errors[0]) if errors else _("Check the form and try again."), "error")
        return redirect(url_for("agency.case", reference=reference), 303)
    try:
        run(form)
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("agency.case", reference=reference), 303)


@bp.post("/accounts/<reference>/holds")
@staff_required(RECORD_HOLDS)
def record_hold(reference: str):
    return _contact_action(
        reference, StaffHoldForm(prefix="hold"),
        lambda f: contact_operations.record_hold_on_case(
            current_user.agency_id, reference, f.hold.data, f.kind.data or None, _staff_actor()),
        _("Recorded. Contact is paused as the rule requires."))


@bp.post("/accounts/<reference>/holds/lift")
@staff_required(LIFT_HOLDS)
def lift_hold(reference: str):
    return _contact_action(
        reference, LiftHoldForm(prefix="lift"),
        lambda f: contact_operations.lift_hold_on_case(
            current_user.agency_id, reference, f.hold.data, f.how.data or None, _staff_actor()),
        _("Recorded. The hold is lifted."))


@bp.post("/accounts/<reference>/holds/crisis-ended")
@staff_required(RECORD_HOLDS)
def crisis_ended(reference: str):
    return _contact_action(
        reference, CrisisEndedForm(prefix="crisis"),
        lambda f: contact_operations.crisis_treatment_ended_on_case(
            current_user.agency_id, reference, f.ended_on.data, _staff_actor()),
        _("Recorded. The breathing space ends 30 days after treatment ended."))


@bp.post("/accounts/<reference>/consents")
@staff_required(RECORD_HOLDS)
def take_consent(reference: str):
    return _contact_action(
        reference, StaffConsentForm(prefix="consent"),
        lambda f: contact_operations.take_consent_on_case(
            current_user.agency_id, reference, f.channel.data, f.start.data, f.end.data,
            f.days.data, f.statement.data, _staff_actor()),
        _("Consent recorded. It is in effect now."))


@bp.post("/accounts/<reference>/contact-points/confirmed")
@staff_required(RECORD_HOLDS)
def confirm_point(reference: str):
    return _contact_action(
        reference, ConfirmPointForm(prefix="confirm"),
        lambda f: contact_operations.confirm_point_on_case(
            current_user.agency_id, reference, f.point.data, _staff_actor()),
        _("Recorded. Messages may go to this contact point again."))


@bp.post("/accounts/<reference>/consents/withdraw")
@staff_required(RECORD_HOLDS)
def withdraw_consent(reference: str):
    return _contact_action(
        reference, WithdrawConsentForm(prefix="withdraw"),
        lambda f: contact_operations.withdraw_consent_on_case(
            current_user.agency_id, reference, f.consent.data, _staff_actor()),
        _("Consent withdrawn. The usual hours apply again from now."))
