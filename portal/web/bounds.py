"""Bounds a form puts on numbers before anything reads them: a row id a person (or a forged
form) sends is looked up in an integer column, and a number past the column's range would be
the database's error (a 500), not a clear "not found"."""

from __future__ import annotations

from wtforms.validators import NumberRange

#: PostgreSQL integer: every id column a form names.
ROW_ID = NumberRange(min=1, max=2**31 - 1)
