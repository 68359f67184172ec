"""contact_point_summary is what the contact points say, after any write: the ORM's, multi-row
statements, COPY, deletes, and two transactions writing one borrower's points at once."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from portal.accounts.models import Borrower, ContactPoint
from portal.crypto import lookup_digest

numbers = itertools.count(1)
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def expected(rows: list[tuple]) -> tuple | None:
    """The summary of one borrower's points (kind, country, region, time_zones, opted out at),
    worked out here: how many addresses, where the one address is, every zone, any opt-out."""
    if not rows:
        return None
    addresses = [r for r in rows if r[0] == "address"]
    one = addresses[0] if len(addresses) == 1 else None
    return (len(addresses), one and one[1], one and one[2], one and (one[3] or [None])[0],
            sorted({z for r in rows for z in r[3]}), any(r[4] is not None for r in rows))


def check(execute, borrower_id: int) -> None:
    points = execute(text("SELECT kind, country, region, time_zones, opted_out_at "
                          "FROM contact_point WHERE borrower_id = :b ORDER BY id"),
                     {"b": borrower_id}).all()
    summary = execute(text("SELECT addresses, country, region, home_zone, zones, opted_out "
                           "FROM contact_point_summary WHERE borrower_id = :b"),
                      {"b": borrower_id}).first()
    assert (tuple(summary) if summary else None) == expected([tuple(p) for p in points])


def borrower(n: int | None = None) -> Borrower:
    n = n or next(numbers)
    return Borrower(reference=f"SUM-{n}", given_name="Sam", family_name="Summary",
                    display_name="Sam Summary", date_of_birth="1980-01-01",
                    date_of_birth_digest=lookup_digest("1980-01-01", "borrower.date_of_birth"),
                    preferred_language="en")


def point(kind: str, zones: list[str], country: str = "US", region: str | None = None,
          opted_out: bool = False) -> ContactPoint:
    value = f"{kind}-{next(numbers)}"
    return ContactPoint(kind=kind, label="home", value=value,
                        value_digest=lookup_digest(value, f"contact_point.{kind}"),
                        country=country, region=region, time_zones=zones,
                        opted_out_at=NOW if opted_out else None)


NY, LA, LONDON = "America/New_York", "America/Los_Angeles", "Europe/London"

#: Each step changes the borrower's points through the ORM; the summary must follow each one.
STEPS = [
    ("an address", lambda b, s: b.contact_points.append(point("address", [NY], region="NY"))),
    ("a mobile in another zone",
     lambda b, s: b.contact_points.append(point("phone", [LA, NY]))),
    ("a second address", lambda b, s: b.contact_points.append(
        point("address", [LONDON], country="GB"))),
    ("the first address removed", lambda b, s: s.delete(b.contact_points[0])),
    ("the phone's zones changed", lambda b, s: setattr(b.contact_points[0], "time_zones", [LA])),
    ("the phone opted out", lambda b, s: setattr(b.contact_points[0], "opted_out_at", NOW)),
    ("an address without a zone",
     lambda b, s: setattr(b.contact_points[-1], "time_zones", [])),
    ("moved to the other borrower",
     lambda b, s: setattr(b.contact_points[0], "borrower", s.info["other"])),
    ("every point removed", lambda b, s: [s.delete(p) for p in list(b.contact_points)]),
]


def test_every_orm_change_is_summarised(db):
    def run():
        session = db.database.session
        one, other = borrower(), borrower()
        other.contact_points.append(point("email", [NY]))
        session.add_all([one, other])
        session.flush()
        session.info["other"] = other
        seen = []
        for name, step in STEPS:
            step(one, session)
            session.flush()
            session.expire(one)
            for b in (one, other):
                check(session.execute, b.id)
            seen.append(name)
        assert session.execute(text("SELECT count(*) FROM contact_point_summary "
                                     "WHERE borrower_id = :b"), {"b": one.id}).scalar() == 0
        return seen

    assert db.run(run) == [name for name, _ in STEPS]


def test_many_borrowers_in_one_statement_and_by_copy(db):
    def run():
        session = db.database.session
        people = [borrower() for _ in range(60)]
        session.add_all(people)
        session.flush()
        ids = [b.id for b in people]
        # One INSERT ... SELECT for the first half: an address and two phones each.
        session.execute(text("""
            INSERT INTO contact_point (borrower_id, kind, label, value, value_digest, country,
                                       region, time_zones, consent_to_contact)
            SELECT b, k, 'home', '\\x00', '\\x00', 'US', 'CA', z, true
            FROM unnest(CAST(:ids AS int[])) AS b,
                 (VALUES ('address', ARRAY['America/Los_Angeles']),
                         ('phone', ARRAY['America/New_York', 'America/Chicago']),
                         ('phone', ARRAY['America/New_York'])) AS v(k, z)
        """), {"ids": ids[:30]})
        # COPY for the other half, through the same connection (the same transaction).
        raw = session.connection().connection.driver_connection
        with raw.cursor().copy("COPY contact_point (borrower_id, kind, label, value, "
                               "value_digest, country, region, time_zones, consent_to_contact, "
                               "opted_out_at) FROM STDIN") as copy:
            for n, b in enumerate(ids[30:]):
                copy.write_row((b, "address", "home", b"\0", b"\0", "GB", None,
                                ["Europe/London"], True, None))
                copy.write_row((b, "email", "home", b"\0", b"\0", "GB", None,
                                ["Europe/London"], True, NOW if n % 3 == 0 else None))
        for b in ids:
            check(session.execute, b)
        session.execute(text("DELETE FROM contact_point WHERE borrower_id = ANY(CAST(:ids AS "
                             "int[])) AND kind = 'address'"), {"ids": ids})
        for b in ids:
            check(session.execute, b)
        rows = session.execute(text("SELECT count(*), sum(addresses) FROM contact_point_summary "
                                    "WHERE borrower_id = ANY(CAST(:ids AS int[]))"),
                               {"ids": ids}).one()
        return tuple(rows)

    assert db.run(run) == (60, 0)


def test_truncating_the_points_empties_the_summaries(db):
    def run():
        session = db.database.session
        one = borrower()
        one.contact_points.append(point("address", [NY], region="NY"))
        session.add(one)
        session.flush()
        before = session.execute(text("SELECT count(*) FROM contact_point_summary")).scalar()
        session.execute(text("TRUNCATE contact_point CASCADE"))
        return before, session.execute(text("SELECT count(*) FROM contact_point_summary")).scalar()

    before, after = db.run(run)
    assert before >= 1 and after == 0


# --- two writers at once: committed rows, cleaned up after --------------------------------------


@pytest.fixture
def committed(app):
    """A borrower committed for real (two connections must see it), and a way to open
    connections on the test database; everything written is removed afterwards."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    dsn = url.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        b = conn.execute(
            "INSERT INTO borrower (reference, given_name, family_name, display_name, "
            "date_of_birth, date_of_birth_digest, preferred_language) "
            "VALUES (%s, 'Two', 'Writers', 'Two Writers', '\\x00', '\\x00', 'en') RETURNING id",
            (f"SUM-TWO-{next(numbers)}-{id(conn)}",)).fetchone()[0]
    yield b, dsn
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM contact_point WHERE borrower_id = %s", (b,))
        conn.execute("DELETE FROM borrower WHERE id = %s", (b,))


