"""A month's reconciliation and remittance statement for a creditor with a million accounts,
against the floor of a plain PostgreSQL COPY of that month's payment and ledger rows, in the
same run.

    .venv/bin/python bench/statements.py                         # embedded PostgreSQL
    .venv/bin/python bench/statements.py --accounts 100000 --payments 20000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/statements.py

It creates a database of its own (portal_bench_statements_<pid>), migrates it, loads the demo
data and seeds, set-based (INSERT ... SELECT over generate_series), one creditor of the demo
agency ("BST") with `--accounts` borrowers and card accounts (each with its itemization entry),
two commission terms (the later, "combined", with age and product rates), and `--payments`
succeeded card payments in November 2026 with the rows the payment path writes for them that the
statement reads (the payment, its ledger entry with its allocation; for 1% a partial refund, for
1% a whole chargeback, each with its reversing entry). Stripe's month is built in memory as its
lists return it (bench/_month.py), and its balance transactions are kept in the settlement
table as the hourly reconciliation would have kept them (`settlement.record_many`). Payments of
the month's last day are not yet available at its end: the statement holds them.

* the floor: `COPY (SELECT ...) TO STDOUT` of the month's payment rows and ledger rows, read to
  the end;
* timed: the month's reconciliation (`reconcile.service.store` over the pages), then the
  statement's close (`statements.close_statement`), each beside the floor, and their total;
* storing alone: the rows those two kept, COPYed again into tables like theirs (the least that
  keeping them can take, whatever draws them up), beside the floor.

The statement's totals are checked against the seeded rows. The database is dropped at the end
(`--keep` keeps it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._env import ROOT  # noqa: E402 - sets demo mode and throwaway keys first

CREDITOR = "BST"
PERIOD = "2026-11"
TAG = "s"
#: Borrower and account ids start above the demo's.
BASE = 10_000_000
MONTH = ("'2026-11-01 00:00+00'", "'2026-12-01 00:00+00'")


def refunded(i: int) -> int:
    """Payment i's partial refund (1% of payments)."""
    return 500 if i % 100 == 0 else 0


def charged_back(i: int) -> bool:
    """Payment i disputed in full (another 1%)."""
    return i % 100 == 50


