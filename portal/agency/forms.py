"""The staff console's forms: what staff record and do on a case."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateField, TimeField
from wtforms.validators import InputRequired, Length

from portal.contact.forms import ConsentForm
from portal.web.bounds import ROW_ID

HOLD_CHOICES = {
    "deceased": _l("The borrower has died (contact only the estate's representative)"),
    "mental_capacity": _l("There is doubt about the borrower's mental capacity"),
    "insolvency": _l("The borrower is insolvent (bankruptcy, debt relief order or IVA)"),
}
LIFT_CHOICES = {
    "mental_capacity": _l("The borrower's mental capacity is established"),
    "insolvency": _l("The insolvency has ended"),
}


class StaffHoldForm(FlaskForm):
    hold = RadioField(_l("What to record"),
                      choices=[SelectChoice(k, v) for k, v in HOLD_CHOICES.items()],
                      validators=[InputRequired(_l("Choose what to record."))])
    kind = SelectField(_l("Kind of insolvency (if insolvent)"), default="", choices=[
        SelectChoice("", _l("Not insolvency")), SelectChoice("bankruptcy", _l("Bankruptcy")),
        SelectChoice("dro", _l("Debt relief order")),
        SelectChoice("iva", _l("Individual voluntary arrangement"))])


class LiftHoldForm(FlaskForm):
    hold = RadioField(_l("What to lift"),
                      choices=[SelectChoice(k, v) for k, v in LIFT_CHOICES.items()],
                      validators=[InputRequired(_l("Choose what to lift."))])
    how = SelectField(_l("How the insolvency ended (if it did)"), default="", choices=[
        SelectChoice("", _l("Not insolvency")), SelectChoice("discharged", _l("Discharged")),
        SelectChoice("revoked", _l("Revoked")), SelectChoice("failed", _l("Failed"))])


class CrisisEndedForm(FlaskForm):
    ended_on = DateField(_l("Date crisis treatment ended"),
                         validators=[InputRequired(_l("Give the date treatment ended."))])


class StaffConsentForm(ConsentForm):
    start = TimeField(_l("From (the borrower's local time)"),
                      validators=[InputRequired(_l("Give the time, like 07:00."))])
    end = TimeField(_l("Until (the borrower's local time)"),
                    validators=[InputRequired(_l("Give the time, like 08:00."))])
    statement = TextAreaField(
        _l("What the borrower said"),
        description=_l("In their words where you can: when and how they agreed."),
        validators=[InputRequired(_l("Write down what the borrower said when they agreed.")),
                    Length(max=1000)])


# --- the case view's actions (issue 15) --------------------------------------------------------

CONVERSATION_CHANNELS = {
    "call": _l("Phone call"), "visit": _l("Visit"), "sms": _l("Text messages"),
    "email": _l("Email"),
}
CONVERSATION_OUTCOMES = {
    "conversation": _l("We spoke with the borrower"), "no_answer": _l("No answer"),
    "voicemail": _l("Left a voicemail"), "busy": _l("Busy (not connected)"),
    "wrong_number": _l("Wrong number"),
}


def _point_id(value):
    """A contact point's id from the form, or None (the service says what is missing)."""
    text = str(value or "")
    if not (text.isascii() and text.isdigit()) or int(text) > ROW_ID.max:
        return None
    return int(text)


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Note"), validators=[InputRequired(_l("Write the note.")),
                                                 Length(max=2000)])


class ConversationForm(FlaskForm):
    channel = SelectField(_l("How"), default="call", choices=[
        SelectChoice(k, v) for k, v in CONVERSATION_CHANNELS.items()])
    direction = RadioField(_l("Who made contact"), default="outbound", choices=[
        SelectChoice("outbound", _l("We contacted the borrower")),
        SelectChoice("inbound", _l("The borrower contacted us"))],
        validators=[InputRequired(_l("Choose who made contact."))])
    outcome = SelectField(_l("Outcome"), default="conversation", choices=[
        SelectChoice(k, v) for k, v in CONVERSATION_OUTCOMES.items()])
    point = SelectField(_l("Phone number or email"), coerce=_point_id, validate_choice=False,
                        choices=[])
    agreed = TextAreaField(_l("What was said and agreed"), validators=[Length(max=2000)])


class AdjustmentForm(FlaskForm):
    direction = RadioField(_l("Adjustment"), choices=[
        SelectChoice("reduce", _l("Reduce the balance (a credit)")),
        SelectChoice("increase", _l("Increase the balance"))],
        validators=[InputRequired(_l("Choose whether to reduce or increase the balance."))])
    amount = StringField(_l("Amount"), validators=[InputRequired(_l("Give the amount."))])
    component = SelectField(_l("An increase is charged as"), default="", choices=[
        SelectChoice("", _l("Not an increase")), SelectChoice("interest", _l("Interest")),
        SelectChoice("fees", _l("Fees"))])
    reason = TextAreaField(_l("Reason"), validators=[
        InputRequired(_l("Give the reason for the adjustment.")), Length(max=2000)])


class RefundForm(FlaskForm):
    """A refund of one card payment; `refunded_before` is what the page showed as refunded, so
    the same form sent twice refunds once."""

    amount = StringField(_l("Amount to refund"),
                         description=_l("Part or all of what can still be refunded, like 10.00."),
                         validators=[InputRequired(_l("Give the amount to refund.")),
                                     Length(max=20)],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    reason = TextAreaField(_l("Reason"), description=_l("Kept on the case record."),
                           validators=[InputRequired(_l("Give the reason for the refund.")),
                                       Length(max=2000)])
    refunded_before = HiddenField()


class PauseForm(FlaskForm):
    until = DateField(_l("Last day of the pause"),
                      validators=[InputRequired(_l("Give the last day of the pause."))])
    reason = TextAreaField(_l("Reason"), validators=[
        InputRequired(_l("Give the reason for the pause.")), Length(max=2000)])


class MessageForm(FlaskForm):
    channel = RadioField(_l("Send by"), default="email", choices=[
        SelectChoice("email", _l("Email")), SelectChoice("sms", _l("Text message"))],
        validators=[InputRequired(_l("Choose email or text message."))])
    point = SelectField(_l("To"), coerce=_point_id, validate_choice=False, choices=[])
    subject = StringField(_l("Subject (email)"), validators=[Length(max=150)])
    body = TextAreaField(_l("Message"), validators=[InputRequired(_l("Write the message.")),
                                                    Length(max=1500)])


class TimeZoneForm(FlaskForm):
    zone = StringField(_l("Your time zone"), description=_l("Like America/New_York or UTC."),
                       validators=[InputRequired(_l("Give a time zone."))])


class EmptyForm(FlaskForm):
    """A button and its CSRF token (reveal, lift a pause)."""
