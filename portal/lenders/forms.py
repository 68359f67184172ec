"""The lender's forms: one direct payment, or a CSV file of them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField
from wtforms.fields import DateField
from wtforms.validators import InputRequired, Length, Optional


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
