"""Stripe webhooks under load: signed `payment_intent.succeeded` events posted to the app running
under gunicorn (2 sync workers) from a second process, against the floor of the same server
answering a trivial signed POST; and a job worker applying what the endpoint keeps, as in
production, with the time until every event is applied reported too.

    .venv/bin/python bench/webhooks.py                    # embedded PostgreSQL, 3,000 events
    .venv/bin/python bench/webhooks.py --payments 5000 --accounts 1000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/webhooks.py

It creates a database of its own (portal_bench_webhooks_<pid>), migrates it, loads the demo data,
places `--accounts` extra accounts (USD 5,000 each) and seeds `--payments` pending card payments
on them (USD 10-50 each, so every balance stays positive), each with a synthetic PaymentIntent id.
Then gunicorn serves `bench.webhooks:bench_app()`: the production app plus one route, POST
/bench/signed-floor, that verifies the Stripe-Signature exactly as the real endpoint does
(`gateway().verify_event`) and answers 200 without touching the database. That route exists only
in this module's app factory, never in the production app.

A second process signs every event before the clock starts (the stripe library's own scheme) and
posts them over `--connections` keep-alive connections, in `--rounds` rounds of floor then real
endpoint, the same events and the same count to each. Every real event is a distinct payment's
succeeded PaymentIntent. The endpoint checks the payment is ours, keeps the event and defers a job
in the same transaction, and answers; `--apply-workers` processes of `flask --app portal worker
--queue stripe-events` (running throughout, as in production) do the whole job for each: the
payment row locked, the ledger entry with its allocation, the case events, the outbox message and
the receipt email (captured: demo mode). The worker runs during the real rounds, competing for
the same two cores; each floor round starts only once it has applied everything before, so the
floor is measured on a quiet machine. Reported: the endpoint's rate against the floor's (the
target), and the applied rate: events over the time from the first one kept to the last one
applied. Afterwards every payment must be succeeded with exactly one ledger entry and every event
applied, or the run fails. Everything listens on 127.0.0.1; the database is dropped at the end.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PORTAL_DEMO", "1")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "1:" + base64.b64encode(b"b" * 32).decode())
os.environ.setdefault("LOOKUP_HASH_KEY", "bench")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_bench_webhooks")

FLOOR_PATH = "/bench/signed-floor"
REAL_PATH = "/payments/stripe/webhook"
TARGET = 0.30
#: Untimed events (each on its own account) that warm the workers up before any timing.
WARMUP = 40


# --- the app gunicorn serves ---------------------------------------------------------------------


def bench_app():
    """The production app plus the floor route; for gunicorn: 'bench.webhooks:bench_app()'."""
    from flask import jsonify, request

    from portal import create_app
    from portal.extensions import csrf
    from portal.payments.gateway import InvalidWebhook, gateway
    from portal.web.access import public

    app = create_app()

    @public
    @csrf.exempt
    def signed_floor():
        """What the real endpoint does before it touches the database, and nothing more."""
        payload = request.get_data(cache=False)
        try:
            event = gateway().verify_event(payload, request.headers.get("Stripe-Signature"))
        except InvalidWebhook:
            return jsonify(error="invalid signature"), 400
        if not isinstance(event.get("id"), str) or not isinstance(event.get("data"), dict):
            return jsonify(error="not an event"), 400
        return jsonify(received="floor"), 200

    app.add_url_rule(FLOOR_PATH, "bench_signed_floor", signed_floor, methods=["POST"])
    if os.environ.get("BENCH_PROFILE_DIR"):
        _profile_webhook(app, Path(os.environ["BENCH_PROFILE_DIR"]))
    return app


def _profile_webhook(app, directory: Path) -> None:
    """cProfile the real endpoint in this worker; stats written every 100 requests."""
    import cProfile

    profile = cProfile.Profile()
    view = app.view_functions["payments.stripe_webhook"]
    seen = [0]

    def profiled(*args, **kwargs):
        profile.enable()
        try:
            return view(*args, **kwargs)
        finally:
            profile.disable()
            seen[0] += 1
            if seen[0] % 100 == 0:
                profile.dump_stats(directory / f"worker-{os.getpid()}.prof")

    for attribute in ("access", "__module__", "__name__"):
        setattr(profiled, attribute, getattr(view, attribute))
    app.view_functions["payments.stripe_webhook"] = profiled


# --- seeding ------------------------------------------------------------------------------------


def seed_payments(accounts: int, payments: int, rng: random.Random) -> list[dict]:
    """Place the accounts and seed the pending payments; returns each payment's PaymentIntent."""
    from sqlalchemy import insert

    from bench import _database
    from portal.extensions import db
    from portal.payments.models import Payment

    placed = _database.place_accounts(accounts, "BENCH")
    rows = []
    for n in range(payments):
        account_id, borrower_id = placed[n % accounts]  # round robin: neighbours differ
        rows.append({"public_id": uuid.uuid4(), "borrower_id": borrower_id,
                     "account_id": account_id, "amount_minor": rng.randrange(1000, 5001),
                     "currency": "USD", "choice": "other", "status": "pending",
                     "payment_intent_id": f"pi_bench_{uuid.uuid4().hex[:20]}"})
    db.session.execute(insert(Payment), rows)
    db.session.commit()
    return [{"id": r["payment_intent_id"], "object": "payment_intent",
             "amount": r["amount_minor"], "currency": "usd", "status": "succeeded",
             "client_secret": f"{r['payment_intent_id']}_secret_bench",
             "latest_charge": f"ch_bench_{uuid.uuid4().hex[:20]}",
             "last_payment_error": None,
             "metadata": {"payment_id": str(r["public_id"])}} for r in rows]


