"""The contact scrub at scale: a million accounts decided for `call` at one instant, against the
floor of reading the same rows out of PostgreSQL; and the single-decision API's latency over HTTP.

    .venv/bin/python bench/contact_scrub.py                    # embedded PostgreSQL, 1,000,000
    .venv/bin/python bench/contact_scrub.py --accounts 100000  # smaller
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/contact_scrub.py

It creates a database of its own (portal_bench_<pid>), migrates it, loads the demo data and seeds
the accounts with set-based SQL (encrypted columns hold real ciphertext: a small pool of values is
encrypted once and reused), then measures:

* the floor: `COPY (SELECT ...) TO STDOUT` of every row a decision reads (accounts joined with
  their contact points, the holds in force, preferences, the attempts of the 31-day lookback),
  read to the end through psycopg; and, stricter, the same with each borrower's contact point
  summary in place of every point (what the bulk path reads for most accounts);
* the scrub: every seeded account through `portal.contact.bulk.decide_stream` in batches of
  100,000, and a sample checked against `service.decide`;
* the single decision: POST /api/v1/contact-decisions over real HTTP (werkzeug in a thread).

The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import pstats
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._env import ROOT  # noqa: E402 - sets demo mode and throwaway keys first

#: The scrub's instant: 09:30 in New York, 06:30 in Los Angeles, 13:30 in London, 21:30 in Beijing.
AT = datetime(2026, 3, 10, 13, 30, tzinfo=UTC)
POOL = 1000
#: (state, share of US accounts). Massachusetts has its own call limits.
US_STATES = [
    ("CA", 12), ("TX", 9), ("FL", 7), ("NY", 6), ("PA", 4), ("IL", 4), ("OH", 3.5), ("GA", 3.3),
    ("NC", 3.2), ("MI", 3), ("NJ", 2.8), ("VA", 2.6), ("WA", 2.3), ("AZ", 2.2), ("TN", 2.1),
    ("MA", 2.1), ("IN", 2), ("MO", 1.9), ("MD", 1.9), ("WI", 1.8), ("CO", 1.8), ("MN", 1.7),
    ("SC", 1.6), ("AL", 1.5), ("LA", 1.4), ("KY", 1.4), ("OR", 1.3), ("OK", 1.2), ("CT", 1.1),
    ("UT", 1), ("NV", 1), ("IA", 1), ("AR", 0.9), ("MS", 0.9), ("KS", 0.9), ("NM", 0.6),
    ("NE", 0.6), ("ID", 0.6), ("HI", 0.4), ("AK", 0.2), ("DC", 0.2),
]
#: Area codes whose numbers ring in each state (and so carry its zones).
AREA_CODES = {
    "CA": "213 310 415 619 714", "TX": "214 512 713 915", "FL": "305 407 850", "NY": "212 518 716",
    "PA": "215 412", "IL": "312 217", "OH": "216 614", "GA": "404 912", "NC": "704 919",
    "MI": "313 906", "NJ": "201 973", "VA": "703 804", "WA": "206 509", "AZ": "602 520",
    "TN": "615 901", "MA": "617 508", "IN": "317 219", "MO": "314 816", "MD": "410 301",
    "WI": "414 608", "CO": "303 719", "MN": "612 218", "SC": "803 843", "AL": "205 334",
    "LA": "504 318", "KY": "502 606", "OR": "503 541", "OK": "405 918", "CT": "203 860",
    "UT": "801", "NV": "702 775", "IA": "515", "AR": "501", "MS": "601", "KS": "316 785",
    "NM": "505", "NE": "402 308", "ID": "208", "HI": "808", "AK": "907", "DC": "202",
}
CALL_OUTCOMES = [("no_answer", 45), ("voicemail", 25), ("busy", 5), ("conversation", 20),
                 ("wrong_number", 5)]
CEASE = {"US": "us.cease-communication", "GB": "uk.contact-reasonable",
         "CN": "policy.channel-opt-out"}
DISPUTE = {"US": "us.dispute-pending-verification", "GB": "uk.dispute",
           "CN": "policy.dispute-outside-validation"}


def pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


# --- seeding --------------------------------------------------------------------------------------


def pools():
    """Phone numbers per place (with the zones libphonenumber gives them), emails, address lines."""
    from portal.accounts import zones

    phones: dict[str, list[tuple[str, list[str]]]] = {}
    for state, codes in AREA_CODES.items():
        for code in codes.split():
            for n in range(100):
                number = f"+1{code}55501{n:02d}"
                try:
                    phones.setdefault(state, []).append((number, zones.for_phone(number)))
                except zones.UnknownZone:
                    pass
    phones["GB"] = [(f"+44791112{n:04d}", ["Europe/London"]) for n in range(300)]
    phones["CN"] = [(f"+86138001{n:05d}", ["Asia/Shanghai"]) for n in range(300)]
    for place, numbers in phones.items():
        assert numbers, place
        for number, found in numbers:
            assert zones.normalise_phone(number) == number and found, number
    emails = [f"borrower{n}@example.com" for n in range(POOL)]
    return phones, emails


def plan(accounts: int, first_id: int):
    """Every seeded account's make-up, drawn with a fixed seed: one row per table row to write."""
    from portal.accounts import zones

    rng = random.Random(20260310)
    phones, emails = pools()
    rows = {"borrower": [], "point": [], "account": [], "hold": [], "preferences": [],
            "attempt": []}
    asks = []  # (account id, phone number): the dialer's list
    us_states = [(s, w) for s, w in US_STATES]
    for n in range(accounts):
        i = first_id + n
        country = pick(rng, [("US", 80), ("GB", 10), ("CN", 10)])
        region = pick(rng, us_states) if country == "US" else None
        home_zones = zones.for_address(country, region)
        rows["borrower"].append((i, n % POOL))
        # Address, mobile (10%: in another time zone), sometimes a work phone, often an email.
        rows["point"].append((4 * i, i, "address", "home", ("line", n % POOL), country, region,
                              home_zones))
        place = region if country == "US" else country
        if rng.random() < 0.10:  # a second time zone: the mobile rings elsewhere
            place = rng.choice([p for p in phones
                                if set(phones[p][0][1]) != set(home_zones)])
        mobile, mobile_zones = rng.choice(phones[place])
        rows["point"].append((4 * i + 1, i, "phone", "mobile", ("phone", mobile), country, None,
                              mobile_zones))
        work = None
        if rng.random() < 0.10:
            work, work_zones = rng.choice(phones[region if country == "US" else country])
            rows["point"].append((4 * i + 2, i, "phone", "work", ("phone", work), country, None,
                                  work_zones))
        email = None
        if rng.random() < 0.60:
            email = emails[rng.randrange(POOL)]
            rows["point"].append((4 * i + 3, i, "email", "personal", ("email", email), country,
                                  None, home_zones))
        opted_out = rng.random() < 0.005
        if opted_out:
            rows["point"][-1] = rows["point"][-1] + ("opted_out",)
        # The account: a validation notice sent, 8% recently enough to be in the period.
        sent = None
        if rng.random() < 0.95:
            days = rng.uniform(1, 40) if rng.random() < 0.08 else rng.uniform(60, 900)
            sent = AT - timedelta(days=days)
        rows["account"].append((i, country, sent))
        # Holds: 5% disputed (this account), 2% cease (the borrower), 1% bankruptcy or, in the
        # UK, breathing space (lapses by itself), 1% a hold that has already ended.
        r = rng.random()
        if r < 0.05:
            rows["hold"].append((i, i, DISPUTE[country], None, AT - timedelta(days=rng.uniform(
                1, 200)), None, None))
        elif r < 0.07:
            rows["hold"].append((i, None, CEASE[country], None, AT - timedelta(
                days=rng.uniform(1, 400)), None, None))
        elif r < 0.08 and country != "CN":
            start = AT - timedelta(days=rng.uniform(1, 50))
            if country == "US":
                rows["hold"].append((i, None, "us.bankruptcy-stay", None, start, None, None))
            else:
                rows["hold"].append((i, None, "uk.breathing-space", None, start,
                                     start + timedelta(days=61), None))
        elif r < 0.09:
            start = AT - timedelta(days=rng.uniform(30, 300))
            rows["hold"].append((i, None, CEASE[country], None, start, None,
                                 start + timedelta(days=rng.uniform(1, 25))))
        # Preferences: 10% of borrowers have a row; 3% say something the rules read.
        r = rng.random()
        if r < 0.03:
            data = rng.choice([
                {"opted_out_channels": ["email"]},
                {"inconvenient": [{"start": "08:00", "end": "10:00"}]},
                {"inconvenient": [{"start": "18:00", "end": "21:00", "channels": ["call"]}]},
                {"workplace_prohibited": True},
                {"opted_out_points": [4 * i + 2 if work else 4 * i + 1]},
            ])
            rows["preferences"].append((i, {**data, "language": "en"}))
        elif r < 0.10:
            rows["preferences"].append((i, rng.choice([{}, {"language": "en"}])))
        # Attempts: 20% were tried in the last 30 days, 1-8 times.
        if rng.random() < 0.20:
            for _ in range(rng.randint(1, 8)):
                when = AT - timedelta(seconds=rng.uniform(60, 30 * 86400))
                channel = pick(rng, [("call", 80), ("sms", 15), ("email", 5)])
                if channel == "call":
                    outcome = pick(rng, CALL_OUTCOMES)
                    target = ("phone", work if work and rng.random() < 0.2 else mobile)
                elif channel == "sms":
                    outcome, target = pick(rng, [("delivered", 9), ("bounced", 1)]), \
                        ("phone", mobile)
                else:
                    outcome = pick(rng, [("delivered", 9), ("bounced", 1)])
                    target = ("email", email) if email else ("phone", mobile)
                rows["attempt"].append((i, channel, target, when, outcome))
        asks.append((i, mobile))
    return rows, asks


