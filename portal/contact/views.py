"""The borrower's contact preferences page and its statements (cease, attorney, bankruptcy...)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from portal.accounts.models import ContactKind
from portal.cases.service import Actor
from portal.contact import operations, service
from portal.contact.forms import (
    AttorneyForm,
    BankruptcyForm,
    BreathingSpaceForm,
    ConfirmForm,
    ConsentForm,
    EmailNoticesForm,
    PreferencesForm,
    WithdrawConsentForm,
)
from portal.contact.rulebook import RULES
from portal.identity.service import masked
from portal.notices import service as notices
from portal.operations import Refused
from portal.web.access import borrower_actor, borrower_required

bp = Blueprint("contact", __name__, url_prefix="/contact-preferences")

CHANNEL_NAMES = {
    "call": _l("Phone calls"), "sms": _l("Text messages"), "email": _l("Emails"),
    "letter": _l("Letters"), "visit": _l("Visits"), "third_party": _l("Contact with others"),
}
OUTCOME_NAMES = {
    "no_answer": _l("No answer"), "voicemail": _l("Voicemail left"), "busy": _l("Busy"),
    "conversation": _l("We spoke"), "wrong_number": _l("Wrong number"),
    "delivered": _l("Delivered"), "bounced": _l("Not delivered"), "cancelled": _l("Not sent"),
}


@bp.app_template_filter("channel_name")
def channel_name(channel: str) -> str:
    return str(CHANNEL_NAMES.get(channel, channel))


@bp.app_template_filter("outcome_name")
def outcome_name(outcome: str) -> str:
    return str(OUTCOME_NAMES.get(outcome, outcome))


@bp.app_template_global("rule_text")
def rule_text(rule_id: str) -> str:
    """The rule's plain-language text for borrowers (an English msgid, translated in the page)."""
    return RULES[rule_id].borrower_text


def _actor() -> Actor:
    return borrower_actor()


def _point_label(point) -> str:
    if point.kind == ContactKind.ADDRESS:
        return _("Letters to %(city)s", city=point.city)
    if point.kind == ContactKind.EMAIL:
        return _("Emails to %(address)s", address=masked(point))
    return _("Calls and texts to %(number)s", number=masked(point))


def _preferences_form(formdata=None) -> PreferencesForm:
    current = service.preferences_of(current_user.id)
    window = {w.get("kind"): w for w in current.get("inconvenient", [])}
    form = PreferencesForm(
        formdata=formdata,
        data={
            "blocked_channels": current.get("opted_out_channels", []),
            "blocked_points": current.get("opted_out_points", []),
            "not_before": window.get("not_before", {}).get("end", ""),
            "not_after": window.get("not_after", {}).get("start", ""),
            "not_at_work": current.get("workplace_prohibited", False),
            "language": current_user.preferred_language,
        },
    )
    form.blocked_points.choices = [
        SelectChoice(p.id, _point_label(p)) for p in current_user.contact_points
    ]
    return form


def _page(status=200, **forms):
    country, _region = service.jurisdiction_of(current_user)
    defaults = {
        "preferences": _preferences_form(),
        "cease": ConfirmForm(prefix="cease"),
        "attorney": AttorneyForm(prefix="attorney"),
        "bankruptcy": BankruptcyForm(prefix="bankruptcy"),
        "breathing": BreathingSpaceForm(prefix="breathing"),
        "consent": ConsentForm(prefix="consent"),
        "withdraw": WithdrawConsentForm(prefix="withdraw"),
        "email_notices": EmailNoticesForm(prefix="notices"),
        "stop_email_notices": ConfirmForm(prefix="notices-stop"),
    }
    defaults.update(forms)
    holds = service.live_holds(current_user.id, None)
    return render_template("contact/preferences.html", country=country, holds=holds,
                           consents=operations.consents_of(current_user.id),
                           **_email_notices(defaults["email_notices"]), **defaults), status


def _email_notices(form: EmailNoticesForm) -> dict:
    """What the "Notices by email" section shows: the consent in force (and since when) or the
    address a consent would name, masked; the tick box's words name that address."""
    consent = notices.email_consent(current_user.id)
    point = notices.consented_point(current_user) if consent else notices.email_for_notices(
        current_user)
    address = masked(point) if point is not None else None
    if address:
        form.agree.label.text = _("I have read this and agree to get notices by email at "
                                  "%(address)s, as well as by post.", address=address)
    return {"notices_consent": consent, "notices_address": address}


@bp.get("/")
@borrower_required
def page():
    return _page()


def _done(message: str):
    flash(message, "success")
    return redirect(url_for("contact.page"), 303)