def envelope(intent: dict) -> dict:
    return {"id": f"evt_{uuid.uuid4().hex[:24]}", "object": "event",
            "type": "payment_intent.succeeded", "created": int(time.time()), "livemode": False,
            "data": {"object": intent}, "api_version": "2024-06-20"}


# --- the load: a second process -----------------------------------------------------------------


def sign(events: list[dict], secret: str) -> list[tuple[bytes, str]]:
    """Bodies and Stripe-Signature headers, exactly as Stripe computes them."""
    import stripe

    stamp = int(time.time())
    signed = []
    for evt in events:
        payload = json.dumps(evt)
        mac = stripe.WebhookSignature._compute_signature(f"{stamp}.{payload}", secret)
        signed.append((payload.encode(), f"t={stamp},v1={mac}"))
    return signed


def post_all(port: int, path: str, signed: list[tuple[bytes, str]], connections: int,
             deadline: float) -> dict:
    """Every body once, over `connections` keep-alive connections (reopened when the server
    closes one, as gunicorn's sync workers do); wall time, latencies and statuses."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    statuses: list[dict[int, int]] = [{} for _ in range(connections)]
    answers: list[list[str]] = [[] for _ in range(connections)]
    errors: list[str] = []
    start_gate = threading.Barrier(connections + 1)

    def run(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start_gate.wait()
        for body, signature in signed[k::connections]:
            if time.monotonic() > deadline:
                statuses[k][-2] = statuses[k].get(-2, 0) + 1  # not sent: out of time
                continue
            began = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={
                    "Stripe-Signature": signature, "Content-Type": "application/json"})
                response = conn.getresponse()
                answer = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status, answer = -1, repr(exc).encode()
            latencies[k].append(time.perf_counter() - began)
            statuses[k][status] = statuses[k].get(status, 0) + 1
            if status == 200:
                answers[k].append(json.loads(answer).get("received", "?"))
            if status != 200 and len(errors) < 5:
                errors.append(f"{status}: {answer[:200]!r}")
        conn.close()

    threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(connections)]
    for thread in threads:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    merged: dict[int, int] = {}
    for part in statuses:
        for status, count in part.items():
            merged[status] = merged.get(status, 0) + count
    return {"wall": wall, "latencies": [x for part in latencies for x in part],
            "statuses": merged, "errors": errors, "answers": [a for part in answers for a in part]}


def load_process(pipe, port: int, secret: str, connections: int) -> None:
    """The second process: sign a batch, then post it; until told to stop."""
    while True:
        message = pipe.recv()
        if message is None:
            return
        path, events, deadline_in = message
        signed = sign(events, secret)  # before the clock starts
        pipe.send(post_all(port, path, signed, connections, time.monotonic() + deadline_in))


# --- the run ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz in time")


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def verify(intents: list[dict]) -> list[str]:
    """Every payment succeeded, once: one ledger entry, one event, one receipt each."""
    from sqlalchemy import func, select

    from portal.accounts.models import Account, LedgerEntry
    from portal.cases.models import CaseEvent
    from portal.extensions import db
    from portal.messaging.models import CapturedMessage
    from portal.outbox.models import OutboxMessage
    from portal.payments.models import Payment, StripeEvent

    n = len(intents)
    ids = select(Payment.id).where(Payment.payment_intent_id.like("pi_bench_%"))
    problems = []

    def expect(what: str, got: int, want: int) -> None:
        if got != want:
            problems.append(f"{what}: {got}, expected {want}")

    s = db.session
    expect("payments seeded", s.scalar(select(func.count()).select_from(ids.subquery())), n)
    expect("payments succeeded", s.scalar(select(func.count()).where(
        Payment.id.in_(ids), Payment.status == "succeeded")), n)
    expect("ledger entries for them", s.scalar(select(func.count()).where(
        LedgerEntry.payment_id.in_(ids))), n)
    expect("payments with a ledger entry", s.scalar(select(
        func.count(func.distinct(LedgerEntry.payment_id))).where(
        LedgerEntry.payment_id.in_(ids))), n)
    expect("ledger total", -int(s.scalar(select(func.coalesce(func.sum(
        LedgerEntry.amount_minor), 0)).where(LedgerEntry.payment_id.in_(ids)))),
        sum(i["amount"] for i in intents))
    expect("stripe events applied", s.scalar(select(func.count()).where(
        StripeEvent.payment_id.in_(ids), StripeEvent.status == "applied")), n)
    expect("stripe events not applied", s.scalar(select(func.count()).where(
        StripeEvent.status != "applied")), 0)
    expect("case events payment.succeeded", s.scalar(select(func.count()).where(
        CaseEvent.kind == "payment.succeeded")), n)
    expect("outbox payment.succeeded", s.scalar(select(func.count()).where(
        OutboxMessage.topic == "payment.succeeded")), n)
    expect("receipt emails", s.scalar(select(func.count()).where(
        CapturedMessage.kind == "payment_receipt")), n)
    paid = s.scalar(select(func.count()).where(Account.reference.like("BW-%"),
                                               Account.status != "open"))
    expect("bench accounts no longer open", paid, 0)
    s.rollback()
    return problems


def applied_facts(event_ids: list[str], timeout: float) -> dict:
    """Wait until the worker has applied these events; then the span from the first kept to the
    last applied, and each one's wait (kept to applied)."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.payments.models import StripeEvent

    chosen = StripeEvent.id.in_(event_ids)
    until = time.monotonic() + timeout
    while True:
        left = db.session.scalar(select(func.count()).where(
            chosen, StripeEvent.status != "applied"))
        db.session.rollback()
        if not left:
            break
        if time.monotonic() > until:
            raise RuntimeError(f"{left} events not applied after {timeout:.0f} s")
        time.sleep(0.1)
    rows = db.session.execute(select(StripeEvent.received_at, StripeEvent.applied_at)
                              .where(chosen)).all()
    db.session.rollback()
    span = (max(a for _, a in rows) - min(r for r, _ in rows)).total_seconds()
    return {"span": span, "waits": [(a - r).total_seconds() for r, a in rows]}


