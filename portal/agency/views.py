"""The staff console: accounts, one case's page with all it holds, and what staff do on it."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.agency import scope, service
from portal.agency.forms import (
    AdjustmentForm,
    ConversationForm,
    CrisisEndedForm,
    EmptyForm,
    LiftHoldForm,
    MessageForm,
    NoteForm,
    PauseForm,
    RefundForm,
    StaffConsentForm,
    StaffHoldForm,
    TimeZoneForm,
)
from portal.cases.service import Actor
from portal.casework import actions
from portal.casework import page as caseview
from portal.casework.history import actor_words, describe
from portal.contact import operations as contact_operations
from portal.contact import service as contact
from portal.contact.forms import ConfirmPointForm, WithdrawConsentForm
from portal.contact.rulebook import RULES
from portal.contact.service import statements
from portal.contact.views import channel_name, outcome_name
from portal.disputes.service import resolution_notes
from portal.identity.refusals import refusal
from portal.identity.roles import (
    ADD_NOTES,
    ADJUST_BALANCES,
    CASE_ACTIONS,
    LIFT_HOLDS,
    MESSAGE_BORROWERS,
    PAUSE_CONTACT,
    RECORD_CONVERSATIONS,
    RECORD_HOLDS,
    REFUND_PAYMENTS,
    VIEW_CASES,
    allows,
)
from portal.identity.rules import mask_email, mask_phone, mask_tail
from portal.money import Money
from portal.operations import NotFound, Refused, reading
from portal.payments import refunds
from portal.payments.rules import PaymentStatus
from portal.plans.service import decision_notes
from portal.web.access import staff_required
from portal.web.i18n import long_date, money

bp = Blueprint("agency", __name__, url_prefix="/staff")


@bp.get("/accounts")
@staff_required(VIEW_CASES)
def accounts():
    # Bounded, so a huge number is an empty page, not an OFFSET overflow in PostgreSQL.
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    return render_template("agency/accounts.html", page=page,
                           views=service.list_accounts(current_user.agency_id, page))


def _words(sentence: str, params: dict) -> str:
    """A history sentence in the page's language, its codes named as people say them."""
    shown = {}
    for key, value in params.items():
        if isinstance(value, Money):
            shown[key] = money(value)
        elif key == "channel":
            shown[key] = channel_name(value)
        elif key == "outcome":
            shown[key] = outcome_name(value)
        elif key == "until":
            shown[key] = long_date(datetime.fromisoformat(value))
        else:
            shown[key] = value
    return _(sentence, **shown)


@bp.app_template_global("history_sentence")
def history_sentence(said) -> str:
    return _words(said.sentence, said.params)


@bp.app_template_global("history_flag")
def history_flag(said) -> str:
    return _words(said.flag, said.flag_params)


@bp.app_template_global("history_actor")
def history_actor(event) -> str:
    """Who did it, when not a staff member the page names: the borrower, the portal, a partner,
    the creditor (a lender's view)."""
    return _(actor_words(event.kind, event.actor_type))


def _said_elsewhere(events) -> dict[int, dict]:
    """By event id, what an event names rather than holds (personal data stays out of the
    record): a statement's words, a staff decision's note."""
    found = statements(events)
    for notes in (resolution_notes(events), decision_notes(events)):
        for event_id, note in notes.items():
            found.setdefault(event_id, {})["note"] = note
    return found


def _point_choices(borrower, kinds) -> list[tuple[int, str]]:
    """The borrower's phones or emails as a form offers them: masked, with their label."""
    return [(p.id, f"{mask_phone(p.value) if p.kind == 'phone' else mask_email(p.value)} "
                   f"({p.label})")
            for p in borrower.contact_points if p.kind in kinds]


