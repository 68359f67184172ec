"""The console's recall forms: the file and its creditor, then the confirmation of a preview."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField
from wtforms.validators import InputRequired, Length, Regexp


class RecallUploadForm(FlaskForm):
    creditor = SelectField(_l("Creditor"), validators=[InputRequired()])
    file = FileField(_l("Recall file (CSV)"),
                     description=_l("One column, with the header creditor_account_id: the "
                                    "creditor's own id of each account it takes back."),
                     validators=[FileRequired(_l("Choose the recall file."))])


class RecallConfirmForm(FlaskForm):
    """What the preview showed: the creditor, the file's SHA-256 and the agency references of
    the accounts to recall (never the creditor's ids: those stay out of the page)."""

    creditor = HiddenField(validators=[InputRequired(), Length(max=20)])
    sha256 = HiddenField(validators=[InputRequired(), Regexp(r"^[0-9a-f]{64}$")])
