"""The staff console's forms: what staff record about contact on a case."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.fields import DateField, TimeField
from wtforms.validators import InputRequired, Length

from portal.contact.forms import ConsentForm

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
