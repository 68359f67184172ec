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
import base64
import io
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PORTAL_DEMO", "1")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "1:" + base64.b64encode(b"b" * 32).decode())
os.environ.setdefault("LOOKUP_HASH_KEY", "bench")

NOV_1 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
SECONDS = 29 * 86400
PAYOUTS = 20


def seed_payments(count: int) -> None:
    """`count` succeeded November payments of 10.00-109.99 on NWB-1001, every 50th refunded 5.00."""
    from sqlalchemy import text

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
    """), {"n": count, "start": NOV_1, "spread": SECONDS})
    db.session.commit()


def stripe_month(count: int):
    """Stripe's November as its lists would return it (plain dicts, as `to_dict()` gives)."""
    from portal.reconcile.matching import Stripe

    found = Stripe()
    payouts: dict[int, list[dict]] = {p: [] for p in range(PAYOUTS)}
    for i in range(1, count + 1):
        created = NOV_1 + i * SECONDS // count
        amount = 1000 + i % 10000
        fee = 30 + amount * 29 // 1000
        txn = {"id": f"txn_b{i}", "object": "balance_transaction", "amount": amount,
               "fee": fee, "net": amount - fee, "currency": "usd", "created": created,
               "available_on": created + 2 * 86400, "status": "available", "type": "charge",
               "reporting_category": "charge", "source": f"ch_b{i}"}
        found.balance_transactions.append(txn)
        found.charges[f"ch_b{i}"] = {"id": f"ch_b{i}", "object": "charge", "amount": amount,
                                     "payment_intent": f"pi_b{i}", "created": created,
                                     "currency": "usd", "status": "succeeded"}
        payouts[i % PAYOUTS].append(txn)
        if i % 50 == 0:
            refund = {"id": f"txn_r{i}", "object": "balance_transaction", "amount": -500,
                      "fee": 0, "net": -500, "currency": "usd", "created": created + 3600,
                      "available_on": created + 3600, "status": "available",
                      "type": "refund", "reporting_category": "refund", "source": f"re_b{i}"}
            found.balance_transactions.append(refund)
            found.refunds[f"re_b{i}"] = {"id": f"re_b{i}", "object": "refund", "amount": 500,
                                         "charge": f"ch_b{i}", "created": created + 3600}
            payouts[i % PAYOUTS].append(refund)
    for p, txns in payouts.items():
        amount = sum(t["net"] for t in txns)
        payout = {"id": f"po_b{p}", "object": "payout", "amount": amount, "currency": "usd",
                  "created": NOV_1 + SECONDS, "arrival_date": NOV_1 + SECONDS + 86400,
                  "automatic": True, "status": "paid", "balance_transaction": f"txn_po{p}"}
        own = {"id": f"txn_po{p}", "amount": -amount, "fee": 0, "net": -amount,
               "currency": "usd", "created": NOV_1 + SECONDS, "available_on": NOV_1 + SECONDS,
               "status": "available", "type": "payout", "reporting_category": "payout",
               "source": f"po_b{p}"}
        found.payouts.append((payout, [*txns, own]))
    return found


def floor(url: str, count: int) -> float:
    """COPY the month's payment rows out, and as many balance transaction rows in."""
    import psycopg

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
            rows.write(f"txn_f{i}\tcharge\tcharge\tch_b{i}\t{i}\t{1000 + i % 10000}\t59\t"
                       f"{941 + i % 10000}\tUSD\tavailable\t2026-11-05 00:00:00+00\t"
                       f"2026-11-07 00:00:00+00\tpo_b{i % PAYOUTS}\t2026-12-03 00:00:00+00\n")
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

    from bench import _database
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
            found = stripe_month(args.payments)
            txns = len(found.balance_transactions) + PAYOUTS
            print(f"month: {args.payments:,} payments, {txns:,} balance transactions, "
                  f"{PAYOUTS} payouts", flush=True)
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
            db.engine.dispose()
    finally:
        _database.drop(admin, name)


if __name__ == "__main__":
    main()
