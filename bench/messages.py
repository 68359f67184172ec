"""Email at volume: messages written by `notify` into the outgoing queue and sent by one job worker
over SMTP, against the floor of `smtplib` sending the very same messages straight to the same
server, over one connection, in the same run.

    .venv/bin/python bench/messages.py                    # embedded PostgreSQL, 10,000 emails
    .venv/bin/python bench/messages.py --messages 2000 --borrowers 100
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/messages.py

It creates a database of its own (portal_bench_messages_<pid>), migrates it, loads the demo data,
places `--borrowers` accounts, and starts an SMTP server in a process of its own (aiosmtpd,
accepting and discarding, on a loopback port). Then:

1. `notify` writes `--messages` payment receipts (round robin over the accounts), in transactions
   of 100 — each one judged by the contact rules, rendered in the borrower's language with its HTML
   twin, recorded as a contact attempt with its case event, and queued (timed: the write rate);
2. the floor: every queued message composed to its bytes exactly as the adapter does (before
   the clock: the floor is smtplib, the network and the server alone), then sent with
   `smtplib.SMTP.sendmail` over one connection (timed);
3. one `flask --app portal worker --queue messaging` process is started, and one `messaging.send`
   job deferred: timed from that job's commit until no message is queued any more (read every
   50 ms on the queue's partial index). The worker's start-up is before the clock.

Reported: both rates and their ratio (the target: the worker at least half the floor). Afterwards
every message must be sent exactly once (status, tries = 1) or the run fails. The database is
dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._env import ROOT  # noqa: E402 - sets demo mode and throwaway keys first

os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_bench_messages")

TARGET = 0.50
PER_TRANSACTION = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_smtp(port: int) -> subprocess.Popen:
    """aiosmtpd's own command, with its Sink handler (accepts, keeps nothing)."""
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                               "-c", "aiosmtpd.handlers.Sink"], cwd=ROOT)
    until = time.monotonic() + 30
    while time.monotonic() < until:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as probe:
                probe.noop()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the SMTP server did not start")


def write_messages(account_ids: list[int], count: int) -> float:
    """`notify` every receipt; returns the seconds it took."""
    from portal.accounts.models import Account
    from portal.extensions import db
    from portal.messaging import messages
    from portal.messaging.notify import Status, notify

    at = datetime(2031, 1, 8, 19, tzinfo=UTC)  # a Wednesday, 14:00 in New York
    started = time.perf_counter()
    for n in range(count):
        account = db.session.get(Account, account_ids[n % len(account_ids)])
        number = f"R-{n:06d}"
        outcome = notify(account.borrower, messages.payment_receipt(
            number, lambda locale, number=number: [("Receipt number", number),
                                                   ("Amount", "$50.00")]), account=account, at=at)
        if outcome.status != Status.SENT:
            raise RuntimeError(f"message {n} not queued: {outcome}")
        if n % PER_TRANSACTION == PER_TRANSACTION - 1:
            db.session.commit()
    db.session.commit()
    return time.perf_counter() - started


