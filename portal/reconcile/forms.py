"""The reconciliation page's forms: an explanation of a difference, and a run on demand."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import InputRequired, Length

from portal.reconcile.review import MAX_CHARS


class ExplainForm(FlaskForm):
    """Why one open line is right as it is (one form per line, told apart by its key)."""

    period = HiddenField(validators=[InputRequired()])
    key = HiddenField(validators=[InputRequired(), Length(max=140)])
    text = TextAreaField(_l("Why is this right?"), validators=[
        InputRequired(message=_l("Say why this line is right.")), Length(max=MAX_CHARS)],
        description=_l("Kept with the amount it explains, in the staff audit log. No "
                       "borrower's personal data."))


class RunForm(FlaskForm):
    """Read the month from Stripe again now."""

    period = HiddenField(validators=[InputRequired()])
