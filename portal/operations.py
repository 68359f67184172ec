"""The unit of work: each service operation is one transaction, committed whole or not at all.

The structure says where a transaction begins and ends: an operation commits or rolls back once,
one operation called inside another fails loudly (its commit would cut the caller's transaction
in two), and a read that must not hold its transaction open ends in `reading()`, not in a bare
rollback somewhere below it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from psycopg import errors as pg_errors
from sqlalchemy.exc import DBAPIError

from portal.extensions import db

log = logging.getLogger("portal.operations")

#: Times an operation is run when PostgreSQL picks it as a deadlock's victim (or a
#: serialization failure's): the transaction was rolled back whole, so running it again is safe;
#: an operation never calls Stripe or sends anything itself (those go before or after it, or
#: through the outbox), so nothing outside the database happens twice.
ATTEMPTS = 3
#: What PostgreSQL rolls back and says to try again.
RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)

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


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and isinstance(exc.orig, RETRYABLE)


def operation(fn):
    """Run `fn` as one transaction: commit if it returns, roll back if it raises. Chosen as a
    deadlock's victim, it is rolled back and run again (up to ATTEMPTS times in all)."""

    @wraps(fn)
    def run(*args, **kwargs):
        token = _enter(fn.__qualname__)
        try:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    result = fn(*args, **kwargs)
                    db.session.commit()
                    return result
                except BaseException as exc:
                    db.session.rollback()
                    if attempt == ATTEMPTS or not _retryable(exc):
                        raise
                    log.warning("%s: %s, run again (attempt %d of %d)", fn.__qualname__,
                                type(exc.orig).__name__, attempt + 1, ATTEMPTS)
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