def _render_case(reference: str, revealed=None):
    """The case page: every section, the actions the role may take, the refusal for the rest."""
    service.open_case(current_user, reference, request.remote_addr)
    case_file = caseview.load(current_user.agency_id, reference)
    if case_file is None:
        abort(404)
    view = case_file.view
    borrower = view.account.borrower
    role = current_user.role
    conversation_form = ConversationForm(prefix="talk")
    conversation_form.point.choices = _point_choices(borrower, ("phone", "email"))
    message_form = MessageForm(prefix="message")
    message_form.point.choices = _point_choices(borrower, ("phone", "email"))
    may = {action: allows(role, permission) for action, (permission, _w) in CASE_ACTIONS.items()}
    refusals = {action: refusal(role, permission)
                for action, (permission, _w) in CASE_ACTIONS.items() if not may[action]}
    refund_forms = {
        p.id: RefundForm(prefix=_refund_prefix(p.public_id), refunded_before=str(p.refunded_minor))
        for p in case_file.payments
        if may["refund"] and p.status == PaymentStatus.SUCCEEDED
        and p.amount_minor > p.refunded_minor + p.charged_back_minor}
    return render_template(
        "agency/case.html",
        case=case_file,
        view=view,
        events=case_file.events,
        said={e.id: describe(e.kind, e.data) for e in case_file.events},
        told=_said_elsewhere(case_file.events),
        revealed=revealed,
        mask_email=mask_email,
        mask_phone=mask_phone,
        mask_tail=mask_tail,
        country=contact.jurisdiction_of(borrower)[0],
        holds=case_file.holds,
        rules=RULES,
        consents=case_file.consents,
        may=may,
        refusals=refusals,
        may_record=may["hold"],
        may_lift=may["lift"],
        live_pause=next((h for h in case_file.holds if h.key == actions.PAUSE_KEY), None),
        hold_form=StaffHoldForm(prefix="hold"), lift_form=LiftHoldForm(prefix="lift"),
        crisis_form=CrisisEndedForm(prefix="crisis"),
        consent_form=StaffConsentForm(prefix="consent"),
        withdraw_form=WithdrawConsentForm(prefix="withdraw"),
        confirm_form=ConfirmPointForm(prefix="confirm"),
        note_form=NoteForm(prefix="note"),
        conversation_form=conversation_form,
        adjust_form=AdjustmentForm(prefix="adjust"),
        pause_form=PauseForm(prefix="pause"),
        message_form=message_form,
        refund_forms=refund_forms,
        button_form=EmptyForm(),
        zone_form=TimeZoneForm(prefix="tz", zone=current_user.shown_time_zone),
    )


@bp.get("/accounts/<reference>")
@staff_required(VIEW_CASES)
def case(reference: str):
    return _render_case(reference)


@bp.post("/accounts/<reference>/reveal")
@staff_required(VIEW_CASES)
def reveal(reference: str):
    """The same page with the personal data shown, the view recorded first (never on a GET)."""
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    revealed = actions.reveal_personal_data(_staff(), reference, request.remote_addr)
    return _render_case(reference, revealed)


def _staff_actor() -> Actor:
    return Actor("staff", str(current_user.id), request.remote_addr)


def _staff():
    """The signed-in staff user's row itself (not the proxy), for a service operation."""
    return current_user._get_current_object()


def _contact_action(reference: str, form, run, done, anchor: str = ""):
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
        result = run(form)
    except Refused as refused:
        flash(refused.message, "error")
    else:
        flash(done(result) if callable(done) else done, "success")
    return redirect(url_for("agency.case", reference=reference) + anchor, 303)


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


# --- the case view's actions (issue 15): each one service operation ---------------------------


@bp.post("/accounts/<reference>/notes")
@staff_required(ADD_NOTES)
def add_note(reference: str):
    return _contact_action(
        reference, NoteForm(prefix="note"),
        lambda f: actions.add_note(_staff(), reference, f.text.data, request.remote_addr),
        _("Note added."), "#notes")


def _conversation_done(attempt) -> str:
    if attempt.violation:
        return _("Recorded, and flagged for compliance review: the contact rules did not allow "
                 "it (%(rules)s).", rules=", ".join(attempt.violated_rules))
    return _("Conversation recorded. The contact rules count it from now.")


@bp.post("/accounts/<reference>/conversations")
@staff_required(RECORD_CONVERSATIONS)
def record_conversation(reference: str):
    return _contact_action(
        reference, ConversationForm(prefix="talk"),
        lambda f: actions.record_conversation(
            _staff(), reference, f.channel.data, f.direction.data, f.outcome.data, f.point.data,
            f.agreed.data, request.remote_addr),
        _conversation_done, "#attempts")


@bp.post("/accounts/<reference>/adjustments")
@staff_required(ADJUST_BALANCES)
def adjust_balance(reference: str):
    return _contact_action(
        reference, AdjustmentForm(prefix="adjust"),
        lambda f: actions.adjust_balance(
            _staff(), reference, f.direction.data, f.amount.data, f.component.data or None,
            f.reason.data, request.remote_addr),
        _("Balance adjusted. The ledger shows the adjustment."), "#balance")


