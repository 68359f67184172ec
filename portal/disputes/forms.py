"""The dispute forms: the borrower's, and staff's answers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.contact.forms import MultiCheckbox

REASON_CHOICES = [
    SelectChoice("not_mine", _l("This is not my debt")),
    SelectChoice("identity_theft", _l("Someone used my identity (identity theft)")),
    SelectChoice("already_paid", _l("I already paid it")),
    SelectChoice("wrong_amount", _l("The amount is wrong")),
    SelectChoice("dont_recognise", _l("I don't recognise it")),
    SelectChoice("other", _l("Something else")),
]


class DisputeForm(FlaskForm):
    reasons = MultiCheckbox(_l("What is wrong?"), choices=REASON_CHOICES,
                            validators=[InputRequired(message=_l("Choose at least one reason."))])
    details = TextAreaField(_l("Tell us more (optional)"), validators=[Length(max=2000)],
                            description=_l("Anything that helps us check, in your own words."))
    scope = RadioField(_l("What do you dispute?"), default="whole", choices=[
        SelectChoice("whole", _l("The whole debt")),
        SelectChoice("part", _l("Part of it"))])
    part_amount = StringField(_l("The amount you dispute"), validators=[Optional(),
                                                                        Length(max=20)],
                              render_kw={"inputmode": "decimal", "autocomplete": "off"})
    original_creditor = BooleanField(_l("Send me the name and address of the original creditor"))


class ConfirmForm(FlaskForm):
    """Only the CSRF token (withdraw, start review)."""


class DocumentsForm(FlaskForm):
    note = TextAreaField(_l("What to ask the creditor for"), validators=[Length(max=1000)])


class VerificationForm(FlaskForm):
    delivery = RadioField(_l("How was it sent?"), default="portal_email", choices=[
        SelectChoice("portal_email", _l("In the portal, with an email to the borrower")),
        SelectChoice("mail", _l("By letter, printed and posted to the borrower's address"))],
        validators=[InputRequired()])


class ResolveForm(FlaskForm):
    outcome = RadioField(_l("Outcome"), choices=[
        SelectChoice("upheld", _l("Upheld: the borrower is right")),
        SelectChoice("not_upheld", _l("Not upheld"))], validators=[InputRequired()])
    action = RadioField(_l("If upheld"), default="adjust", choices=[
        SelectChoice("adjust", _l("Adjust the balance (credit the disputed amount)")),
        SelectChoice("close", _l("Close the account (credit the whole balance)")),
        SelectChoice("none", _l("No change to the balance"))])
    amount = StringField(_l("Adjustment amount (if different)"),
                         validators=[Optional(), Length(max=20)])
    note = TextAreaField(_l("Reason, as the borrower will read it"),
                         validators=[Length(max=1000)])


class OriginalCreditorForm(FlaskForm):
    """The original creditor's name and address, sent to the borrower who asked (1006.38(c))."""

    details = TextAreaField(_l("The original creditor's name and address"),
                            validators=[InputRequired(_l("Give the original creditor's name and "
                                                         "address.")), Length(max=1000)])
    delivery = RadioField(_l("How was it sent?"), default="portal_email", choices=[
        SelectChoice("portal_email", _l("In the portal, with an email to the borrower")),
        SelectChoice("mail", _l("By letter, printed and posted to the borrower's address"))],
        validators=[InputRequired()])