def seed(conn, accounts: int, payments: int) -> None:
    """The creditor, its borrowers and accounts, and the month's payments, set-based."""
    from bench import _month
    from portal.crypto import cipher, lookup_digest

    c = cipher()
    cur = conn.cursor()
    agency = cur.execute("SELECT id FROM agency WHERE name = 'Demo Collections'").fetchone()[0]
    creditor = cur.execute(
        "INSERT INTO creditor (code, name, country, agency_id, allow_overpayment) "
        "VALUES (%s, 'Bench Statements Bank', 'US', %s, false) RETURNING id",
        (CREDITOR, agency)).fetchone()[0]
    started = time.perf_counter()
    cur.execute("""
        INSERT INTO borrower (id, reference, given_name, family_name, display_name,
                              date_of_birth, date_of_birth_digest, preferred_language, created_at)
        SELECT %(base)s + i, 'BST-' || i, 'Bench', 'Borrower', 'Bench Borrower ' || i,
               %(dob)s, %(dob_digest)s, 'en', now()
        FROM generate_series(1, %(n)s) AS i""",
                {"base": BASE, "n": accounts,
                 "dob": c.encrypt("1980-01-01", "borrower.date_of_birth"),
                 "dob_digest": lookup_digest("1980-01-01", "borrower.date_of_birth")})
    # Placed over two and a half years, so the commission's age bands all apply; one in five a
    # personal loan (the terms' product rate is for credit cards).
    cur.execute("""
        INSERT INTO account (id, reference, borrower_id, creditor_id, product, currency,
                             original_account_number, original_account_number_digest, status,
                             itemization_date, placed_at)
        SELECT %(base)s + i, 'BST-' || i, %(base)s + i, %(creditor)s,
               CASE WHEN i %% 5 = 0 THEN 'Personal loan' ELSE 'Credit card' END, 'USD',
               %(number)s, %(number_digest)s, 'open',
               date '2024-05-01' + (i %% 900), timestamptz '2024-06-01 12:00+00' + (i %% 900)
               * interval '1 day'
        FROM generate_series(1, %(n)s) AS i""",
                {"base": BASE, "n": accounts, "creditor": creditor,
                 "number": c.encrypt("BENCH-ORIGINAL-1", "account.original_account_number"),
                 "number_digest": lookup_digest("BENCH-ORIGINAL-1",
                                                "account.original_account_number")})
    cur.execute("""
        INSERT INTO ledger_entry (account_id, kind, amount_minor, currency, posted_at,
                                  effective_date, description)
        SELECT id, 'itemization', 500000, 'USD', placed_at, itemization_date,
               'Balance on the itemization date'
        FROM account WHERE creditor_id = %s""", (creditor,))
    print(f"  {accounts:,} borrowers, accounts and itemization entries in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    # The payments: account (i * 9 / 10) mod accounts, so one in ten accounts paying pays twice.
    cur.execute("""
        INSERT INTO payment (public_id, borrower_id, account_id, amount_minor, currency, choice,
                             status, payment_intent_id, charge_id, card_brand, card_last4,
                             refunded_minor, charged_back_minor, chargeback_id, succeeded_at,
                             created_at, updated_at)
        SELECT gen_random_uuid(), %(base)s + a, %(base)s + a, 1000 + i %% 10000, 'USD',
               'other', 'succeeded', 'pi_s' || i, 'ch_s' || i, 'visa', '4242',
               CASE WHEN i %% 100 = 0 THEN 500 ELSE 0 END,
               CASE WHEN i %% 100 = 50 THEN 1000 + i %% 10000 ELSE 0 END,
               CASE WHEN i %% 100 = 50 THEN 'dp_s' || i END,
               at, at, at
        FROM generate_series(1, %(n)s) AS i,
             LATERAL (SELECT 1 + (i::bigint * 9 / 10) %% %(accounts)s AS a,
                             to_timestamp(%(start)s + i::bigint * %(spread)s / %(n)s) AS at) x
        """, {"base": BASE, "n": payments, "accounts": accounts, "start": _month.NOV_1,
              "spread": _month.SECONDS})
    # Each payment's ledger entry as ledger.post_payment writes it (the whole of it on the
    # principal: nothing else is outstanding), and the refunds' and chargebacks' reversals as
    # ledger.post_reversal words them.
    receipt = ("'R-' || upper(substr(replace(p.public_id::text, '-', ''), 1, 8)) || '-' || "
               "upper(substr(replace(p.public_id::text, '-', ''), 9, 8))")
    cur.execute(f"""
        INSERT INTO ledger_entry (account_id, kind, amount_minor, currency, posted_at,
                                  effective_date, description, payment_id, allocation)
        SELECT p.account_id, 'payment', -p.amount_minor, 'USD', p.succeeded_at,
               (p.succeeded_at AT TIME ZONE 'UTC')::date, 'Card payment ' || {receipt}, p.id,
               jsonb_build_object('fees', 0, 'interest', 0, 'principal', p.amount_minor)
        FROM payment p WHERE p.charge_id LIKE 'ch_s%'""")
    for amount, label, later in (("p.refunded_minor", "Refund", "1 hour"),
                                 ("p.charged_back_minor", "Chargeback", "12 hours")):
        cur.execute(f"""
            INSERT INTO ledger_entry (account_id, kind, amount_minor, currency, posted_at,
                                      effective_date, description, payment_id, reverses_id,
                                      allocation)
            SELECT p.account_id, 'reversal', {amount}, 'USD', p.succeeded_at + interval '{later}',
                   ((p.succeeded_at + interval '{later}') AT TIME ZONE 'UTC')::date,
                   '{label} of card payment ' || {receipt}, p.id, e.id,
                   jsonb_build_object('fees', 0, 'interest', 0, 'principal', {amount})
            FROM payment p JOIN ledger_entry e ON e.payment_id = p.id AND e.kind = 'payment'
            WHERE p.charge_id LIKE 'ch_s%' AND {amount} > 0""")
    cur.execute("""
        UPDATE account a SET chargeback_at = p.succeeded_at + interval '12 hours'
        FROM payment p WHERE p.account_id = a.id AND p.chargeback_id LIKE 'dp_s%'""")
    for table in ("borrower", "account"):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))")
    conn.commit()
    print(f"  {payments:,} payments and their ledger entries in "
          f"{time.perf_counter() - started:.1f} s", flush=True)


def terms() -> None:
    """Net at 25% from 2025; combined from July 2026: 20%, 25% on credit cards placed 180
    days, 30% on any account placed a year."""
    from portal.extensions import db
    from portal.lenders import terms as lender_terms
    from portal.lenders.commission import Rate

    lender_terms.write_terms(CREDITOR, date(2025, 1, 1), "net", [Rate(None, 0, 2500)])
    lender_terms.write_terms(CREDITOR, date(2026, 7, 1), "combined", [
        Rate(None, 0, 2000), Rate("Credit card", 180, 2500), Rate(None, 365, 3000)])
    db.session.commit()


