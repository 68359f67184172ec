"""The borrower's contact preference forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields import DateField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from portal.web.bounds import ROW_ID

HOURS = [SelectChoice("", _l("No limit"))] + [
    SelectChoice(f"{h:02d}:00") for h in range(8, 22)
]


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PreferencesForm(FlaskForm):
    blocked_channels = MultiCheckbox(
        _l("Do not contact me by"),
        choices=[SelectChoice("call", _l("Phone call")), SelectChoice("sms", _l("Text message")),
                 SelectChoice("email", _l("Email")), SelectChoice("letter", _l("Letter"))],
    )
    blocked_points = MultiCheckbox(_l("Do not use these numbers or addresses"), coerce=int)
    not_before = SelectField(_l("Not before"), choices=HOURS, default="")
    not_after = SelectField(_l("Not after"), choices=HOURS, default="")
    not_at_work = BooleanField(_l("My employer does not allow these contacts at work"))
    language = SelectField(
        _l("Language for letters and messages"),
        choices=[SelectChoice("en", "English"), SelectChoice("es", "Español"),
                 SelectChoice("zh", "简体中文")],
    )


class ConfirmForm(FlaskForm):
    """A statement with nothing to fill in but a deliberate click."""


class AttorneyForm(FlaskForm):
    name = StringField(_l("Attorney's name"),
                       validators=[DataRequired(_l("Enter the attorney's name.")), Length(max=120)])
    contact = StringField(
        _l("Attorney's phone number or email"),
        validators=[DataRequired(_l("Enter a phone number or email.")), Length(max=200)],
    )


class BankruptcyForm(FlaskForm):
    case_number = StringField(_l("Bankruptcy case number (if you have it)"),
                              validators=[Optional(), Length(max=60)])


class BreathingSpaceForm(FlaskForm):
    kind = RadioField(
        _l("Kind of breathing space"),
        choices=[SelectChoice("standard", _l("Standard breathing space (60 days)")),
                 SelectChoice("mental_health", _l("Mental health crisis breathing space"))],
        validators=[InputRequired(_l("Choose the kind of breathing space."))],
    )
    start = DateField(_l("Start date"), validators=[InputRequired(_l("Enter the start date."))])
    reference = StringField(_l("Reference from the Insolvency Service (if you have it)"),
                            validators=[Optional(), Length(max=60)])


class ConsentForm(FlaskForm):
    """Direct prior consent to contact on one channel outside the usual hours (withdrawable)."""

    channel = RadioField(
        _l("Which way"),
        choices=[SelectChoice("call", _l("Phone calls")), SelectChoice("sms", _l("Text messages")),
                 SelectChoice("email", _l("Emails"))],
        validators=[InputRequired(_l("Choose calls, texts or emails."))],
    )
    start = TimeField(_l("From (your local time)"),
                      validators=[InputRequired(_l("Give the time, like 07:00."))])
    end = TimeField(_l("Until (your local time)"),
                    validators=[InputRequired(_l("Give the time, like 08:00."))])
    days = RadioField(
        _l("On which days"), default="every_day",
        choices=[SelectChoice("every_day", _l("Every day")),
                 SelectChoice("weekdays", _l("Monday to Friday")),
                 SelectChoice("weekends", _l("Saturday and Sunday"))],
        validators=[InputRequired(_l("Choose which days the times are for."))],
    )


class EmailNoticesForm(FlaskForm):
    """E-SIGN consent to notices by email (15 U.S.C. 7001(c), 12 CFR 1006.42(b)): a deliberate
    tick after the disclosures, never a default."""

    agree = BooleanField(validators=[DataRequired(_l("Tick the box to agree, or leave this "
                                                     "section as it is."))])


class WithdrawConsentForm(FlaskForm):
    consent = IntegerField(validators=[InputRequired(), ROW_ID], widget=HiddenInput())


class ConfirmPointForm(FlaskForm):
    point = IntegerField(validators=[InputRequired(), ROW_ID], widget=HiddenInput())
