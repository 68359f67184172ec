"""The plan calculator and the staff decision form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

AMOUNT = {"inputmode": "decimal", "autocomplete": "off"}


class PlanForm(FlaskForm):
    """Every field optional: the service says what is missing, in words."""

    class Meta:
        csrf = True

    kind = RadioField(_l("What would help?"), default="installments", choices=[
        SelectChoice("installments", _l("Pay in monthly installments")),
        SelectChoice("settlement", _l("Offer a one-time amount to settle the debt")),
        SelectChoice("hardship", _l("I am in hardship: pause or lower my payments"))])
    monthly = StringField(_l("Monthly amount"), validators=[Optional(), Length(max=20)],
                          render_kw=AMOUNT)
    months = StringField(_l("Or: number of months"), validators=[Optional(), Length(max=3)],
                         render_kw={"inputmode": "numeric", "autocomplete": "off"})
    settlement = StringField(_l("One-time amount"), validators=[Optional(), Length(max=20)],
                             render_kw=AMOUNT)
    first_due = DateField(_l("First payment date"), validators=[Optional()])
    hardship_reason = RadioField(_l("What has happened?"), validators=[Optional()], choices=[
        SelectChoice("job_loss", _l("I lost my job or income")),
        SelectChoice("illness", _l("Illness or disability")),
        SelectChoice("bereavement", _l("Bereavement")),
        SelectChoice("other", _l("Something else"))])
    pause_days = StringField(_l("Pause payments for (days)"), validators=[Optional(),
                                                                          Length(max=3)],
                             render_kw={"inputmode": "numeric"})
    hardship_details = TextAreaField(_l("Anything you want us to know (optional)"),
                                     validators=[Optional(), Length(max=2000)])
    income = StringField(_l("Income (after tax)"), validators=[Optional(), Length(max=20)],
                         render_kw=AMOUNT)
    fixed_costs = StringField(_l("Fixed costs (rent, utilities, council tax, insurance)"),
                              validators=[Optional(), Length(max=20)], render_kw=AMOUNT)
    flexible_costs = StringField(_l("Flexible costs (food, travel, clothing, phone)"),
                                 validators=[Optional(), Length(max=20)], render_kw=AMOUNT)
    other_debts = StringField(_l("Payments to other debts"),
                              validators=[Optional(), Length(max=20)], render_kw=AMOUNT)


class AcceptForm(FlaskForm):
    autopay_consent = BooleanField(_l("I agree to the recurring payments above"))


class DayForm(FlaskForm):
    day = SelectField(_l("New payment day (of each month)"),
                      choices=[SelectChoice(str(d), str(d)) for d in range(1, 29)])


class ConfirmForm(FlaskForm):
    """Only the CSRF token."""


class DecisionForm(FlaskForm):
    outcome = RadioField(_l("Decision"), choices=[
        SelectChoice("approved", _l("Approve")), SelectChoice("countered", _l("Counter")),
        SelectChoice("declined", _l("Decline"))])
    monthly = StringField(_l("Counter: monthly amount"), validators=[Optional()])
    months = StringField(_l("Counter: months"), validators=[Optional()])
    settlement = StringField(_l("Counter: settlement amount"), validators=[Optional()])
    note = TextAreaField(_l("Reason, as the borrower will read it"),
                         validators=[Optional(), Length(max=1000)])
