"""Alembic environment: the app's engine and metadata, online migrations only (PostgreSQL)."""

from alembic import context
from flask import current_app

from portal.extensions import db


def include_object(obj, name, type_, reflected, compare_to):
    """Procrastinate and other tools may own tables of their own; only compare ours."""
    return not (type_ == "table" and reflected and compare_to is None)


def run_migrations_online() -> None:
    engine = current_app.extensions["migrate"].db.engine
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=db.metadata,
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run against a database")
run_migrations_online()