def start_workers(count: int, env: dict, log) -> list[subprocess.Popen]:
    """`flask --app portal worker --queue stripe-events`, `count` processes."""
    return [subprocess.Popen([str(ROOT / ".venv" / "bin" / "flask"), "--app", "portal", "worker",
                              "--queue", "stripe-events"], cwd=ROOT, env=env, stdout=log,
                             stderr=log) for _ in range(count)]


def report(name: str, result: dict) -> tuple[float, float, float]:
    rate = len(result["latencies"]) / result["wall"]
    p50 = percentile(result["latencies"], 50) * 1000
    p99 = percentile(result["latencies"], 99) * 1000
    print(f"  {name:24} {len(result['latencies']):6d} {result['wall']:8.2f} s {rate:9.1f}/s"
          f" {p50:9.2f} {p99:9.2f}")
    return rate, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=3000, help="events timed (one each)")
    parser.add_argument("--accounts", type=int, default=500, help="accounts they are spread on")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections")
    parser.add_argument("--rounds", type=int, default=5, help="floor/real rounds, interleaved")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--apply-workers", type=int, default=1,
                        help="job worker processes applying the kept events")
    parser.add_argument("--max-seconds", type=float, default=240,
                        help="per batch, under Stripe's 300 s signature tolerance: requests "
                             "not sent by then fail the run")
    parser.add_argument("--profile", metavar="DIR",
                        help="cProfile the real endpoint in each worker, stats into DIR")
    args = parser.parse_args()
    if not 0 < args.payments <= 50_000 or not 0 < args.accounts <= args.payments:
        parser.error("need 0 < accounts <= payments <= 50,000")
    if not 0 < args.rounds <= args.payments // 10 or not 0 < args.connections <= 64:
        parser.error("need 0 < rounds <= payments / 10 and 0 < connections <= 64")
    if -(-(args.payments + WARMUP) // args.accounts) * 5000 >= 500_000:
        parser.error("too many payments per account: balances would reach zero")

    from flask_migrate import upgrade

    from bench import _database
    from portal import create_app
    from portal.config import sqlalchemy_url
    from portal.demo.cli import seed

    admin, name, url = _database.create("portal_bench_webhooks")
    gunicorn = loader = None
    workers: list[subprocess.Popen] = []
    finished = False
    log = tempfile.NamedTemporaryFile(prefix="bench-webhooks-", suffix=".log", delete=False)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url)})
        rng = random.Random(20260310)
        warm_accounts = min(WARMUP, args.accounts)
        began = time.perf_counter()
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed()
            intents = seed_payments(args.accounts, args.payments + warm_accounts, rng)
        print(f"seeded {args.accounts:,} accounts and {len(intents):,} pending payments in "
              f"{time.perf_counter() - began:.1f} s")
        warm, timed = intents[:warm_accounts], intents[warm_accounts:]

        port = free_port()
        env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(ROOT), PORTAL_ENV="development")
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            env["BENCH_PROFILE_DIR"] = str(Path(args.profile).resolve())
        gunicorn = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "--workers", str(args.workers),
             "--bind", f"127.0.0.1:{port}", "--timeout", "60", "bench.webhooks:bench_app()"],
            cwd=ROOT, env=env, stdout=log, stderr=log)
        wait_for(port, gunicorn)
        workers = start_workers(args.apply_workers, env, log)

        secret = os.environ["STRIPE_WEBHOOK_SECRET"]
        ours, theirs = multiprocessing.get_context("spawn").Pipe()
        loader = multiprocessing.get_context("spawn").Process(
            target=load_process, args=(theirs, port, secret, args.connections), daemon=True)
        loader.start()

        def batch(path: str, events: list[dict]) -> dict:
            ours.send((path, events, args.max_seconds))
            if not ours.poll(args.max_seconds + 120):
                raise RuntimeError("the load process did not answer in time")
            return ours.recv()

        def check_workers() -> None:
            for process in workers:
                if process.poll() is not None:
                    raise RuntimeError(f"a job worker exited with {process.returncode}")

        # Warm-up, untimed: every worker's connection pool, the code paths, the caches.
        for path in (FLOOR_PATH, REAL_PATH):
            events = [envelope(i) for i in warm]
            result = batch(path, events)
            if result["statuses"] != {200: len(warm)}:
                raise RuntimeError(f"warm-up of {path}: {result['statuses']} {result['errors']}")
        with app.app_context():
            applied_facts([e["id"] for e in events], args.max_seconds)
        check_workers()

        results = {"floor": [], "real": [], "applied": []}
        chunks = [timed[r::args.rounds] for r in range(args.rounds)]
        for chunk in chunks:
            events = [envelope(i) for i in chunk]
            for kind, path in (("floor", FLOOR_PATH), ("real", REAL_PATH)):
                result = batch(path, events)
                if result["statuses"] != {200: len(events)}:
                    raise RuntimeError(f"{kind}: {result['statuses']} {result['errors']}")
                if kind == "real":
                    answers = set(result["answers"])
                    if answers != {"queued"}:
                        raise RuntimeError(f"real: answered {answers}, not only 'queued'")
                    with app.app_context():  # and the next floor round starts on a quiet machine
                        results["applied"].append(
                            applied_facts([e["id"] for e in events], args.max_seconds))
                    check_workers()
                results[kind].append(result)

        def merged(parts: list[dict]) -> dict:
            return {"wall": sum(p["wall"] for p in parts),
                    "latencies": [x for p in parts for x in p["latencies"]]}

        print(f"\n{args.payments:,} signed payment_intent.succeeded events, {args.accounts:,} "
              f"accounts, gunicorn {args.workers} sync workers, {args.connections} connections, "
              f"{args.rounds} rounds (floor then real), {args.apply_workers} job worker(s)")
        rates = [(len(f["latencies"]) / f["wall"], len(r["latencies"]) / r["wall"])
                 for f, r in zip(results["floor"], results["real"], strict=True)]
        print("  rounds (floor, real, ratio): " + "; ".join(
            f"{f:.0f}/s, {r:.0f}/s, {r / f:.1%}" for f, r in rates))
        print(f"  {'endpoint':24} {'events':>6} {'wall':>10} {'rate':>11} {'p50 ms':>9}"
              f" {'p99 ms':>9}")
        floor_rate, _, _ = report("floor (signed POST)", merged(results["floor"]))
        real_rate, _, _ = report("webhook (real)", merged(results["real"]))
        ratio = real_rate / floor_rate
        print(f"  ratio real/floor: {ratio:.1%} (median of rounds "
              f"{statistics.median(r / f for f, r in rates):.1%}); target >= {TARGET:.0%}: "
              f"{'met' if ratio >= TARGET else 'NOT met'}")
        spans = [a["span"] for a in results["applied"]]
        waits = [w for a in results["applied"] for w in a["waits"]]
        applied_rate = args.payments / sum(spans)
        per_round = "; ".join(f"{len(c) / t:.0f}/s" for c, t in zip(chunks, spans, strict=True))
        print(f"  applied by the worker: {applied_rate:.1f}/s (first kept to last applied, per "
              f"round: {per_round}"
              f"), {applied_rate / real_rate:.1%} of the endpoint's rate; kept to applied p50 "
              f"{percentile(waits, 50):.2f} s, p99 {percentile(waits, 99):.2f} s, max "
              f"{max(waits):.2f} s")

        with app.app_context():
            problems = verify(intents)
            from portal.extensions import db

            db.engine.dispose()
        if problems:
            print("verification FAILED:\n  " + "\n  ".join(problems))
            raise SystemExit(1)
        print(f"verification OK: {len(intents):,} payments succeeded, one ledger entry, one "
              "applied event, one case event, one outbox message and one receipt each; no event "
              "left unapplied")
        print(f"BENCH name=webhooks figure={real_rate:.1f} floor={floor_rate:.1f} "
              f"ratio={ratio:.3f} unit=events/s target={TARGET} applied={applied_rate:.1f} "
              f"applied_ratio={applied_rate / real_rate:.3f}")
        finished = True
    finally:
        if loader is not None and loader.is_alive():
            try:
                ours.send(None)
            except OSError:
                pass
            loader.join(10)
            if loader.is_alive():
                loader.kill()
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
                gunicorn.wait()
        log.close()
        _database.drop(admin, name)
        if finished:
            os.unlink(log.name)
        else:
            print(f"gunicorn's log (exit status {gunicorn and gunicorn.returncode}): {log.name}")


if __name__ == "__main__":
    main()
