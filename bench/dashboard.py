"""The supervisor's dashboard at scale: each chart's server rendering (its query and its SVG and
table) on a million seeded accounts, beside floors measured in the same run.

    .venv/bin/python bench/dashboard.py                      # embedded PostgreSQL, 1,000,000
    .venv/bin/python bench/dashboard.py --accounts 100000    # smaller
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/dashboard.py

It creates a database of its own (portal_bench_dash_<pid>), migrates it, loads the demo data and
seeds, with COPY and the triggers off (as a bulk load would), a year and a month of history:
borrowers and accounts over twelve creditors of the demo agency and two of the second agency,
card payments with their ledger entries (some refunded), payment plans kept, broken and active,
disputes opened and closed, holds (each with the case event that started it, some on the borrower)
and contact attempts (some violations). The rollup is then rebuilt from those rows
(`tally_sql.REBUILD`, what migration 0017 runs; timed) and every chart of the dashboard is rendered
as the page renders it (`portal.dashboard.charts`: the query, the SVG, the table), for the last
30 days per day and for a year per week, several times each; the median is printed.

Floors, measured in the same run on the same database:
* `SELECT 1`: one round trip, the least any chart can cost;
* `count(*)` of the source rows the chart summarises in the same period, with the agency's
  filter (what a chart reading the source tables would at least have to do).
The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._env import ROOT  # noqa: E402 - sets demo mode and throwaway keys first

NOW = datetime.now(UTC).replace(microsecond=0)
HISTORY_DAYS = 400
ZONE = "America/New_York"
CHANNELS = [("call", 60), ("sms", 20), ("email", 15), ("letter", 4), ("visit", 1)]
RULES = [("policy.paid-in-full", 30), ("us.dispute-pending-verification", 20),
         ("us.cease-communication", 15), ("us.attorney-represented", 10),
         ("us.bankruptcy", 8), ("us.validation-period", 10), ("policy.supervisor-pause", 7)]
REPEATS = 7


def pick(rng: random.Random, weighted):
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def when(rng: random.Random, days: int = HISTORY_DAYS) -> datetime:
    """An instant in the history, in business hours (13:00-01:00 UTC) more often than not."""
    day = NOW - timedelta(days=rng.randrange(days))
    hour = rng.randrange(13, 25) if rng.random() < 0.85 else rng.randrange(24)
    at = day.replace(hour=0, minute=0, second=0) + timedelta(hours=hour,
                                                             seconds=rng.randrange(3600))
    return min(at, NOW)


def seed(conn, accounts: int) -> dict[str, int]:
    """Write the accounts and their history with COPY, triggers off; returns the row counts."""
    from portal.crypto import cipher, lookup_digest

    rng = random.Random(20261203)
    cur = conn.cursor()
    cur.execute("SET session_replication_role = replica")  # no triggers: the rollup comes after
    demo = cur.execute("SELECT id FROM agency WHERE name = 'Demo Collections'").fetchone()[0]
    other = cur.execute("SELECT id FROM agency WHERE name = 'Harbor Recovery'").fetchone()[0]
    creditors = []
    for n in range(14):
        agency = demo if n < 12 else other
        cur.execute("INSERT INTO creditor (code, name, country, agency_id, allow_overpayment) "
                    "VALUES (%s, %s, 'US', %s, false) RETURNING id",
                    (f"B{n:02d}", f"Bench Creditor {n:02d}", agency))
        creditors.append(cur.fetchone()[0])
    weights = [12, 10, 9, 8, 8, 7, 6, 6, 5, 5, 4, 3, 9, 8]
    c = cipher()
    dob = c.encrypt("1980-01-01", "borrower.date_of_birth")
    dob_digest = lookup_digest("1980-01-01", "borrower.date_of_birth")
    number = c.encrypt("BENCH-ORIGINAL-1", "account.original_account_number")
    number_digest = lookup_digest("BENCH-ORIGINAL-1", "account.original_account_number")
    first = 1_000_000
    counts = dict.fromkeys(("account", "payment", "ledger_entry", "payment_plan", "dispute",
                            "contact_hold", "contact_attempt"), 0)
    creditor_of = {}
    started = time.perf_counter()
    with cur.copy("COPY borrower (id, reference, given_name, family_name, display_name, "
                  "date_of_birth, date_of_birth_digest, preferred_language, created_at) "
                  "FROM STDIN") as copy:
        for i in range(first, first + accounts):
            copy.write_row((i, f"BEN-{i}", "Bench", "Borrower", f"Bench Borrower {i}", dob,
                            dob_digest, "en", NOW - timedelta(days=500)))
    with cur.copy("COPY account (id, reference, borrower_id, creditor_id, product, currency, "
                  "original_account_number, original_account_number_digest, status, "
                  "itemization_date, placed_at) FROM STDIN") as copy:
        for i in range(first, first + accounts):
            creditor = rng.choices(creditors, weights)[0]
            creditor_of[i] = creditor
            copy.write_row((i, f"BEN-{i}", i, creditor, "credit card", "USD", number,
                            number_digest, "open", (NOW - timedelta(days=600)).date(),
                            NOW - timedelta(days=500)))
            counts["account"] += 1
    print(f"  accounts written in {time.perf_counter() - started:.1f} s", flush=True)

    # Card payments (1.2 an account), each posted to the ledger; 3% given back later.
    payments, entries, reversals = [], [], []
    payment_id, entry_id = 1_000_000, 1_000_000
    for i in range(first, first + accounts):
        for _ in range(1 if rng.random() < 0.8 else 2):
            if rng.random() < 0.4:
                continue
            at = when(rng)
            amount = rng.randrange(1_000, 50_000)
            payments.append((payment_id, i, amount, at))
            entries.append((entry_id, i, "payment", -amount, at, payment_id, None))
            if rng.random() < 0.03:
                back = min(NOW, at + timedelta(days=rng.randrange(1, 30)))
                reversals.append((entry_id + 1, i, "reversal", amount, back, payment_id,
                                  entry_id))
            payment_id += 1
            entry_id += 2
    with cur.copy("COPY payment (id, public_id, borrower_id, account_id, amount_minor, currency, "
                  "choice, status, created_at, updated_at, succeeded_at, refunded_minor, "
                  "charged_back_minor) FROM STDIN") as copy:
        for pid, account, amount, at in payments:
            copy.write_row((pid, uuid.UUID(int=pid), account, account, amount, "USD", "other",
                            "succeeded", at, at, at, 0, 0))
    with cur.copy("COPY ledger_entry (id, account_id, kind, amount_minor, currency, posted_at, "
                  "effective_date, description, payment_id, reverses_id) FROM STDIN") as copy:
        for eid, account, kind, amount, at, pid, reverses in entries + reversals:
            copy.write_row((eid, account, kind, amount, "USD", at, at.date(), "Card payment",
                            pid, reverses))
    counts["payment"], counts["ledger_entry"] = len(payments), len(entries) + len(reversals)
    print(f"  payments written in {time.perf_counter() - started:.1f} s", flush=True)

    # Plans on a fifth of the accounts: active, kept (completed) or broken.
    with cur.copy("COPY payment_plan (borrower_id, account_id, kind, status, currency, "
                  "balance_minor, total_minor, monthly_minor, months, first_due, decision, "
                  "decided_at, accepted_at, autopay, ended_at, created_at) FROM STDIN") as copy:
        decision = json.dumps({"outcome": "approved"})
        for i in range(first, first + accounts):
            if rng.random() >= 0.2:
                continue
            status = pick(rng, [("active", 40), ("completed", 35), ("broken", 25)])
            start = when(rng)
            ended = None if status == "active" else min(NOW, start + timedelta(
                days=rng.randrange(30, 200)))
            copy.write_row((i, i, "installments", status, "USD", 100_000, 100_000, 10_000, 10,
                            start.date(), decision, start, start, False, ended, start))
            counts["payment_plan"] += 1
    # Disputes on one account in twenty: most closed within 60 days.
    with cur.copy("COPY dispute (borrower_id, account_id, reasons, currency, status, "
                  "within_validation, wants_original_creditor, holds, opened_at, resolved_at, "
                  "outcome, withdrawn_at) FROM STDIN") as copy:
        for i in range(first, first + accounts):
            if rng.random() >= 0.05:
                continue
            opened = when(rng)
            closed = opened + timedelta(days=rng.randrange(1, 60), hours=rng.randrange(24))
            state = pick(rng, [("resolved", 75), ("withdrawn", 10), ("open", 15)])
            if closed > NOW:
                state = "open"
            copy.write_row((i, i, ["not_mine"], "USD",
                            {"resolved": "resolved", "withdrawn": "withdrawn"}.get(state,
                                                                                  "received"),
                            False, False, "{}", opened, closed if state == "resolved" else None,
                            "upheld" if state == "resolved" else None,
                            closed if state == "withdrawn" else None))
            counts["dispute"] += 1
    print(f"  plans and disputes written in {time.perf_counter() - started:.1f} s", flush=True)

    # Holds on three accounts in ten (one in ten of them on the borrower), each started by a
    # case event; most have ended.
    holds = []
    for i in range(first, first + accounts):
        if rng.random() >= 0.3:
            continue
        rule = pick(rng, RULES)
        start = when(rng)
        ended = (min(NOW, start + timedelta(days=rng.randrange(1, 120)))
                 if rng.random() < 0.6 else None)
        holds.append((i, None if rng.random() < 0.1 else i, rule, start, ended))
    with cur.copy("COPY case_event (id, stream, seq, borrower_id, account_id, kind, actor_type, "
                  "occurred_at, data, prev_hash, hash) FROM STDIN") as copy:
        for n, (borrower, account, rule, start, _e) in enumerate(holds):
            copy.write_row((10_000_000 + n, f"bench:{n}", 1, borrower, account,
                            "bench.hold_started", "system", start, json.dumps({"rule": rule}),
                            "0" * 64, f"{n:064x}"))
    with cur.copy("COPY contact_hold (borrower_id, account_id, rule, started_at, "
                  "started_by_event_id, ended_at, key) FROM STDIN") as copy:
        for n, (borrower, account, rule, start, ended) in enumerate(holds):
            copy.write_row((borrower, account, rule, start, 10_000_000 + n, ended, rule))
    counts["contact_hold"] = len(holds)
    print(f"  holds written in {time.perf_counter() - started:.1f} s", flush=True)

    # Contact attempts: four an account over the history; one in fifty a violation.
    with cur.copy("COPY contact_attempt (account_id, channel, at, outcome, reported_by, "
                  "violation, violated_rules, recorded_at) FROM STDIN") as copy:
        channels = [ch for ch, _w in CHANNELS]
        channel_weights = [w for _c, w in CHANNELS]
        for i in range(first, first + accounts):
            for channel in rng.choices(channels, channel_weights, k=4):
                at = when(rng)
                violation = rng.random() < 0.02
                copy.write_row((i, channel, at, "no_answer", "bench", violation,
                                ["us.call-frequency"] if violation else [], at))
                counts["contact_attempt"] += 1
    for table in ("borrower", "account", "payment", "ledger_entry", "payment_plan", "dispute",
                  "case_event", "contact_hold", "contact_attempt"):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))")
    cur.execute("SET session_replication_role = origin")
    conn.commit()
    print(f"  all written in {time.perf_counter() - started:.1f} s", flush=True)
    return counts


def rebuild(conn) -> float:
    """Recount the rollup from the source rows, as migration 0017 does; seconds."""
    from portal.dashboard.tally_sql import REBUILD

    started = time.perf_counter()
    with conn.cursor() as cur:
        for statement in REBUILD:
            cur.execute(statement)
    conn.commit()
    return time.perf_counter() - started


def _median_ms(fn, repeats: int = REPEATS) -> float:
    fn()  # warm: the first read fills the cache, as a page viewed twice would find it
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


#: The source rows each chart summarises, counted in the period with the agency's filter.
SOURCE_COUNTS = {
    "collected": "SELECT count(*) FROM ledger_entry l JOIN account a ON a.id = l.account_id "
                 "JOIN creditor c ON c.id = a.creditor_id WHERE c.agency_id = :agency AND "
                 "l.payment_id IS NOT NULL AND l.posted_at >= :start AND l.posted_at < :end",
    "plans": "SELECT count(*) FROM payment_plan p JOIN account a ON a.id = p.account_id "
             "JOIN creditor c ON c.id = a.creditor_id WHERE c.agency_id = :agency AND "
             "p.ended_at >= :start AND p.ended_at < :end",
    "disputes": "SELECT count(*) FROM dispute d JOIN account a ON a.id = d.account_id "
                "JOIN creditor c ON c.id = a.creditor_id WHERE c.agency_id = :agency AND "
                "d.opened_at >= :start AND d.opened_at < :end",
    "dispute_ages": "SELECT count(*) FROM dispute d JOIN account a ON a.id = d.account_id "
                    "JOIN creditor c ON c.id = a.creditor_id WHERE c.agency_id = :agency AND "
                    "d.resolved_at IS NULL AND d.withdrawn_at IS NULL",
    "holds": "SELECT count(*) FROM contact_hold h JOIN account a ON a.borrower_id = h.borrower_id "
             "AND (h.account_id IS NULL OR a.id = h.account_id) JOIN creditor c ON "
             "c.id = a.creditor_id WHERE c.agency_id = :agency AND h.started_at >= :start AND "
             "h.started_at < :end",
    "attempts": "SELECT count(*) FROM contact_attempt t JOIN account a ON a.id = t.account_id "
                "JOIN creditor c ON c.id = a.creditor_id WHERE c.agency_id = :agency AND "
                "t.at >= :start AND t.at < :end",
}


def measure(app, agency_id: int, period, profile: bool = False
            ) -> list[tuple[str, float, float, int]]:
    """(chart, ms to render it, ms to count its source rows, source rows) for one period."""
    from sqlalchemy import text

    from portal.contact.views import channel_name
    from portal.dashboard import charts
    from portal.dashboard.period import utc_bounds
    from portal.extensions import db

    start, end = utc_bounds(period, ZONE)
    results = []
    with app.test_request_context("/staff/dashboard"):
        for name in charts.NAMES:
            def render(name=name):
                if name == "dispute_ages":
                    chart = charts.dispute_ages(agency_id, NOW)
                elif name == "attempts":
                    chart = charts.attempts(agency_id, period, ZONE, channel_name)
                else:
                    chart = getattr(charts, name)(agency_id, period, ZONE)
                db.session.rollback()
                return chart

            chart_ms = _median_ms(render)
            if profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.runcall(render)
                print(f"--- {name}")
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(12)
            def count(name=name):
                rows = db.session.scalar(text(SOURCE_COUNTS[name]),
                                         {"agency": agency_id, "start": start, "end": end})
                db.session.rollback()
                return rows

            rows = count()
            count_ms = _median_ms(count, repeats=1)
            results.append((name, chart_ms, count_ms, rows))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="cProfile each chart once")
    parser.add_argument("--keep", action="store_true",
                        help="keep the seeded database (named in the output), not dropped")
    parser.add_argument("--reuse", metavar="NAME",
                        help="measure a database an earlier --keep run seeded, without seeding")
    args = parser.parse_args()

    import psycopg
    from flask_migrate import upgrade
    from sqlalchemy import text

    from bench import _database
    from portal import create_app
    from portal.config import sqlalchemy_url
    from portal.dashboard.period import Period
    from portal.demo.cli import seed as seed_demo
    from portal.extensions import db

    if args.reuse:
        from sqlalchemy.engine import make_url

        name = args.reuse
        url = make_url(os.environ["DATABASE_URL"]).set(database=name).render_as_string(
            hide_password=False)
        admin = None
    else:
        admin, name, url = _database.create("portal_bench_dash")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url),
                          "RATELIMIT_ENABLED": False})
        with app.app_context():
            if not args.reuse:
                print(f"seeding {args.accounts:,} accounts in {name}", flush=True)
                upgrade(directory=str(ROOT / "migrations"))
                seed_demo()
            with psycopg.connect(url, options="-c timezone=UTC") as conn:
                if not args.reuse:
                    counts = seed(conn, args.accounts)
                    rebuild_s = rebuild(conn)
                    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
                    print(f"  rollup rebuilt from them in {rebuild_s:.1f} s")
                    conn.commit()
                    conn.autocommit = True
                    started = time.perf_counter()
                    conn.execute("VACUUM ANALYZE")
                    print(f"  vacuumed in {time.perf_counter() - started:.1f} s")
                accounts, tallies = conn.execute(
                    "SELECT (SELECT count(*) FROM account), (SELECT count(*) FROM "
                    "dashboard_tally)").fetchone()
                print(f"  {accounts:,} accounts; {tallies:,} tally rows")
            agency_id = db.session.scalar(text(
                "SELECT id FROM agency WHERE name = 'Demo Collections'"))

            def trivial():
                db.session.execute(text("SELECT 1"))
                db.session.rollback()

            trivial_ms = _median_ms(trivial, repeats=50)
            slowest = (0.0, "")
            today = NOW.astimezone(ZoneInfo(ZONE)).date()
            for label, period in [
                    ("the last 30 days, per day (the default)",
                     Period(today - timedelta(days=29), today, "day")),
                    ("the last 365 days, per week",
                     Period(today - timedelta(days=364), today, "week"))]:
                print(f"\n{label}, in {ZONE}; median of {REPEATS} renders; floor SELECT 1 "
                      f"{trivial_ms:.2f} ms; load average {os.getloadavg()[0]:.1f} on "
                      f"{os.cpu_count()} CPUs")
                print(f"  {'chart':<14} {'render ms':>10} {'x SELECT 1':>11} "
                      f"{'count(*) ms':>12} {'render/count':>13} {'source rows':>12}")
                for chart, chart_ms, count_ms, rows in measure(app, agency_id, period,
                                                               args.profile):
                    print(f"  {chart:<14} {chart_ms:>10.1f} {chart_ms / trivial_ms:>10.0f}x "
                          f"{count_ms:>12.1f} {chart_ms / count_ms:>12.2f}x {rows:>12,}")
                    slowest = max(slowest, (chart_ms, chart))
            print(f"BENCH name=dashboard figure={slowest[0]:.1f} floor={trivial_ms:.2f} "
                  f"ratio={slowest[0] / trivial_ms:.0f} unit=ms(slowest-chart:{slowest[1]}) "
                  f"better=lower accounts={args.accounts}")
            db.engine.dispose()
    finally:
        if args.keep or args.reuse:
            print(f"kept the database {name}")
        else:
            _database.drop(admin, name)


if __name__ == "__main__":
    main()
