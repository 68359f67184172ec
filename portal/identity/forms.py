"""Sign-in forms for borrowers and staff."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length


class IdentityForm(FlaskForm):
    reference = StringField(
        _l("Reference number"),
        description=_l("It is on the letter or message we sent you, for example DEMO-1001."),
        validators=[DataRequired(_l("Enter your reference number.")), Length(max=30)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    # Day, month and year typed separately: on a phone that is quicker and surer for a birth
    # date than scrolling a date picker back forty years.
    dob_day = StringField(_l("Day"), validators=[Length(max=2)],
                          render_kw={"inputmode": "numeric", "autocomplete": "bday-day",
                                     "class": "date-part", "maxlength": 2})
    dob_month = StringField(_l("Month"), validators=[Length(max=2)],
                            render_kw={"inputmode": "numeric", "autocomplete": "bday-month",
                                       "class": "date-part", "maxlength": 2})
    dob_year = StringField(_l("Year"), validators=[Length(max=4)],
                           render_kw={"inputmode": "numeric", "autocomplete": "bday-year",
                                      "class": "date-part date-part--year", "maxlength": 4})

    def validate(self, extra_validators=None) -> bool:
        """All fields checked; the three date parts must make one real date in the past."""
        valid = super().validate(extra_validators)
        self.date_of_birth: date | None = None
        self.date_of_birth_errors: list[str] = []
        parts = (self.dob_year.data, self.dob_month.data, self.dob_day.data)
        try:
            born = date(*(int((p or "").strip()) for p in parts))
        except ValueError:
            born = None
        if born is None or not date(1900, 1, 1) <= born <= date.today():
            message = (_l("Enter your date of birth.") if not any(p and p.strip() for p in parts)
                       else _l("Enter a real date of birth, for example 27 3 1968."))
            self.date_of_birth_errors.append(message)
            return False
        self.date_of_birth = born
        return valid


class DestinationForm(FlaskForm):
    destination = RadioField(
        _l("Where should we send your code?"),
        coerce=int,
        validators=[InputRequired(_l("Choose where to send your code."))],
        validate_choice=True,
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Six-digit code"),
        validators=[DataRequired(_l("Enter the code we sent you.")), Length(max=12)],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "pattern": "[0-9 ]*",
        },
    )


class StaffPasswordForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email.")), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class StaffTotpForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[DataRequired(_l("Enter the code.")), Length(max=12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
