"""Public case numbers ("D-000123", "P-000045"): a prefix and the row's id, read back safely."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.operations import NotFound

#: PostgreSQL's integer ids stop here; a longer number names nothing (and must not reach a query).
LARGEST_ID = 2**31 - 1


def number(prefix: str, row_id: int) -> str:
    return f"{prefix}-{row_id:06d}"


def id_of(text: str, prefix: str) -> int:
    """The id in a number a person or a URL gave, or 404 for anything else."""
    value = str(text).strip().upper()
    digits = value.removeprefix(f"{prefix}-")
    if digits == value or not digits.isascii() or not digits.isdigit() \
            or not 0 < int(digits) <= LARGEST_ID:
        raise NotFound()
    return int(digits)


def row_of(model, prefix: str, text: str, *where, lock: bool = False):
    """The row a public number names, if it meets `where` (the borrower's own, say), locked for
    update if asked; 404 otherwise, so another borrower's number finds nothing."""
    query = select(model).where(model.id == id_of(text, prefix), *where)
    row = db.session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound()
    return row