def add_point(conn, borrower_id: int, kind: str, zone: str) -> None:
    conn.execute("INSERT INTO contact_point (borrower_id, kind, label, value, value_digest, "
                 "country, region, time_zones, consent_to_contact) "
                 "VALUES (%s, %s, 'home', '\\x00', '\\x00', 'US', NULL, ARRAY[%s], true)",
                 (borrower_id, kind, zone))


def waiting_on_a_lock(watcher, pid: int) -> None:
    """Until `pid` waits for a lock (a condition, polled; not a guess at how long it takes)."""
    for _ in range(2000):
        row = watcher.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                              (pid,)).fetchone()
        if row and row[0] == "Lock":
            return
        watcher.execute("SELECT pg_sleep(0.005)")
    raise AssertionError("the second writer never waited for the first")


def remove_all(conn, borrower_id: int, *_) -> None:
    conn.execute("DELETE FROM contact_point WHERE borrower_id = %s", (borrower_id,))


#: (points before, what the first writer does, then the second, while the first is open).
RACES = {
    "both add, the row exists": ([("address", NY)], (add_point, "phone", LA),
                                 (add_point, "email", LONDON)),
    "both add the first points": ([], (add_point, "phone", LA), (add_point, "email", LONDON)),
    "one removes all, one adds": ([("address", NY), ("phone", LA)], (remove_all,),
                                  (add_point, "email", LONDON)),
    "one adds, one removes all": ([("address", NY)], (add_point, "email", LONDON),
                                  (remove_all,)),
}


@pytest.mark.parametrize("race", RACES.values(), ids=RACES.keys())
def test_two_writers_of_one_borrower_take_turns(committed, race):
    """Without the lock, the second writer would write a summary computed before the first
    committed: the first one's change would be lost."""
    b, dsn = committed
    before, (first, *first_args), (second, *second_args) = race
    with psycopg.connect(dsn, autocommit=True) as conn:
        for kind, zone in before:
            add_point(conn, b, kind, zone)
    with psycopg.connect(dsn) as one, psycopg.connect(dsn) as two, \
            psycopg.connect(dsn, autocommit=True) as watcher:
        first(one, b, *first_args)  # holds the summary row (or a new one) until commit
        pid = two.info.backend_pid
        failure = []

        def write_second():
            try:
                second(two, b, *second_args)
                two.commit()
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                failure.append(error)

        thread = threading.Thread(target=write_second)
        thread.start()
        waiting_on_a_lock(watcher, pid)
        one.commit()
        thread.join(timeout=30)
        assert not thread.is_alive() and not failure, failure
        points = watcher.execute("SELECT kind, country, region, time_zones, opted_out_at "
                                 "FROM contact_point WHERE borrower_id = %s ORDER BY id",
                                 (b,)).fetchall()
        summary = watcher.execute("SELECT addresses, country, region, home_zone, zones, "
                                  "opted_out FROM contact_point_summary WHERE borrower_id = %s",
                                  (b,)).fetchone()
    assert summary == expected(points)
