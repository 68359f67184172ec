"""The forms of the import pages: a file for one of the agency's creditors, a confirmation,
an undo."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField
from wtforms.validators import InputRequired, Length

from portal.web.bounds import ROW_ID


class UploadForm(FlaskForm):
    #: Any id is read (then looked up within the agency): another agency's is "not yours".
    creditor = SelectField(_l("Creditor"), coerce=int, validate_choice=False,
                           validators=[InputRequired(_l("Choose the creditor the file is from.")),
                                       ROW_ID])
    file = FileField(_l("Placement file (CSV)"))


class ConfirmForm(FlaskForm):
    upload = HiddenField(validators=[InputRequired(), Length(min=64, max=64)])


class UndoForm(FlaskForm):
    """Nothing to fill in: the CSRF token is the form."""
