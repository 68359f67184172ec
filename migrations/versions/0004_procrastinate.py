"""procrastinate's job tables, types and functions (the job engine's own schema)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 12:00:00

Applies the schema SQL that procrastinate ships (`SchemaManager.get_schema()`, its
`sql/schema.sql`) for the pinned version, 3.10.0. Its tables have no SQLAlchemy models: env.py's
`include_object` leaves reflected tables without a model out of autogenerate's comparison.

Upgrading procrastinate later: write a new migration that applies the files of procrastinate's
`sql/migrations/` between the two versions (`SchemaManager.get_migrations_path()`), and freeze this
one to the 3.10.0 schema text, so that a fresh database and an upgraded one end up the same. The
guard below stops `db upgrade` on a fresh database until that is done.
"""
from importlib.metadata import version

from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

SCHEMA_VERSION = "3.10."


def _execute(sql: str) -> None:
    # On the driver's connection, in Alembic's transaction: without parameters psycopg runs the
    # script as written (several statements, `%` and `:` left alone).
    op.get_bind().connection.driver_connection.execute(sql)


def upgrade():
    from procrastinate.schema import SchemaManager

    installed = version("procrastinate")
    if not installed.startswith(SCHEMA_VERSION):
        raise RuntimeError(
            f"migration 0004 applies procrastinate {SCHEMA_VERSION}x's schema but {installed} is "
            "installed: freeze 0004 to the old schema and migrate with procrastinate's own "
            "migration files (see this migration's docstring)"
        )
    _execute(SchemaManager.get_schema())


def downgrade():
    _execute(r"""
        DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
            procrastinate_jobs, procrastinate_workers CASCADE;
        DO $$
        DECLARE fn regprocedure;
        BEGIN
            FOR fn IN
                SELECT p.oid::regprocedure FROM pg_proc p
                WHERE p.proname LIKE 'procrastinate\_%'
                  AND p.pronamespace = current_schema()::regnamespace
            LOOP
                EXECUTE 'DROP FUNCTION ' || fn || ' CASCADE';
            END LOOP;
        END $$;
        DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
            procrastinate_job_status CASCADE;
    """)
