"""The unit of work: each service operation is one transaction, committed whole or not at all."""

from __future__ import annotations

from functools import wraps

from portal.extensions import db


class Refused(Exception):
    """A domain refusal: the actor may not do this or the input is invalid; nothing was written."""

    def __init__(self, message: str, *, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


def operation(fn):
    """Run `fn` as one transaction: commit if it returns, roll back if it raises."""

    @wraps(fn)
    def run(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    return run
