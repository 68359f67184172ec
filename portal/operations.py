"""The unit of work: each service operation is one transaction, committed whole or not at all.

The structure says where a transaction begins and ends: an operation commits or rolls back once,
one operation called inside another fails loudly (its commit would cut the caller's transaction
in two), and a read that must not hold its transaction open ends in `reading()`, not in a bare
rollback somewhere below it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from portal.extensions import db

#: The operation (or read) running in this context, if any.
_running: ContextVar[str | None] = ContextVar("portal_operation", default=None)


class Refused(Exception):
    """A domain refusal: the actor may not do this or the input is invalid; nothing was written."""

    def __init__(self, message: str, *, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


class NotFound(LookupError):
    """Nothing of the actor's by that name: the web answers 404, a job or the CLI says so."""


class NestedTransaction(RuntimeError):
    """An operation or a read started inside another: a bug in how the code is put together."""


def _enter(name: str):
    outer = _running.get()
    if outer is not None:
        raise NestedTransaction(f"{name} started inside {outer}: each is one transaction")
    return _running.set(name)


def operation(fn):
    """Run `fn` as one transaction: commit if it returns, roll back if it raises."""

    @wraps(fn)
    def run(*args, **kwargs):
        token = _enter(fn.__qualname__)
        try:
            try:
                result = fn(*args, **kwargs)
            except BaseException:
                db.session.rollback()
                raise
            db.session.commit()
            return result
        finally:
            _running.reset(token)

    return run


@contextmanager
def reading(name: str = "a read") -> Iterator[None]:
    """Read, then end the transaction the read began, so no lock or snapshot outlives it (a
    job about to call Stripe, say); nothing written inside is kept."""
    token = _enter(name)
    try:
        yield
    finally:
        db.session.rollback()
        _running.reset(token)
