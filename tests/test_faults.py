"""Issue 18, faults: the PostgreSQL connection dropped between requests and in the middle of one
(the server's own pg_terminate_backend, as a restart or a failover does to every client). The
person gets a clear 503, the half-done transaction leaves no trace, and the next request works on
a fresh connection. On an app and database of their own: the other tests' rolled-back
transaction would not survive its connection being killed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from portal.cases.models import CaseEvent
from portal.contact.models import ContactAttempt
from portal.extensions import db as database
from tests.conftest import ROOT, drop_database, fresh_database, make_app
from tests.fixtures.client import Person
from tests.fixtures.factories import seed_demo

ALEX = ("DEMO-1001", "1985-04-12")
KEY = {"Authorization": "Bearer demo-dialer-key"}
UNAVAILABLE = "We could not reach our records just now. Nothing was changed."


@pytest.fixture(scope="module")
def faulty(server_url, worker, stripe_emulator):
    name = f"portal_faults_{worker}"
    url = fresh_database(server_url, name)
    application = make_app(url, stripe_emulator.url)
    with application.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    seed_demo(application)
    admin = make_url(server_url).set(database="postgres").render_as_string(hide_password=False)
    yield application, name, admin
    with application.app_context():
        database.engine.dispose()
    drop_database(server_url, name)


def _kill_all(admin: str, name: str) -> int:
    with psycopg.connect(admin, autocommit=True) as conn:
        return len(conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall())


class KillOn:
    """Kill this connection's server process just before the first statement that matches."""

    def __init__(self, app, admin: str, starts: str):
        self.app, self.admin, self.starts, self.fired = app, admin, starts, False
        with app.app_context():
            self.engine = database.engine

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._before)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.fired or not statement.lstrip().upper().startswith(self.starts):
            return
        self.fired = True
        pid = conn.connection.dbapi_connection.info.backend_pid
        with psycopg.connect(self.admin, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _count(app, model) -> int:
    with app.app_context():
        return database.session.scalar(select(func.count()).select_from(model))


def _person(app) -> Person:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.77.0.1"
    return Person(client)


def test_a_dropped_connection_between_requests_is_replaced_unseen(faulty):
    app, name, admin = faulty
    person = _person(app)
    assert person.sign_in(*ALEX).h1 == "Your accounts"
    assert _kill_all(admin, name) >= 1  # the pool's idle connections
    page = person.get("/accounts/")
    assert page.status == 200 and page.h1 == "Your accounts"


def test_a_connection_dropped_mid_action_is_a_clear_503_and_leaves_no_trace(faulty):
    app, name, admin = faulty
    person = _person(app)
    person.sign_in(*ALEX)
    events = _count(app, CaseEvent)
    with KillOn(app, admin, "INSERT INTO CASE_EVENT") as kill:
        page = person.submit(person.get("/"), action="/sign-out")
    assert kill.fired
    assert page.status == 503 and UNAVAILABLE in page.text
    assert page.response.headers["Retry-After"] == "30"
    assert _count(app, CaseEvent) == events  # the sign-out's event never committed
    assert person.get("/accounts/").h1 == "Your accounts"  # still signed in, on a new connection
    assert person.submit(person.get("/"), action="/sign-out").status == 200  # and it works now
    assert _count(app, CaseEvent) > events


def test_the_api_answers_a_dropped_connection_with_a_503_problem_and_no_trace(faulty):
    app, name, admin = faulty
    client = app.test_client()
    yesterday = datetime.now(ZoneInfo("America/New_York")).date() - timedelta(days=1)
    body = {"account_ref": "NWB-1001", "channel": "call", "destination": "+12135550147",
            "at": f"{yesterday.isoformat()}T12:00:00-05:00", "outcome": "no_answer"}
    attempts = _count(app, ContactAttempt)
    with KillOn(app, admin, "INSERT INTO CONTACT_ATTEMPT") as kill:
        answer = client.post("/api/v1/contact-attempts", json=body, headers=KEY)
    assert kill.fired
    assert answer.status_code == 503
    assert answer.mimetype == "application/problem+json" and answer.json["status"] == 503
    assert answer.headers["Retry-After"].isdigit()
    assert _count(app, ContactAttempt) == attempts
    again = client.post("/api/v1/contact-attempts", json=body, headers=KEY)
    assert again.status_code == 201, again.json
    assert _count(app, ContactAttempt) == attempts + 1
