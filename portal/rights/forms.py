"""The borrower's request for a correction."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length


class CorrectionForm(FlaskForm):
    account = SelectField(_l("Which account it is about"))
    details = TextAreaField(_l("What is wrong, and what should it say?"),
                            validators=[DataRequired(_l("Tell us what is wrong and what it "
                                                        "should say.")), Length(max=2000)])