def floor(port: int) -> tuple[float, int]:
    """smtplib, one connection, the same messages as the adapter composes them."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.messaging.models import OutgoingMessage
    from portal.messaging.outgoing import Senders, envelope_of
    from portal.messaging.smtp import compose

    senders = Senders("Borrower portal <no-reply@localhost>")
    mails = [(compose(envelope_of(m, senders.of(m))), m.destination)
             for m in db.session.scalars(select(OutgoingMessage).order_by(OutgoingMessage.id))]
    db.session.rollback()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for mail, to in mails:
            conn.sendmail("no-reply@localhost", [to], mail)
    return time.perf_counter() - started, len(mails)


def all_sent() -> bool:
    """Whether nothing is queued any more: read on the queue's partial index, so the polling costs
    the database (which the worker needs) next to nothing."""
    from portal.extensions import db

    done = db.session.scalar(db.text(
        "SELECT NOT EXISTS (SELECT 1 FROM outgoing_message WHERE status = 'queued')"))
    db.session.rollback()
    return done


def through_worker(env: dict, total: int, log) -> float:
    """Start one worker, wait until it is idle, defer one send job; seconds until all sent."""
    from portal.extensions import db
    from portal.jobs.queue import defer_in_transaction
    from portal.messaging.service import LOCKS, SEND_TASK

    worker = subprocess.Popen([str(ROOT / ".venv" / "bin" / "flask"), "--app", "portal", "worker",
                               "--queue", "messaging"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        # The jobs deferred while writing are cleared first, so the worker starts idle and the
        # clock starts with the one job below. Its start-up (imports, connections) is untimed.
        db.session.execute(db.text("DELETE FROM procrastinate_jobs WHERE queue_name = 'messaging'"))
        db.session.commit()
        until = time.monotonic() + 300  # start-up is untimed; a loaded machine takes long
        while not db.session.scalar(db.text("SELECT count(*) FROM procrastinate_workers")):
            db.session.rollback()
            if time.monotonic() > until or worker.poll() is not None:
                raise RuntimeError("the worker did not start")
            time.sleep(0.05)
        db.session.rollback()
        defer_in_transaction(SEND_TASK, queueing_lock=LOCKS[False])
        db.session.commit()
        started = time.perf_counter()
        until = time.monotonic() + 600
        while not all_sent():
            if time.monotonic() > until or worker.poll() is not None:
                raise RuntimeError("the worker did not send everything in time")
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def verify(total: int) -> list[str]:
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.messaging.models import OutgoingMessage

    rows = db.session.execute(select(OutgoingMessage.status, OutgoingMessage.tries, func.count())
                              .group_by(OutgoingMessage.status, OutgoingMessage.tries)).all()
    db.session.rollback()
    return [] if [tuple(r) for r in rows] == [("sent", 1, total)] else [f"outgoing rows: {rows}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--borrowers", type=int, default=500)
    args = parser.parse_args()
    if not 0 < args.borrowers <= args.messages <= 100_000:
        parser.error("need 0 < borrowers <= messages <= 100,000")

    from flask_migrate import upgrade

    from bench import _database
    from portal import create_app
    from portal.config import sqlalchemy_url
    from portal.demo.cli import seed

    admin, name, url = _database.create("portal_bench_messages")
    port = free_port()
    smtp = start_smtp(port)
    smtp_url = f"smtp://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="bench-messages-", suffix=".log", delete=False)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "SMTP_URL": smtp_url})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed()
            print(f"placing {args.borrowers} accounts ...", flush=True)
            accounts = [a for a, _ in _database.place_accounts(args.borrowers, "MAIL")]
            print(f"notify: {args.messages} receipts ...", flush=True)
            wrote = write_messages(accounts, args.messages)
            floor_seconds, count = floor(port)
            env = dict(os.environ, DATABASE_URL=url, SMTP_URL=smtp_url)
            worker_seconds = through_worker(env, count, log)
            problems = verify(count)
        floor_rate, worker_rate = count / floor_seconds, count / worker_seconds
        ratio = worker_rate / floor_rate
        print(f"\n{count} emails, SMTP server aiosmtpd (Sink) on 127.0.0.1, one worker")
        print(f"  notify (written to the queue) {wrote:8.2f} s {count / wrote:9.1f}/s")
        print(f"  floor: smtplib, one connection {floor_seconds:7.2f} s {floor_rate:9.1f}/s")
        print(f"  queue -> worker -> SMTP        {worker_seconds:7.2f} s {worker_rate:9.1f}/s")
        print(f"  ratio {ratio:.0%} of the floor (target {TARGET:.0%}): "
              f"{'MET' if ratio >= TARGET else 'NOT MET'}")
        for problem in problems:
            print(f"  PROBLEM: {problem}")
        if problems:
            raise SystemExit(1)
        print(f"BENCH name=messages figure={worker_rate:.1f} floor={floor_rate:.1f} "
              f"ratio={ratio:.3f} unit=emails/s target={TARGET} messages={count}")
    finally:
        smtp.terminate()
        smtp.wait(timeout=30)
        _database.drop(admin, name)
        print(f"(worker log: {log.name})")


if __name__ == "__main__":
    main()
