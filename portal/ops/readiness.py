"""Whether this process should get traffic: the database answers, its schema is the code's,
a worker is working the queue and Stripe answers. Each check names itself and says nothing of
anyone's data."""

from __future__ import annotations

from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db
from portal.jobs import heartbeat
from portal.operations import reading
from portal.payments.gateway import GatewayError, gateway


@dataclass(frozen=True)
class Check:
    """One check's result: passed, and why (never a value from the data)."""

    ok: bool
    detail: str


def database() -> Check:
    db.session.execute(text("SELECT 1"))
    return Check(True, "answers")


def migrations() -> Check:
    """The database's Alembic revision(s) are the code's head(s)."""
    directory = current_app.extensions["migrate"].directory
    heads = set(ScriptDirectory(directory).get_heads())
    current = set(MigrationContext.configure(db.session.connection()).get_current_heads())
    if current == heads:
        return Check(True, "at " + ", ".join(sorted(heads)))
    return Check(False, f"database at {', '.join(sorted(current)) or 'nothing'}, code at "
                        f"{', '.join(sorted(heads))}: run `flask --app portal db upgrade`")


def worker() -> Check:
    age = heartbeat.latest_age()
    if age is None:
        return Check(False, "no worker has ever written a heartbeat")
    if age > heartbeat.FRESH:
        return Check(False, f"last worker heartbeat {int(age.total_seconds())} s ago")
    return Check(True, f"last heartbeat {int(age.total_seconds())} s ago")


def stripe() -> Check:
    service = gateway()
    where = "the emulator" if service.api_base else "Stripe"
    try:
        service.check_reachable()
    except GatewayError as error:
        return Check(False, f"{where} did not answer: {error}")
    return Check(True, f"{where} answers")


def run_checks() -> dict[str, Check]:
    """Every check by name; after a failing database, the checks that need it are not run."""
    results: dict[str, Check] = {}
    try:
        with reading("readiness"):
            for name, check in (("database", database), ("migrations", migrations),
                                ("worker", worker)):
                if results and not results["database"].ok:
                    results[name] = Check(False, "not checked: the database does not answer")
                    continue
                try:
                    results[name] = check()
                except SQLAlchemyError as error:
                    results[name] = Check(False, f"failed ({type(error).__name__})")
    except SQLAlchemyError:
        pass  # ending the read on a lost connection: what each check found stands
    results["stripe"] = stripe()
    return results
