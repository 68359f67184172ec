"""Sign-in forms for borrowers and staff."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length


class IdentityForm(FlaskForm):
    reference = StringField(
        _l("Reference number"),
        description=_l("It is on the letter or message we sent you, for example DEMO-1001."),
        validators=[DataRequired(_l("Enter your reference number.")), Length(max=30)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    date_of_birth = DateField(
        _l("Date of birth"),
        validators=[InputRequired(_l("Enter your date of birth."))],
        render_kw={"autocomplete": "bday"},
    )


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