def settled(found) -> None:
    """Stripe's balance transactions kept, each linked to its payment, as the hourly
    reconciliation runs during the month would have kept them."""
    from sqlalchemy import text

    from portal.extensions import db
    from portal.payments import settlement
    from portal.reconcile.matching import source_of

    payment_of = dict(db.session.execute(text(
        "SELECT charge_id, id FROM payment WHERE charge_id LIKE 'ch_s%'")).all())

    def linked(txn: dict) -> int | None:
        source = source_of(txn)
        reversal = found.refunds.get(source) or found.disputes.get(source)
        return payment_of.get(reversal["charge"] if reversal else source)

    settlement.record_many([(t, linked(t)) for t in found.balance_transactions]
                           + [({**t, "payout": payout["id"]}, linked(t))
                              for payout, txns in found.payouts for t in txns])
    db.session.commit()


def floor(url: str) -> tuple[float, int, int]:
    """COPY the month's payment rows and ledger rows out, read to the end: (s, rows, bytes)."""
    import psycopg

    started = time.perf_counter()
    rows = read = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for query in (f"SELECT * FROM payment WHERE succeeded_at >= {MONTH[0]} "
                      f"AND succeeded_at < {MONTH[1]}",
                      f"SELECT * FROM ledger_entry WHERE posted_at >= {MONTH[0]} "
                      f"AND posted_at < {MONTH[1]}"):
            with cur.copy(f"COPY ({query}) TO STDOUT") as copy:
                for block in copy:
                    read += len(block)
                    rows += bytes(block).count(b"\n")
    return time.perf_counter() - started, rows, read


#: What a reconciliation and a close keep, by the row that owns them.
KEPT = (("reconciliation_item", "run_id"), ("remittance_item", "statement_id"),
        ("remittance_line", "statement_id"))


def storing(url: str, run_id: int, statement_id: int) -> tuple[float, int]:
    """The least that keeping these rows can take: the rows the two wrote, COPYed into new
    logged tables like theirs (their columns and indexes; no foreign key checked), in one
    transaction, rolled back: (s, rows). Any way of drawing them up also writes them."""
    import psycopg

    owners = {"run_id": run_id, "statement_id": statement_id}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        kept = []
        for table, owner in KEPT:
            with cur.copy(f"COPY (SELECT * FROM {table} WHERE {owner} = {owners[owner]}) "
                          "TO STDOUT (FORMAT binary)") as copy:
                kept.append((table, b"".join(bytes(block) for block in copy)))
            cur.execute(f"CREATE TABLE kept_{table} (LIKE {table} INCLUDING ALL)")
        rows = 0
        started = time.perf_counter()
        for table, data in kept:
            with cur.copy(f"COPY kept_{table} FROM STDIN (FORMAT binary)") as copy:
                copy.write(data)
            rows += cur.rowcount  # the rows COPY wrote, as the server counts them
        took = time.perf_counter() - started
        conn.rollback()
    return took, rows


def expected(creditor_id: int) -> tuple[int, int, int, int]:
    """What the statement must hold, from the seeded rows: (payments, collected, refunded,
    charged back) of the payments whose charge was available by the period's end."""
    from sqlalchemy import text

    from portal.extensions import db

    row = db.session.execute(text(f"""
        SELECT count(*), sum(p.amount_minor), sum(p.refunded_minor), sum(p.charged_back_minor)
        FROM payment p JOIN account a ON a.id = p.account_id
        JOIN balance_transaction b ON b.payment_id = p.id AND b.reporting_category = 'charge'
        WHERE a.creditor_id = :creditor AND p.status = 'succeeded'
          AND p.succeeded_at < {MONTH[1]} AND b.available_on <= {MONTH[1]}"""),
                             {"creditor": creditor_id}).one()
    db.session.rollback()
    return tuple(int(v or 0) for v in row)