def seed(conn, accounts: int, first_id: int) -> tuple[list, dict]:
    """Write the planned accounts with COPY; return the dialer's list and the row counts."""
    from portal.crypto import cipher, lookup_digest

    started = time.perf_counter()
    rows, asks = plan(accounts, first_id)
    print(f"  planned in {time.perf_counter() - started:.1f} s", flush=True)
    c = cipher()
    sealed: dict[tuple, tuple[bytes, bytes]] = {}

    def seal(value: str, purpose: str, digest_purpose: str | None = None) -> tuple[bytes, bytes]:
        """One ciphertext per distinct value, reused: what matters is real bytes to read."""
        key = (value, purpose, digest_purpose)
        if key not in sealed:
            sealed[key] = (c.encrypt(value, purpose),
                           lookup_digest(value, digest_purpose or purpose))
        return sealed[key]

    dobs = [f"19{50 + n % 50}-{1 + n % 12:02d}-{1 + n % 28:02d}" for n in range(POOL)]
    cur = conn.cursor()
    cur.execute("""INSERT INTO creditor (code, name, country) VALUES
                   ('BUS', 'Bench US Bank', 'US'), ('BGB', 'Bench UK Cards', 'GB'),
                   ('BCN', 'Bench CN Finance', 'CN') RETURNING code, id""")
    creditors = {code[1:]: cid for code, cid in cur.fetchall()}
    started = time.perf_counter()
    with cur.copy("COPY borrower (id, reference, given_name, family_name, display_name, "
                  "date_of_birth, date_of_birth_digest, preferred_language, created_at) "
                  "FROM STDIN") as copy:
        for i, k in rows["borrower"]:
            dob, dob_digest = seal(dobs[k], "borrower.date_of_birth")
            copy.write_row((i, f"BEN-{i}", "Bench", "Borrower", f"Bench Borrower {i}", dob,
                            dob_digest, "en", AT - timedelta(days=400)))
    points_started = time.perf_counter()
    with cur.copy("COPY contact_point (id, borrower_id, kind, label, value, value_digest, city, "
                  "region, postal_code, country, time_zones, consent_to_contact, opted_out_at) "
                  "FROM STDIN") as copy:
        for point_id, borrower_id, kind, label, (what, value), country, region, tz, *out \
                in rows["point"]:
            if what == "line":
                value = f"{value} Bench Street"
            blob, digest = seal(value, "contact_point.value", f"contact_point.{kind}")
            copy.write_row((point_id, borrower_id, kind, label, blob, digest,
                            "Bench" if kind == "address" else None, region,
                            "00000" if kind == "address" else None, country, tz, True,
                            AT - timedelta(days=3) if out else None))
    print(f"  contact points, with the summaries their trigger keeps, written in "
          f"{time.perf_counter() - points_started:.1f} s", flush=True)
    number, number_digest = seal("BENCH-ORIGINAL-1", "account.original_account_number")
    with cur.copy("COPY account (id, reference, borrower_id, creditor_id, product, currency, "
                  "original_account_number, original_account_number_digest, status, "
                  "itemization_date, validation_notice_sent_at, placed_at) FROM STDIN") as copy:
        currency = {"US": "USD", "GB": "GBP", "CN": "CNY"}
        for i, country, sent in rows["account"]:
            copy.write_row((i, f"BEN-{i}", i, creditors[country], "credit card",
                            currency[country], number, number_digest, "open",
                            (AT - timedelta(days=1000)).date(), sent, AT - timedelta(days=400)))
    # Each hold was started by a case event (holds keep the event that started them).
    with cur.copy("COPY case_event (id, stream, seq, borrower_id, account_id, kind, actor_type, "
                  "occurred_at, data, prev_hash, hash) FROM STDIN") as copy:
        for n, (borrower_id, account_id, rule, _, start, _, _) in enumerate(rows["hold"]):
            copy.write_row((10_000_000 + n, f"bench:{n}", 1, borrower_id, account_id,
                            "bench.hold_started", "system", start, json.dumps({"rule": rule}),
                            "0" * 64, f"{n:064x}"))
    with cur.copy("COPY contact_hold (borrower_id, account_id, rule, channels, started_at, "
                  "until, started_by_event_id, ended_at, key) FROM STDIN") as copy:
        for n, (borrower_id, account_id, rule, channels, start, until, ended) in \
                enumerate(rows["hold"]):
            copy.write_row((borrower_id, account_id, rule, channels, start, until,
                            10_000_000 + n, ended, rule))
    with cur.copy("COPY contact_preferences (borrower_id, data, updated_at) FROM STDIN") as copy:
        for borrower_id, data in rows["preferences"]:
            copy.write_row((borrower_id, json.dumps(data), AT - timedelta(days=5)))
    with cur.copy("COPY contact_attempt (account_id, channel, destination, destination_digest, "
                  "at, outcome, reported_by, violation, violated_rules, recorded_at) "
                  "FROM STDIN") as copy:
        for account_id, channel, (_, value), when, outcome in rows["attempt"]:
            blob, digest = seal(value, "contact_attempt.destination")
            copy.write_row((account_id, channel, blob, digest, when, outcome, "bench", False,
                            [], when))
    for table in ("borrower", "contact_point", "account", "case_event", "contact_hold",
                  "contact_attempt"):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))")
    conn.commit()
    print(f"  written in {time.perf_counter() - started:.1f} s", flush=True)
    return asks, {k: len(v) for k, v in rows.items()}