@bp.post("/")
@borrower_required
def save_preferences():
    form = _preferences_form(request.form)
    if not form.validate():
        return _page(422, preferences=form)
    inconvenient = []
    if form.not_before.data:
        inconvenient.append({"kind": "not_before", "start": "00:00", "end": form.not_before.data})
    if form.not_after.data:
        inconvenient.append({"kind": "not_after", "start": form.not_after.data, "end": "00:00"})
    preferences = {
        "opted_out_channels": sorted(form.blocked_channels.data),
        "opted_out_points": sorted(form.blocked_points.data),
        "inconvenient": inconvenient,
        "workplace_prohibited": bool(form.not_at_work.data),
    }
    try:
        operations.change_preferences(current_user.id, preferences, form.language.data, _actor())
    except Refused as refusal:
        form.form_errors.append(refusal.message)
        return _page(refusal.status, preferences=form)
    return _done(_("Your contact preferences are saved and in effect now."))


@bp.post("/stop")
@borrower_required
def stop_contact():
    form = ConfirmForm(prefix="cease")
    if not form.validate():
        return _page(400, cease=form)
    operations.request_cease(current_user.id, _actor())
    return _done(_("We have stopped contacting you about your accounts."))


@bp.post("/resume")
@borrower_required
def resume_contact():
    form = ConfirmForm(prefix="cease")
    if not form.validate():
        return _page(400, cease=form)
    operations.withdraw_cease(current_user.id, _actor())
    return _done(_("We may contact you again, following your preferences."))


@bp.post("/attorney")
@borrower_required
def attorney():
    form = AttorneyForm(prefix="attorney")
    if not form.validate():
        return _page(422, attorney=form)
    operations.report_attorney(current_user.id, form.name.data, form.contact.data, _actor())
    return _done(_("Thank you. We will contact your attorney instead of you."))


@bp.post("/bankruptcy")
@borrower_required
def bankruptcy():
    form = BankruptcyForm(prefix="bankruptcy")
    if not form.validate():
        return _page(422, bankruptcy=form)
    operations.report_bankruptcy(current_user.id, form.case_number.data, _actor())
    return _done(_("Thank you. We have stopped collection while your bankruptcy is open."))


@bp.post("/breathing-space")
@borrower_required
def breathing_space():
    form = BreathingSpaceForm(prefix="breathing")
    if not form.validate():
        return _page(422, breathing=form)
    try:
        operations.report_breathing_space(current_user.id, form.kind.data, form.start.data,
                                          form.reference.data, _actor())
    except Refused as refusal:
        form.form_errors.append(refusal.message)
        return _page(refusal.status, breathing=form)
    return _done(_("Thank you. We have paused collection for your breathing space."))


@bp.post("/consent")
@borrower_required
def give_consent():
    form = ConsentForm(prefix="consent")
    if not form.validate():
        return _page(422, consent=form)
    try:
        operations.give_consent(current_user.id, form.channel.data, form.start.data,
                                form.end.data, form.days.data, _actor())
    except Refused as refusal:
        form.form_errors.append(refusal.message)
        return _page(refusal.status, consent=form)
    return _done(_("Thank you. We may contact you at those times too, until you withdraw it."))


@bp.post("/consent/withdraw")
@borrower_required
def withdraw_consent():
    form = WithdrawConsentForm(prefix="withdraw")
    if not form.validate():
        return _page(400, withdraw=form)
    try:
        operations.withdraw_consent(current_user.id, form.consent.data, _actor())
    except Refused as refusal:
        form.form_errors.append(refusal.message)
        return _page(refusal.status, withdraw=form)
    return _done(_("You withdrew your agreement. We keep to the usual hours again from now."))


@bp.post("/notices-by-email")
@borrower_required
def email_notices():
    form = EmailNoticesForm(prefix="notices")
    if not form.validate():
        return _page(422, email_notices=form)
    try:
        notices.consent_to_email(current_user.id, _actor())
    except Refused as refusal:
        form.form_errors.append(refusal.message)
        return _page(refusal.status, email_notices=form)
    return _done(_("Thank you. We will send notices by email as well as by post, until you "
                   "withdraw."))


@bp.post("/notices-by-email/withdraw")
@borrower_required
def stop_email_notices():
    form = ConfirmForm(prefix="notices-stop")
    if not form.validate():
        return _page(400, stop_email_notices=form)
    try:
        notices.withdraw_email_consent(current_user.id, _actor())
    except Refused as refusal:
        form.form_errors.append(refusal.message)
        return _page(refusal.status, stop_email_notices=form)
    return _done(_("You withdrew your agreement. Notices come by post only from now on."))
