"""A month's reconciliation with Stripe at scale, against the floor of a plain PostgreSQL COPY of
the same rows in the same run.

    .venv/bin/python bench/reconcile.py                      # embedded PostgreSQL, 200,000
    .venv/bin/python bench/reconcile.py --payments 20000     # smaller
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/reconcile.py

It creates a database of its own (portal_bench_<pid>), migrates it, loads the demo data and
seeds `--payments` succeeded card payments in November 2026 (set-based SQL, on one demo
account), 2% of them partly refunded. Stripe's month is built in memory exactly as its lists
return it (a balance transaction with a fee for every charge and refund, the charges, the
refunds, 20 automatic payouts with their `payout=` transactions): the pages pre-loaded, so what
is timed is ours, not HTTP. It measures:

* the floor: `COPY (SELECT …) TO STDOUT` of the month's payment rows, read to the end, plus
  `COPY … FROM STDIN` of the same number of balance transaction rows into an unlogged scratch
  table (what the run must at least read and write);
* the run: `service.store` (link every transaction, keep it, match, keep the items), first run
  and a second one over the same pages (which writes nothing).

The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._env import ROOT  # noqa: E402 - sets demo mode and throwaway keys first


def seed_payments(count: int) -> None:
    """`count` succeeded November payments of 10.00-109.99 on NWB-1001, every 50th refunded 5.00."""
    from sqlalchemy import text

    from bench import _month
    from portal.extensions import db

    db.session.execute(text("""
        INSERT INTO payment (public_id, borrower_id, account_id, amount_minor, currency, choice,
                             status, payment_intent_id, charge_id, refunded_minor,
                             charged_back_minor, succeeded_at, created_at, updated_at)
        SELECT gen_random_uuid(), a.borrower_id, a.id, 1000 + (i % 10000), 'USD', 'other',
               'succeeded', 'pi_b' || i, 'ch_b' || i,
               CASE WHEN i % 50 = 0 THEN 500 ELSE 0 END, 0,
               to_timestamp(:start + (i::bigint * :spread / :n)), now(), now()
        FROM generate_series(1, :n) AS i, account a WHERE a.reference = 'NWB-1001'
    """), {"n": count, "start": _month.NOV_1, "spread": _month.SECONDS})
    db.session.commit()


def floor(url: str, count: int) -> float:
    """COPY the month's payment rows out, and as many balance transaction rows in."""
    import psycopg

    from bench import _month

    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        read = 0
        with cur.copy("COPY (SELECT id, charge_id, payment_intent_id, amount_minor, currency, "
                      "status, refunded_minor, charged_back_minor, succeeded_at, account_id "
                      "FROM payment WHERE succeeded_at >= '2026-11-01' AND succeeded_at < "
                      "'2026-12-01') TO STDOUT") as copy:
            for block in copy:
                read += len(block)
        cur.execute("CREATE UNLOGGED TABLE scratch (LIKE balance_transaction)")
        rows = io.StringIO()
        for i in range(1, count + 1):
            payout = f"po_b{i % _month.PAYOUTS}"
            rows.write(f"txn_f{i}\tcharge\tcharge\tch_b{i}\t{i}\t{1000 + i % 10000}\t59\t"
                       f"{941 + i % 10000}\tUSD\tavailable\t2026-11-05 00:00:00+00\t"
                       f"2026-11-07 00:00:00+00\t{payout}\t2026-12-03 00:00:00+00\n")
        with cur.copy("COPY scratch FROM STDIN") as copy:
            copy.write(rows.getvalue())
        conn.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=200_000)
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from bench import _database, _month
    from portal import create_app
    from portal.config import sqlalchemy_url
    from portal.demo.cli import seed as seed_demo
    from portal.extensions import db
    from portal.reconcile import service
    from portal.reconcile.models import ReconciliationItem
    from portal.reconcile.period import Period

    admin, name, url = _database.create("portal_bench")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url),
                          "RATELIMIT_ENABLED": False})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed_demo()
            seed_payments(args.payments)
            found = _month.stripe_month(args.payments, "b",
                                        refunded=lambda i: 500 if i % 50 == 0 else 0)
            txns = _month.transactions(found)
            print(f"month: {args.payments:,} payments, {txns:,} balance transactions, "
                  f"{_month.PAYOUTS} payouts", flush=True)
            floor_s = floor(url, txns)
            print(f"floor: COPY {args.payments:,} payment rows out and {txns:,} balance "
                  f"transaction rows in: {floor_s:.2f} s", flush=True)
            agency = db.session.execute(text(
                "SELECT agency_id FROM creditor WHERE code = 'NWB'")).scalar()
            db.session.rollback()
            november = Period(2026, 11)
            started = time.perf_counter()
            first = service.store(agency, november, found, datetime.now(UTC))
            run_s = time.perf_counter() - started
            started = time.perf_counter()
            second = service.store(agency, november, found, datetime.now(UTC))
            again_s = time.perf_counter() - started
            open_items = db.session.scalar(select(db.func.count()).where(
                ReconciliationItem.run_id == first.run_id,
                ReconciliationItem.outcome != "matched"))
            db.session.rollback()
            assert (first.added, open_items) == (first.items, 0), (first, open_items)
            assert (second.added, second.changed, second.removed) == (0, 0, 0), second
            print(f"run: {first.items:,} lines, all matched, in {run_s:.2f} s; "
                  f"again (nothing to write): {again_s:.2f} s")
            print(f"ratio run / floor: {run_s / floor_s:.1f}x; second run / floor: "
                  f"{again_s / floor_s:.1f}x (target 3x)")
            print(f"BENCH name=reconcile figure={run_s:.2f} floor={floor_s:.2f} "
                  f"ratio={run_s / floor_s:.1f} unit=s target=3 better=lower "
                  f"payments={args.payments} second_run_ratio={again_s / floor_s:.1f}")
            db.engine.dispose()
    finally:
        _database.drop(admin, name)


if __name__ == "__main__":
    main()