def _refund_prefix(public_id) -> str:
    """Each payment's refund form has ids of its own on the case page."""
    return f"refund-{public_id.hex[:12]}"


def _refund_page(found, form, status: int = 200):
    return render_template("agency/refund.html", r=found, form=form), status


@bp.route("/accounts/<reference>/payments/<payment_id>/refund", methods=["GET", "POST"])
@staff_required(REFUND_PAYMENTS)
def refund_payment(reference: str, payment_id: str):
    """Refund a card payment: the form alone (GET), and its answer; a refusal is the form again
    with the message by its field and the status that says why (422, 409, 503)."""
    try:
        with reading():
            found = refunds.refundable(current_user.agency_id, reference, payment_id)
    except NotFound:
        abort(404)  # another agency's payment, or none: before the form is read
    form = RefundForm(prefix=_refund_prefix(found.public_id))
    if request.method == "GET":
        form.refunded_before.data = str(found.refunded_minor)
        return _refund_page(found, form)
    if not form.validate_on_submit():
        return _refund_page(found, form, 422)
    try:
        seen = int(form.refunded_before.data or "")
    except ValueError:
        seen = -1  # not what any page showed: refused as out of date
    try:
        amount = Money.parse(form.amount.data, found.amount.currency)
    except (ValueError, ArithmeticError):
        form.amount.errors.append(_("Give the amount as a number, like 25.00."))
        return _refund_page(found, form, 422)
    try:
        payment = refunds.refund(_staff(), found.public_id, amount, form.reason.data,
                                 reference=reference, seen_refunded=seen,
                                 source=request.remote_addr)
    except NotFound:
        abort(404)
    except refunds.RefundRefused as refused:
        (getattr(form, refused.field).errors if refused.field else form.form_errors).append(
            refused.message)
        if refused.status == 409:  # the payment moved on: show it as it is now
            with reading():
                found = refunds.refundable(current_user.agency_id, reference, payment_id)
            form.refunded_before.data = str(found.refunded_minor)
        return _refund_page(found, form, refused.status)
    flash(_("Refunded %(amount)s of payment %(receipt)s. The ledger shows the refund; the card "
            "usually gets the money back within 5 to 10 business days.", amount=money(amount),
            receipt=payment.receipt_number), "success")
    return redirect(url_for("agency.case", reference=reference) + "#payments", 303)


@bp.post("/accounts/<reference>/pause")
@staff_required(PAUSE_CONTACT)
def pause_contact(reference: str):
    return _contact_action(
        reference, PauseForm(prefix="pause"),
        lambda f: actions.pause_contact(_staff(), reference, f.until.data, f.reason.data,
                                        request.remote_addr),
        _("Contact is paused until the day you gave."), "#holds")


@bp.post("/accounts/<reference>/pause/lift")
@staff_required(PAUSE_CONTACT)
def lift_pause(reference: str):
    return _contact_action(
        reference, EmptyForm(),
        lambda f: actions.lift_pause(_staff(), reference, request.remote_addr),
        _("The pause is lifted."), "#holds")


@bp.post("/accounts/<reference>/messages")
@staff_required(MESSAGE_BORROWERS)
def send_message(reference: str):
    return _contact_action(
        reference, MessageForm(prefix="message"),
        lambda f: actions.send_message(_staff(), reference, f.channel.data, f.point.data,
                                       f.subject.data, f.body.data, request.remote_addr),
        _("Message sent."), "#message")


@bp.post("/time-zone")
@staff_required(VIEW_CASES)
def set_time_zone():
    """The staff member's own zone for the console's times; back to where they were."""
    form = TimeZoneForm(prefix="tz")
    back = request.form.get("next", "")
    if not back.startswith("/staff/") or back.startswith("//"):
        back = url_for("agency.accounts")
    if not form.validate_on_submit():
        flash(_("Give a time zone."), "error")
        return redirect(back, 303)
    try:
        zone = actions.set_time_zone(_staff(), form.zone.data)
    except Refused as refused:
        flash(refused.message, "error")
    else:
        flash(_("Times are shown in %(zone)s.", zone=zone), "success")
    return redirect(back, 303)