def profiled(prefix: str | None, name: str, fn, *args):
    """fn(*args), under cProfile into `<prefix>.<name>` when a prefix is given."""
    if not prefix:
        return fn(*args)
    import cProfile

    profiler = cProfile.Profile()
    try:
        return profiler.runcall(fn, *args)
    finally:
        profiler.dump_stats(f"{prefix}.{name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--payments", type=int, default=200_000)
    parser.add_argument("--profile", metavar="PREFIX",
                        help="cProfile the reconciliation and the close into PREFIX.reconcile "
                             "and PREFIX.close (pstats)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database (named in the output), not dropped")
    args = parser.parse_args()

    import psycopg
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from bench import _database, _month
    from portal import create_app
    from portal.config import sqlalchemy_url
    from portal.demo.cli import seed as seed_demo
    from portal.extensions import db
    from portal.lenders import statements
    from portal.lenders.models import RemittanceItem, RemittanceLine
    from portal.reconcile import service
    from portal.reconcile.models import ReconciliationItem
    from portal.reconcile.period import Period

    admin, name, url = _database.create("portal_bench_statements")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url),
                          "RATELIMIT_ENABLED": False})
        with app.app_context():
            began = time.perf_counter()
            print(f"seeding {args.accounts:,} accounts and {args.payments:,} payments in {name}; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
            upgrade(directory=str(ROOT / "migrations"))
            seed_demo()
            db.session.commit()
            with psycopg.connect(url, options="-c timezone=UTC") as conn:
                seed(conn, args.accounts, args.payments)
            terms()
            found = _month.stripe_month(args.payments, TAG, refunded, charged_back)
            settled(found)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            print(f"  seeded in {time.perf_counter() - began:.0f} s: "
                  f"{_month.transactions(found):,} balance transactions, {_month.PAYOUTS} "
                  f"payouts", flush=True)

            floor_s, floor_rows, floor_bytes = floor(url)
            print(f"floor: COPY the month's payment and ledger rows out ({floor_rows:,} rows, "
                  f"{floor_bytes / 1e6:.0f} MB): {floor_s:.2f} s", flush=True)

            agency, creditor_id = db.session.execute(text(
                "SELECT agency_id, id FROM creditor WHERE code = :code"),
                {"code": CREDITOR}).one()
            db.session.rollback()
            now = datetime.now(UTC)
            started = time.perf_counter()
            run = profiled(args.profile, "reconcile", service.store, agency, Period(2026, 11),
                           found, now)
            reconcile_s = time.perf_counter() - started
            open_items = db.session.scalar(select(func.count()).where(
                ReconciliationItem.run_id == run.run_id,
                ReconciliationItem.outcome != "matched"))
            db.session.rollback()
            assert open_items == 0, (run, open_items)
            print(f"reconciliation: {run.items:,} items, all matched, in {reconcile_s:.2f} s "
                  f"({reconcile_s / floor_s:.1f}x the floor)", flush=True)

            started = time.perf_counter()
            row = profiled(args.profile, "close", statements.close_statement, CREDITOR, PERIOD,
                           "bench", now)
            close_s = time.perf_counter() - started
            totals = statements.totals_of(row)
            lines = db.session.scalar(select(func.count()).where(
                RemittanceLine.statement_id == row.id))
            items = db.session.scalar(select(func.count()).where(
                RemittanceItem.statement_id == row.id))
            db.session.rollback()
            want = expected(creditor_id)
            got = (items, totals[0].collected, totals[0].refunded, totals[0].charged_back)
            assert len(totals) == 1 and got == want, (got, want)
            print(f"statement {PERIOD}: {items:,} payments on {lines:,} lines, collected "
                  f"{totals[0].collected / 100:,.2f}, refunded {totals[0].refunded / 100:,.2f}, "
                  f"charged back {totals[0].charged_back / 100:,.2f}, commission "
                  f"{totals[0].commission / 100:,.2f}, due {totals[0].due / 100:,.2f} USD "
                  f"(as the seeded rows say); closed in {close_s:.2f} s "
                  f"({close_s / floor_s:.1f}x the floor)", flush=True)
            total_s = reconcile_s + close_s
            print(f"total: {total_s:.2f} s = {total_s / floor_s:.1f}x the floor "
                  f"(target 3x); load average {os.getloadavg()[0]:.1f}")
            store_s, stored = storing(url, run.run_id, row.id)
            print(f"storing alone: the {stored:,} rows the two keep, COPYed into tables like "
                  f"theirs (indexes, no keys): {store_s:.2f} s = {store_s / floor_s:.1f}x the "
                  "floor, the least any way of keeping them takes", flush=True)
            print(f"BENCH name=statements figure={total_s:.2f} floor={floor_s:.2f} "
                  f"ratio={total_s / floor_s:.1f} unit=s target=3 better=lower "
                  f"reconcile={reconcile_s:.2f} close={close_s:.2f} storing={store_s:.2f} "
                  f"accounts={args.accounts} payments={args.payments}")
            db.engine.dispose()
    finally:
        if args.keep:
            print(f"kept the database {name}")
        else:
            _database.drop(admin, name)


if __name__ == "__main__":
    main()
