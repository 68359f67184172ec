"""Forms of staff administration: invite, change a role, deactivate, reset MFA, the link page,
the audit log's filters and a creditor's plan policy."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.fields import DateField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

ROLE_NAMES = {
    "admin": _l("Admin"),
    "agent": _l("Agent"),
    "supervisor": _l("Supervisor"),
    "compliance": _l("Compliance"),
    "lender": _l("Lender (a creditor's user)"),
}


class InviteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(_l("Give the person's name.")),
                                               Length(max=200)])
    email = EmailField(_l("Email address"), description=_l("The link to set up the account "
                                                          "goes here."),
                       validators=[InputRequired(_l("Give the person's email address.")),
                                   Length(max=254)])
    role = RadioField(_l("Role"), choices=[SelectChoice(k, v) for k, v in ROLE_NAMES.items()],
                      validators=[InputRequired(_l("Choose a role."))])
    creditor = SelectField(_l("Creditor (lender users only)"), default="",
                           validate_choice=False)


class RoleForm(FlaskForm):
    role = RadioField(_l("New role"), choices=[SelectChoice(k, v) for k, v in
                                               ROLE_NAMES.items() if k != "lender"],
                      validators=[InputRequired(_l("Choose a role."))])


class ActiveForm(FlaskForm):
    active = RadioField(_l("Account"), choices=[
        SelectChoice("off", _l("Deactivate: end every session now and refuse sign-in")),
        SelectChoice("on", _l("Reactivate: they can sign in again"))],
                        validators=[InputRequired(_l("Choose deactivate or reactivate."))])


class ResetMfaForm(FlaskForm):
    confirm = BooleanField(_l("I have confirmed who is asking (for example, by calling them "
                              "back on a number we already had)"),
                           validators=[InputRequired(_l("Confirm that you checked who is "
                                                        "asking."))])


class NewLinkForm(FlaskForm):
    """No fields: the button sends a new invitation link."""


class WelcomeForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[
        InputRequired(_l("Enter a password.")), Length(max=200)])
    confirm = PasswordField(_l("The same password again"), validators=[Optional()])
    code = StringField(_l("The 6-digit code your authenticator shows"),
                       validators=[InputRequired(_l("Enter the code from your authenticator."))],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    person = SelectField(_l("Person"), default="", validate_choice=False)
    kind = SelectField(_l("What happened"), default="", validate_choice=False)
    since = DateField(_l("From (UTC date)"), validators=[Optional()])
    until = DateField(_l("Until (UTC date)"), validators=[Optional()])


class PlanPolicyForm(FlaskForm):
    min_monthly = IntegerField(_l("Smallest monthly payment, in minor units (cents, pence, fen)"),
                               validators=[InputRequired(), NumberRange(min=0)])
    min_monthly_percent = IntegerField(_l("Smallest monthly payment, percent of the balance"),
                                       validators=[InputRequired(), NumberRange(min=0, max=100)])
    max_months = IntegerField(_l("Longest plan, months"),
                              validators=[InputRequired(), NumberRange(min=1, max=600)])
    settlement_floors = StringField(
        _l("Settlement floors"),
        description=_l("Age of debt in days and the lowest percent accepted from then, like "
                       "0:80,365:65,730:50."),
        validators=[InputRequired(), Length(max=200)])
    counter_band_percent = IntegerField(_l("Counter-offer band, percent below the floor"),
                                        validators=[InputRequired(), NumberRange(min=0, max=100)])
    hardship_min_monthly = IntegerField(_l("Smallest hardship payment, in minor units"),
                                        validators=[InputRequired(), NumberRange(min=0)])
    hardship_max_months = IntegerField(_l("Longest hardship plan, months"),
                                       validators=[InputRequired(), NumberRange(min=1, max=600)])
    hardship_max_pause_days = IntegerField(_l("Longest hardship pause, days"),
                                           validators=[InputRequired(),
                                                       NumberRange(min=0, max=3650)])
    missed_extend_plan = BooleanField(_l("A missed installment extends the plan"))
    grace_days = IntegerField(_l("Grace days after a missed installment"),
                              validators=[InputRequired(), NumberRange(min=0, max=365)])