# --- measuring ------------------------------------------------------------------------------------

FLOOR_SQL = [
    "SELECT a.id, a.borrower_id, a.validation_notice_sent_at, p.id, p.kind, p.label, p.country, "
    "p.region, p.time_zones, p.value_digest, p.opted_out_at "
    "FROM account a JOIN contact_point p ON p.borrower_id = a.borrower_id",
    "SELECT h.borrower_id, h.account_id, h.rule, h.channels, h.started_at, h.until, h.ended_at "
    "FROM contact_hold h WHERE h.started_at <= {at} AND (h.ended_at IS NULL OR h.ended_at > {at})",
    "SELECT borrower_id, data FROM contact_preferences",
    "SELECT account_id, channel, outcome, at, destination_digest FROM contact_attempt "
    "WHERE at > {at}::timestamptz - interval '744 hours' AND at <= {at}",
]
#: The same, with each borrower's contact point summary in place of every contact point: the
#: rows the bulk path itself reads for most accounts (the summary is kept at write time).
SUMMARY_FLOOR_SQL = [
    "SELECT a.id, a.borrower_id, a.validation_notice_sent_at, s.addresses, s.country, s.region, "
    "s.home_zone, s.zones, s.opted_out "
    "FROM account a JOIN contact_point_summary s ON s.borrower_id = a.borrower_id",
    *FLOOR_SQL[1:],
]


