"""The dashboard's period: from, to, by day or by week (a GET form: it changes nothing)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField
from wtforms.fields import DateField
from wtforms.validators import Optional


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    by = SelectField(_l("Show"), choices=[SelectChoice("day", _l("Per day")),
                                                 SelectChoice("week", _l("Per week"))],
                     default="day", validate_choice=False)
