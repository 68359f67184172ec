"""A queue of 10,000 items stays fast: the contact the rules would have blocked (the queue that
grows fastest), page 1 and the last page, against the floor of reading the same page's rows by
primary key, measured in the same run so the ratio holds on a noisy machine.

    .venv/bin/python bench/queues.py                 # embedded PostgreSQL
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/queues.py
    BENCH_ITEMS=50000 BENCH_NOISE=500000 .venv/bin/python bench/queues.py

It creates a database of its own, migrates it, loads the demo data and adds, with set-based
SQL, ITEMS blocked contacts (violation) and NOISE allowed ones on the demo agency's accounts
(and as many on the second agency's, which the page must skip), then times:

* the floor: `SELECT * FROM contact_attempt WHERE id = ANY(:ids)` of the page's 50 ids;
* the queue's own query for that page (count, page, the by-partner summary), through SQLAlchemy;
* the whole page: GET over the Flask test client, signed in as the demo agent (HTML rendered).

It prints PostgreSQL's plan of the page query (which index it walks). The database is dropped.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import bench._env  # noqa: E402, F401 - sets demo mode and throwaway keys first

ITEMS = int(os.environ.get("BENCH_ITEMS", "10000"))
NOISE = int(os.environ.get("BENCH_NOISE", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "40"))
PATH = "/staff/queues/contact-violations"


def seed_attempts() -> None:
    """ITEMS blocked contacts and NOISE allowed ones over the demo agency's accounts, and as many
    of each on the second agency's, spread over the last 90 days."""
    from sqlalchemy import text

    from portal.extensions import db

    db.session.execute(text("""
        INSERT INTO contact_attempt (account_id, channel, at, outcome, direction, with_consent,
                                     reported_by, violation, violated_rules, recorded_at)
        SELECT a.ids[1 + n % array_length(a.ids, 1)],
               (ARRAY['call', 'sms', 'email'])[1 + n % 3],
               now() - make_interval(secs => n * 777 % 7776000),
               'no_answer', 'outbound', false,
               CASE WHEN n % 4 = 0 THEN 'key:' || a.key ELSE a.staff END,
               n % :every = 0,
               CASE WHEN n % :every = 0 THEN ARRAY['us.inconvenient-hours'] ELSE '{}' END,
               now()
        FROM (SELECT c.agency_id, array_agg(acc.id) AS ids,
                     min(k.public_id) AS key, min(s.id)::text AS staff
              FROM account acc JOIN creditor c ON c.id = acc.creditor_id
              JOIN partner p ON p.agency_id = c.agency_id
              JOIN api_key k ON k.partner_id = p.id
              JOIN staff_user s ON s.agency_id = c.agency_id AND s.role = 'agent'
              GROUP BY c.agency_id) a,
             generate_series(1, :rows) AS n
    """), {"rows": ITEMS + NOISE, "every": max(1, (ITEMS + NOISE) // ITEMS)})
    db.session.commit()
    # What autovacuum would have done by the time anyone looks: statistics and the visibility
    # map (so a count reads the index alone).
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def median_ms(run, rounds: int = ROUNDS) -> float:
    for _ in range(5):
        run()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    import pyotp
    from sqlalchemy import select, text

    from bench import _database

    admin, name, url = _database.create("portal_bench_queues")
    try:
        app = _database.demo_app(url)
        with app.app_context():
            seed_attempts()
        from portal.extensions import db
        from portal.identity.models import StaffUser
        from portal.queues import paging, service
        from portal.queues.catalogue import QUEUES

        with app.app_context():
            agent = db.session.scalar(select(StaffUser).where(
                StaffUser.email == "agent@demo.test"))
            agency_id, zone, secret = agent.agency_id, agent.shown_time_zone, agent.totp_secret
            items = db.session.scalar(text(
                "SELECT count(*) FROM contact_attempt a JOIN account acc ON acc.id = a.account_id"
                " JOIN creditor c ON c.id = acc.creditor_id"
                " WHERE a.violation AND c.agency_id = :a"), {"a": agency_id})
        client = app.test_client()
        client.post("/staff/sign-in", data={"email": "agent@demo.test",
                                            "password": "demo-password-1"})
        signed = client.post("/staff/sign-in/code", data={"code": pyotp.TOTP(secret).now()})
        assert signed.status_code == 303, "staff sign-in failed"

        queue = QUEUES["violations"]
        last = paging.pages(items)
        print(f"{items:,} items in the queue ({ITEMS:,} asked, {NOISE:,} allowed contacts beside "
              f"them, the same again in the other agency); {last} pages of {paging.PAGE_SIZE}; "
              f"median of {ROUNDS} rounds")
        print(f"{'':34} {'floor ms':>9} {'query ms':>9} {'x floor':>8} {'page ms':>9} "
              f"{'x floor':>8}")
        for page in (1, last):
            asked = service.asked(queue, {"page": str(page)})
            with app.app_context():
                now = datetime.now(UTC)
                shown = service.page_of("violations", agency_id, asked, now, zone)
                ids = [r.id for r in shown.rows]
                assert len(ids) == (paging.PAGE_SIZE if page < last
                                    else items - (last - 1) * paging.PAGE_SIZE), len(ids)
                floor = median_ms(lambda ids=ids: list(db.session.execute(text(
                    "SELECT * FROM contact_attempt WHERE id = ANY(:ids)"), {"ids": ids})))
                query = median_ms(lambda asked=asked, now=now: service.page_of(
                    "violations", agency_id, asked, now, zone))
                if page == last:
                    made = service.built("violations", agency_id, now, zone)
                    compiled = service.page_statement(made, made.query, asked.sort, page).compile(
                        db.engine, compile_kwargs={"literal_binds": True})
                    plan = db.session.execute(text(f"EXPLAIN ANALYZE {compiled}")).scalars().all()
                db.session.rollback()

            def render(page=page):
                response = client.get(f"{PATH}?page={page}")
                assert response.status_code == 200, response.status_code
                assert f"Page {page} of {last}" in response.get_data(as_text=True)

            rendered = median_ms(render)
            print(f"GET {PATH}?page={page:<6} {floor:9.2f} {query:9.2f} {query / floor:8.1f} "
                  f"{rendered:9.2f} {rendered / floor:8.1f}")
        # The headline: the last page, rendered, against its floor (the rows alone by id).
        headline = (rendered, floor)
        print("\nThe last page's query, as PostgreSQL plans it:")
        for line in plan:
            if re.search(r"Index|Scan|Sort|Limit|Join|Execution", line):
                print("  " + line.strip())
        print(f"BENCH name=queues figure={headline[0]:.2f} floor={headline[1]:.2f} "
              f"ratio={headline[0] / headline[1]:.1f} unit=ms(last-page) better=lower "
              f"items={items}")
        with app.app_context():
            db.engine.dispose()
    finally:
        _database.drop(admin, name)


if __name__ == "__main__":
    main()