def floor(conn, queries: list[str] = FLOOR_SQL) -> tuple[float, int, int]:
    """Seconds to read every row a decision reads with plain COPY ... TO STDOUT; rows, bytes."""
    at = f"'{AT.isoformat()}'"
    rows = size = 0
    started = time.perf_counter()
    with conn.cursor() as cur:
        for sql in queries:
            with cur.copy(f"COPY ({sql.format(at=at)}) TO STDOUT") as copy:
                for chunk in copy:
                    size += len(chunk)
            rows += cur.rowcount
    conn.commit()
    return time.perf_counter() - started, rows, size


def scrub(asks: list, batch: int, profile: bool):
    """Every account of the list for a call at AT, through the bulk path, as a stream of batches
    (the server reads the next batch while this one is decided)."""
    from portal.contact import bulk

    allowed = 0
    blocked_by: dict[str, int] = {}
    memo = bulk.Memo()
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    wanted = (bulk.Ask(i, "call", phone, AT) for i, phone in asks)
    for decision in bulk.decide_stream(wanted, memo, size=batch):
        if decision.allowed:
            allowed += 1
        else:
            for reason in decision.reasons:
                if reason.effect == "block":
                    blocked_by[reason.rule] = blocked_by.get(reason.rule, 0) + 1
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return elapsed, allowed, blocked_by, len(memo.decisions)


