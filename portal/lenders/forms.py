"""The lender's forms (one direct payment, or a CSV file of them) and the console's (close a
creditor's statement, add its commission terms)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from portal.lenders import commission, terms
from portal.operations import Refused


class DirectPaymentForm(FlaskForm):
    account_ref = StringField(_l("Account reference"), validators=[
        InputRequired(_l("Give the account's reference.")), Length(max=30)],
        description=_l("The agency's reference, as it is shown on the account, like ABC-1234."))
    amount = StringField(_l("Amount paid"), validators=[
        InputRequired(_l("Give the amount.")), Length(max=30)],
        description=_l("In the account's currency, for example 125.00."))
    paid_on = DateField(_l("Paid on"), validators=[InputRequired(_l("Give the day it was "
                                                                    "paid."))])
    reference = StringField(_l("Your reference (optional)"), validators=[Optional(),
                                                                          Length(max=100)],
                            description=_l("The same reference twice on one account is "
                                           "refused, so a payment is never reported twice."))


class DirectPaymentFileForm(FlaskForm):
    file = FileField(_l("CSV file of payments"), description=_l(
        "Header account_ref,amount,paid_on,reference; one payment a row. Every row is "
        "reported, or none."))


#: How the money moves, as the console and the lender's statement say it.
METHODS = {
    "net": _l("Net: the agency keeps its commission and remits the rest"),
    "gross": _l("Gross: everything is remitted and the commission invoiced"),
    "combined": _l("Combined: commission kept on money the agency collected, invoiced on "
                   "payments made to the creditor directly"),
}
#: The most rates one set of terms holds, and the oldest placement age a rate may start at.
MAX_RATES = 20
MAX_AGE_DAYS = 36_500


class CloseStatementForm(FlaskForm):
    """Close the creditor's statement of the month shown (the button names it)."""

    period = HiddenField(validators=[InputRequired()])


class TermsForm(FlaskForm):
    """New commission terms of a creditor from a day (`flask --app portal lenders add-terms`)."""

    valid_from = DateField(_l("In force from"), validators=[
        InputRequired(_l("Give the first day these terms apply."))],
        description=_l("They apply to payments from this day on; the older terms stay on "
                       "record and hold until the day before."))
    method = RadioField(_l("How the money moves"),
                        choices=[SelectChoice(k, v) for k, v in METHODS.items()],
                        validators=[InputRequired(_l("Choose how the money moves."))])
    rates = TextAreaField(_l("Rates, one a line"), validators=[
        InputRequired(_l("Give at least one rate.")), Length(max=2000)],
        description=_l("In basis points (2500 is 25 per cent): 2500 for every account, "
                       "180:3000 from 180 days after placement, Credit card:180:3000 for one "
                       "product."))

    def validate_rates(self, field) -> None:
        """Each line read as the command line reads --rate; the parsed rates kept on the form."""
        lines = [line.strip() for line in (field.data or "").splitlines() if line.strip()]
        if len(lines) > MAX_RATES:
            raise ValidationError(_("At most %(most)s rates.", most=MAX_RATES))
        parsed = []
        for number, text in enumerate(lines, start=1):
            try:
                rate = terms.parse_rate(text)
            except Refused:
                raise ValidationError(_(
                    "Line %(line)s is not a rate: write BP, DAYS:BP or PRODUCT:DAYS:BP, like "
                    "2500 or Credit card:180:3000.", line=number)) from None
            if not 0 <= rate.rate_bp <= commission.BASIS:
                raise ValidationError(_("Line %(line)s: a rate is 0 to 10000 basis points.",
                                         line=number))
            if not 0 <= rate.min_age_days <= MAX_AGE_DAYS:
                raise ValidationError(_("Line %(line)s: the days after placement are 0 to "
                                         "%(most)s.", line=number, most=MAX_AGE_DAYS))
            if rate.product is not None and len(rate.product.strip()) > 100:
                raise ValidationError(_("Line %(line)s: a product is at most 100 characters.",
                                         line=number))
            product = rate.product.strip() if rate.product else None
            parsed.append(commission.Rate(product or None, rate.min_age_days, rate.rate_bp))
        self.parsed_rates = parsed
