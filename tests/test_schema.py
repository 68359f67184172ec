"""The database is what the models say, and what must never change, cannot."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def _ours(obj, name, type_, reflected, compare_to):
    """As `include_object` in migrations/env.py: tables only the database has (procrastinate's job
    tables, made by migration 0004 from procrastinate's own SQL) are not the models' business."""
    return not (type_ == "table" and reflected and compare_to is None)


def test_models_and_migrations_do_not_drift(db):
    from portal.extensions import db as database

    def diff():
        connection = database.session.connection()
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _ours}
        )
        return compare_metadata(context, database.metadata)

    assert db.run(diff) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE case_event SET kind = 'x'",
        "DELETE FROM case_event",
        "UPDATE ledger_entry SET amount_minor = 0",
        "DELETE FROM ledger_entry",
        "TRUNCATE case_event CASCADE",
    ],
)
def test_case_record_and_ledger_are_append_only(db, demo, statement):
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text(statement))