def bulk_sql_alone(conn, asks: list, batch: int) -> float:
    """Seconds PostgreSQL takes for the bulk path's own reading (its SELECT per batch, copied
    out with COPY ... TO STDOUT, with the settings the path reads with; the batches' parameters
    made beforehand): the scrub overlaps this with Python's deciding, batch by batch."""
    from portal.contact import bulk_sql

    params = [bulk_sql.params([(i, AT) for i, _ in asks[start:start + batch]])
              for start in range(0, len(asks), batch)]
    started = time.perf_counter()
    with conn.cursor() as cur, bulk_sql.reading_settings(conn, batch, alone=False):
        for args in params:
            with cur.copy(f"COPY ({bulk_sql.PAIRS_SQL}) TO STDOUT", args) as copy:
                for _ in copy:
                    pass
    conn.commit()
    return time.perf_counter() - started


def agree(asks: list, sample: int) -> tuple[int, int]:
    """A sample of the scrub, decided both ways: bulk and service.decide, one by one."""
    from portal.accounts.models import Account
    from portal.contact import bulk, service
    from portal.extensions import db

    rng = random.Random(7)
    chosen = rng.sample(asks, min(sample, len(asks)))
    same = 0
    for i, phone in chosen:
        for channel, destination in (("call", phone), ("sms", phone), ("letter", None)):
            got = bulk.decide_many([bulk.Ask(i, channel, destination, AT)])[0]
            want = service.decide(db.session.get(Account, i), channel, destination, AT)
            same += got == want
            if got != want:
                print(f"  DIFFERENT account {i} {channel}: bulk {got} service {want}")
        db.session.expunge_all()
    return same, 3 * len(chosen)


