"""The borrower's form for giving someone access, and the helper's sign-in form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from portal.identity.helpers import HelperAccess, HelperKind


class GrantForm(FlaskForm):
    name = StringField(_l("Their name"), validators=[DataRequired(_l("Give their name.")),
                                                     Length(max=200)])
    email = EmailField(_l("Their email address"),
                       description=_l("They sign in with it: we send a one-time code there."),
                       validators=[DataRequired(_l("Give their email address.")),
                                   Length(max=254)])
    kind = RadioField(_l("Who they are"), choices=[
        SelectChoice(HelperKind.ADVISER.value, _l("A debt adviser")),
        SelectChoice(HelperKind.ATTORNEY.value, _l("An attorney (we will contact them, not you)")),
        SelectChoice(HelperKind.FAMILY.value, _l("A family member or friend"))],
        validators=[InputRequired(_l("Choose who they are."))])
    access = RadioField(_l("What they may do"), choices=[
        SelectChoice(HelperAccess.SEE.value, _l("See only")),
        SelectChoice(HelperAccess.ACT.value,
                     _l("See and act for me: pay, propose a plan, dispute"))],
        validators=[InputRequired(_l("Choose what they may do."))])
    account = SelectField(_l("Which accounts"), choices=[])
    until = DateField(_l("Until (the last day of their access)"),
                      validators=[InputRequired(_l("Choose the last day of their access."))])


class HelperEmailForm(FlaskForm):
    email = EmailField(_l("Your email address"),
                       validators=[DataRequired(_l("Enter your email address.")),
                                   Length(max=254)], render_kw={"autocomplete": "email"})
