"""The borrower's payment forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired, Length


class PayForm(FlaskForm):
    choice = RadioField(_l("How much do you want to pay?"),
                        choices=[SelectChoice("full", _l("The whole balance")),
                                 SelectChoice("other", _l("Another amount"))],
                        validators=[InputRequired(message=_l("Choose how much to pay."))],
                        default="full")
    amount = StringField(_l("Amount"), validators=[Length(max=20)],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})


class SubmitForm(FlaskForm):
    """Only the CSRF token: the amount and the card come from our own records, never the form."""