def http_latency(app, requests: int) -> list[float]:
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    bodies = [
        {"account_ref": "NWB-1001", "channel": "call", "destination": "+1 213 555 0147"},
        {"account_ref": "NWB-1002", "channel": "sms", "destination": "+1 617 555 0199"},
        {"account_ref": "JRF-2001", "channel": "call", "destination": "+86 138 0013 8000"},
        {"account_ref": "TCS-3001", "channel": "email", "destination": "oliver@example.com"},
        {"account_ref": "LUM-1001", "channel": "letter"},
    ]
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port)
    headers = {"Authorization": "Bearer demo-dialer-key", "Content-Type": "application/json"}
    samples = []
    try:
        for n in range(requests + 50):
            body = json.dumps({**bodies[n % len(bodies)], "at": AT.isoformat()})
            started = time.perf_counter()
            conn.request("POST", "/api/v1/contact-decisions", body, headers)
            response = conn.getresponse()
            response.read()
            if n >= 50:  # the first ones warm up the pool and caches
                samples.append(time.perf_counter() - started)
            assert response.status == 200, response.status
    finally:
        conn.close()
        server.shutdown()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000, help="asks per batch")
    parser.add_argument("--http-requests", type=int, default=500)
    parser.add_argument("--sample", type=int, default=300,
                        help="accounts decided both ways, bulk and one by one")
    parser.add_argument("--profile", action="store_true", help="cProfile the scrub")
    args = parser.parse_args()

    import psycopg
    from flask_migrate import upgrade

    from bench import _database
    from portal import create_app
    from portal.config import sqlalchemy_url
    from portal.demo.cli import seed as seed_demo
    from portal.extensions import db

    admin, name, url = _database.create("portal_bench")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url),
                          "RATELIMIT_ENABLED": False})
        print(f"seeding {args.accounts:,} accounts in {name}", flush=True)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed_demo()
            with psycopg.connect(url, options="-c timezone=UTC") as conn:
                asks, counts = seed(conn, args.accounts, first_id=1000)
                conn.autocommit = True
                started = time.perf_counter()
                conn.execute("VACUUM ANALYZE")
                print(f"  vacuumed in {time.perf_counter() - started:.1f} s")
            print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

            with psycopg.connect(url, options="-c timezone=UTC") as conn:
                floor(conn)  # once to warm the cache, as the scrub will find it
                floor_s, floor_rows, floor_bytes = floor(conn)
                floor(conn, SUMMARY_FLOOR_SQL)
                summary_s, summary_rows, summary_bytes = floor(conn, SUMMARY_FLOOR_SQL)
                sql_s = bulk_sql_alone(conn, asks, args.batch)
            print(f"\nfloor: COPY ... TO STDOUT of the rows decisions read: {floor_s:.2f} s "
                  f"({floor_rows:,} rows, {floor_bytes / 1e6:.0f} MB)")

            scrub_s, allowed, blocked_by, memoised = scrub(asks, args.batch, args.profile)
            db.session.rollback()
            print(f"scrub: {len(asks):,} call decisions at {AT.isoformat()} in {scrub_s:.2f} s "
                  f"= {len(asks) / scrub_s:,.0f} decisions/s "
                  f"(batches of {args.batch:,}; {memoised:,} distinct canonical decisions)")
            print(f"ratio scrub / floor: {scrub_s / floor_s:.2f}x (target 3x)")
            print(f"  against the rows the bulk path reads (contact point summaries in place of "
                  f"every point: {summary_s:.2f} s, {summary_rows:,} rows, "
                  f"{summary_bytes / 1e6:.0f} MB): {scrub_s / summary_s:.2f}x")
            print(f"  the bulk path's own SELECT alone (COPY ... TO STDOUT, same batches): "
                  f"{sql_s:.2f} s")
            print(f"  allowed {allowed:,}; blocked by: " + ", ".join(
                f"{rule} {count:,}" for rule, count in
                sorted(blocked_by.items(), key=lambda x: -x[1])))
            same, total = agree(asks, args.sample)
            db.session.rollback()
            print(f"  sample decided both ways (call, sms, letter): {same}/{total} identical")

        samples = http_latency(app, args.http_requests)
        ms = sorted(s * 1000 for s in samples)
        p50 = statistics.median(ms)
        p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
        print(f"\nsingle decision, POST /api/v1/contact-decisions over HTTP ({len(ms)} requests, "
              f"one connection): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        print(f"BENCH name=contact_scrub figure={scrub_s:.2f} floor={floor_s:.2f} "
              f"ratio={scrub_s / floor_s:.2f} unit=s target=3 better=lower "
              f"accounts={args.accounts}")
        with app.app_context():
            db.engine.dispose()
    finally:
        _database.drop(admin, name)


if __name__ == "__main__":
    main()
