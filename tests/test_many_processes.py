"""The portal as an agency runs it (README, "Deploying"): two web processes (gunicorn with
gunicorn.conf.py) and two job workers (`flask --app portal worker`), real processes on loopback
ports, against one PostgreSQL database, localstripe and a webhook receiver. Borrowers pay through
the checkout of both web processes; one worker is killed (SIGKILL) in the middle of a webhook
delivery; every payment is still posted once, and every message reaches each endpoint, by its
id, with one delivery row each. Then borrowers' emails: two workers and an SMTP server, one
worker killed in the middle of a batch; every email arrives once, by its Message-ID."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin

import psutil
import pytest
import requests
from bs4 import BeautifulSoup
from sqlalchemy import text

from tests.conftest import ROOT, drop_database, fresh_database, make_app
from tests.fixtures.client import dob
from tests.fixtures.stripe import LOCALSTRIPE, Emulator, free_port

BIN = Path(sys.executable).parent
#: How long any condition below may take to come true.
DEADLINE = 40
METRICS_TOKEN = "many-processes-metrics-token"
#: Alex's year of birth as a form field or a date, never four digits inside a hex request id.
BIRTH_YEAR = re.compile(r"(?<![0-9a-f-])1985(?![0-9a-f])")
#: (reference, date of birth, account paid) of the demo borrowers who pay.
BORROWERS = [("DEMO-1001", "1985-04-12", "LUM-1001"), ("DEMO-1002", "1979-07-30", "NWB-1002"),
             ("DEMO-4001", "1988-11-05", "BRC-4001")]


def wait_until(condition, what: str, deadline: float = DEADLINE):
    """Poll `condition` until it returns something true; fail naming `what` at the deadline."""
    end = time.monotonic() + deadline
    pause = threading.Event()
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > end:
            pytest.fail(f"not within {deadline} s: {what}")
        pause.wait(0.1)  # the poll interval, not a guess at how long anything takes


class Receiver:
    """A webhook receiver counting deliveries by message id; it holds the first delivery open
    until `release` is set, so the worker sending it is caught in the middle of its job."""

    def __init__(self):
        self.ids: list[str] = []
        self.lock = threading.Lock()
        self.holding = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    first = not receiver.holding.is_set()
                    receiver.holding.set()
                if first:
                    receiver.release.wait(DEADLINE)
                with receiver.lock:
                    receiver.ids.append(json.loads(body)["id"])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def received(self) -> list[str]:
        with self.lock:
            return list(self.ids)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Browser:
    """A borrower's browser: one cookie jar, pages read and forms filled from their HTML, sent
    to whichever web process `base` names (both share the database and the secret key)."""

    def __init__(self):
        self.session = requests.Session()
        self.request_ids: list[str] = []

    def get(self, base: str, path: str):
        return self._page(self.session.get(base + path, timeout=20))

    def submit(self, base: str, page, fields: dict | None = None, action: str | None = None):
        response, soup = page
        form = next(f for f in soup.find_all("form")
                    if action is None or f.get("action", "").endswith(action))
        data = {}
        for element in form.find_all(["input", "select"]):
            name, kind = element.get("name"), element.get("type", "text")
            if not name or kind == "submit":
                continue
            if kind in ("radio", "checkbox"):
                if element.has_attr("checked"):
                    data[name] = element.get("value", "on")
            elif element.name == "select":
                chosen = element.find("option", selected=True) or element.find("option")
                data[name] = chosen.get("value", "") if chosen else ""
            else:
                data[name] = element.get("value", "")
        data.update(fields or {})
        target = urljoin(response.url, form.get("action") or response.url)
        target = base + requests.utils.urlparse(target).path  # this web process, that path
        return self._page(self.session.post(target, data=data, timeout=20))

    def _page(self, response):
        assert response.status_code < 500, (response.url, response.status_code)
        self.request_ids.append(response.headers["X-Request-ID"])
        return response, BeautifulSoup(response.text, "html.parser")

    def sign_in(self, base: str, reference: str, date_of_birth: str):
        page = self.submit(base, self.get(base, "/sign-in"),
                           {"reference": reference, **dob(date_of_birth)})
        labels = page[1].select(".radio label")
        label = next((x for x in labels if x.get_text().strip().lower().startswith("email")),
                     labels[0])
        page = self.submit(base, page, {"destination": page[1].find(id=label["for"])["value"]})
        codes = self.get(base, "/dev/messages")[1].select_one(".message__body").get_text()
        page = self.submit(base, page, {"code": re.search(r"\b(\d{6})\b", codes).group(1)})
        assert "/accounts" in page[0].url, page[0].url

    def pay(self, base: str, reference: str, amount: str, emulator: Emulator) -> str:
        """The checkout, as tests/test_payments.py drives it: amount, card, submit; the
        payment's public id."""
        page = self.submit(base, self.get(base, f"/accounts/{reference}/pay"),
                           {"choice": "other", "amount": amount}, action="/pay")
        form = page[1].find(id="card-form")
        assert form is not None, page[0].url
        assert emulator.confirm_card(form["data-client-secret"])["status"] == "succeeded"
        page = self.submit(base, page, action="/submit")
        return re.search(r"/payments/([0-9a-f-]{36})", page[0].url).group(1)


class Stack:
    """Every process of the deployment, started and stopped by the test."""

    def __init__(self, tmp: Path, env: dict):
        self.tmp = tmp
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], **env) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
        process.log = log
        self.processes[name] = process
        return process

    def web(self, name: str, port: int) -> str:
        self.start(name, [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind",
                          f"127.0.0.1:{port}", "--workers", "1"],
                   PROMETHEUS_MULTIPROC_DIR=str(self.tmp / f"metrics-{name}"))
        return f"http://127.0.0.1:{port}"

    def worker(self, name: str, **env) -> subprocess.Popen:
        return self.start(name, [str(BIN / "flask"), "--app", "portal", "worker",
                                 "--concurrency", "2"], **env)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.log.close()


@pytest.fixture
def deployment(server_url, worker, tmp_path):
    """One database with the demo data, localstripe, a receiver subscribed to every topic of
    every agency, and the environment every process of the deployment shares."""
    from flask_migrate import upgrade

    from portal.agency.models import Agency
    from portal.extensions import db as database
    from portal.outbox.models import TOPICS, WebhookEndpoint
    from tests.fixtures.factories import seed_demo

    stripe_port = free_port()
    localstripe = subprocess.Popen([str(LOCALSTRIPE), "--port", str(stripe_port),
                                    "--from-scratch"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
    stripe_url = f"http://127.0.0.1:{stripe_port}"
    name = f"portal_many_{worker}"
    url = fresh_database(server_url, name)
    app = make_app(url, stripe_url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    seed_demo(app)
    receiver = Receiver()
    with app.app_context():
        for agency in database.session.scalars(database.select(Agency)):
            database.session.add(WebhookEndpoint(agency_id=agency.id, url=receiver.url,
                                                 secret="whsec_many", topics=list(TOPICS)))
        database.session.commit()
    from portal.payments.emulator import wait_until_up

    wait_until_up(stripe_url, timeout=30)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "PROMETHEUS"))}
    env.update({
        "DATABASE_URL": url, "STRIPE_API_BASE": stripe_url, "PORTAL_DEMO": "1",
        "EVIDENCE_DIR": str(tmp_path / "evidence"), "CHAIN_EXPORT_DIR": str(tmp_path / "heads"),
        "LOG_FORMAT": "json", "METRICS_TOKEN": METRICS_TOKEN, "WEB_CONCURRENCY": "1",
    })
    env.pop("REDIS_URL", None)  # rate limits of these processes alone, not other test runs'
    stack = Stack(tmp_path, env)
    try:
        yield app, stack, receiver, Emulator(stripe_url)
    finally:
        stack.stop()
        receiver.close()
        localstripe.terminate()
        localstripe.wait(timeout=10)
        with app.app_context():
            database.engine.dispose()
        drop_database(server_url, name)


def _rows(app, sql: str, **params) -> list:
    from portal.extensions import db as database

    with app.app_context():
        try:
            return list(database.session.execute(text(sql), params).all())
        finally:
            database.session.rollback()


def _ready(base: str) -> bool:
    try:
        return requests.get(base + "/readyz", timeout=20).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False


def test_two_web_processes_and_two_workers_one_killed_post_each_payment_once(deployment):
    app, stack, receiver, emulator = deployment
    webs = [stack.web("web1", free_port()), stack.web("web2", free_port())]
    worker_a = stack.worker("worker-a")
    # Ready once each web process answers and worker A's heartbeat is in the database.
    wait_until(lambda: all(_ready(base) for base in webs), "both web processes ready")
    for index, base in enumerate(webs):  # Stripe sends each event to both web processes
        requests.post(f"{emulator.url}/_config/webhooks/many{index}", timeout=10, data={
            "url": f"{base}/payments/stripe/webhook",
            "secret": os.environ["STRIPE_WEBHOOK_SECRET"]}).raise_for_status()

    browsers = []
    for index, (reference, born, _account) in enumerate(BORROWERS):
        browser = Browser()
        browser.sign_in(webs[index % 2], reference, born)
        browsers.append(browser)

    def wave(first_web: int) -> list[str]:
        return [browser.pay(webs[(first_web + i) % 2], account, f"{i + 1}.25", emulator)
                for i, (browser, (_r, _b, account)) in enumerate(zip(browsers, BORROWERS,
                                                                       strict=True))]

    paid = wave(0)
    # The first webhook delivery is held open by the receiver: worker A, the only worker, is in
    # the middle of that job. Worker B starts; then A is killed, mid-delivery.
    wait_until(receiver.holding.is_set, "a webhook delivery in flight")
    worker_b = stack.worker("worker-b")
    connected = wait_until(lambda: [c for c in psutil.Process(worker_a.pid).net_connections("tcp")
                                    if c.raddr and c.raddr.port == receiver.port],
                           "worker A connected to the receiver")
    assert connected
    worker_a.send_signal(signal.SIGKILL)
    worker_a.wait(timeout=10)
    receiver.release.set()

    def posted(ids):
        rows = _rows(app, "SELECT p.public_id::text, p.status, count(l.id) FROM payment p "
                          "LEFT JOIN ledger_entry l ON l.payment_id = p.id "
                          "WHERE p.public_id::text = ANY(:ids) GROUP BY 1, 2", ids=ids)
        return len(rows) == len(ids) and all(r[1] == "succeeded" and r[2] >= 1 for r in rows)

    wait_until(lambda: posted(paid), "the first payments posted")
    paid += wave(1)  # then more traffic, through both web processes, with worker B alone
    wait_until(lambda: posted(paid), "every payment posted")

    def delivered():
        pending = _rows(app, "SELECT count(*) FROM webhook_delivery WHERE status <> 'delivered'")
        return pending[0][0] == 0
    wait_until(delivered, "every webhook delivered")

    # Every payment applied once: one ledger entry each, whichever process got Stripe's event
    # (each event reached both web processes; each is kept once by its id).
    ledger = _rows(app, "SELECT p.public_id::text, count(l.id) FROM payment p JOIN ledger_entry l "
                        "ON l.payment_id = p.id WHERE p.public_id::text = ANY(:ids) GROUP BY 1",
                   ids=paid)
    assert sorted(ledger) == sorted((public_id, 1) for public_id in paid)
    applied = _rows(app, "SELECT p.public_id::text, e.status FROM stripe_event e JOIN payment p "
                         "ON p.id = e.payment_id WHERE e.type = 'payment_intent.succeeded'")
    assert sorted(applied) == sorted((public_id, "applied") for public_id in paid)
    succeeded = _rows(app, "SELECT count(*) FROM outbox_message WHERE topic = "
                           "'payment.succeeded'")[0][0]
    assert succeeded == len(paid)
    # Every message once per endpoint: one delivery row each, delivered, and each id received.
    deliveries = _rows(app, "SELECT message_id::text, endpoint_id, count(*), "
                            "bool_and(status = 'delivered') FROM webhook_delivery GROUP BY 1, 2")
    assert deliveries and all(count == 1 and done for _m, _e, count, done in deliveries)
    messages = {m for m, _e, _c, _d in deliveries}
    received = receiver.received()
    assert set(received) == messages
    # At least once, as the README says: the delivery cut off by the kill is sent again with the
    # same id (receivers deduplicate on it); no other message arrives twice.
    twice = {i for i in received if received.count(i) > 1}
    assert len(twice) <= 1, twice

    # Readiness and metrics from the deployment as it stands; job log lines carry the id of the
    # request that queued them, through the jobs those jobs queued.
    assert all(_ready(base) for base in webs)
    scraped = requests.get(webs[1] + "/metrics", timeout=10,
                           headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    assert f'portal_payments{{status="succeeded"}} {float(len(paid))}' in scraped
    assert 'route="/accounts/<reference>/pay"' in scraped
    jobs = [json.loads(line) for line in stack.log("worker-b").splitlines()
            if line.startswith("{") and '"event":"job"' in line]
    requests_logged = {json.loads(line)["request_id"] for name in ("web1", "web2")
                       for line in stack.log(name).splitlines()
                       if line.startswith("{") and '"event":"request"' in line}
    assert any(j["outcome"] == "succeeded" and j.get("request_id") in requests_logged
               for j in jobs)
    for name in ("web1", "web2", "worker-b"):
        assert "Alex" not in stack.log(name) and not BIRTH_YEAR.search(stack.log(name))
    assert worker_b.poll() is None and worker_a.returncode == -signal.SIGKILL
    assert len({uuid.UUID(public_id) for public_id in paid}) == 2 * len(BORROWERS)


#: Emails in the batch: more than one worker leases at once (outgoing.LEASE_BATCH), so both
#: workers have some.
BATCH = 60
#: The lease of these workers (MESSAGE_LEASE_SECONDS): what the killed worker held comes back
#: after this, not after the default minute, so the test takes seconds.
LEASE_SECONDS = 4


def test_two_workers_one_killed_mid_batch_send_every_email_once(deployment):
    """Two workers and an SMTP server; the worker whose connection reaches the server first is
    held there (its RCPT unanswered: nothing of that email handed over yet), then SIGKILLed.
    Every email of the batch arrives exactly once, by Message-ID, and is marked sent once."""
    from sqlalchemy import select

    from portal.accounts.models import Account
    from portal.extensions import db as database
    from portal.messaging import messages
    from portal.messaging.notify import notify
    from tests.fixtures.smtp import SmtpServer

    app, stack, _receiver, _emulator = deployment
    mailbox = SmtpServer()
    mailer = make_app(app.config["SQLALCHEMY_DATABASE_URI"], app.config["STRIPE_API_BASE"],
                      PORTAL_DEMO=False, SMTP_URL=mailbox.url())
    try:
        mailbox.hold_next()
        env = {"PORTAL_DEMO": "0", "SMTP_URL": mailbox.url(),
               "MESSAGE_LEASE_SECONDS": str(LEASE_SECONDS)}
        workers = [stack.worker("mail-a", **env), stack.worker("mail-b", **env)]
        wait_until(lambda: _rows(app, "SELECT count(*) FROM worker_heartbeat")[0][0] == 2,
                   "both workers' heartbeats")
        started = time.monotonic()
        with mailer.app_context():  # the whole batch in one transaction, as a job would write it
            account = database.session.scalar(select(Account).where(
                Account.reference == "LUM-1001"))
            for n in range(BATCH):
                receipt = messages.payment_receipt(f"R-KILL-{n}", lambda locale: [])
                assert notify(account.borrower, receipt, account=account).sent
            database.session.commit()
        ids = [i for (i,) in _rows(app, "SELECT id FROM outgoing_message WHERE kind = "
                                        "'payment_receipt' ORDER BY id")]
        assert len(ids) == BATCH

        assert mailbox.catcher.held.wait(DEADLINE), "no worker reached the SMTP server"
        port = mailbox.catcher.held_peer[1]
        victim = next(w for w in workers if any(
            c.laddr.port == port for c in psutil.Process(w.pid).net_connections("tcp")))
        survivor = next(w for w in workers if w is not victim)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        mailbox.release.set()

        arrived = mailbox.wait_for(BATCH, timeout=DEADLINE)
        wait_until(lambda: _rows(app, "SELECT count(*) FROM outgoing_message WHERE status = "
                                      "'sent'")[0][0] == BATCH, "every email marked sent")
        took = time.monotonic() - started
        message_ids = [m.message["Message-ID"] for m in arrived]
        domain = message_ids[0].rsplit("@", 1)[1]
        assert sorted(message_ids) == sorted(f"<outgoing-{i}@{domain}" for i in ids)
        assert len(set(message_ids)) == BATCH  # each exactly once
        rows = _rows(app, "SELECT status, tries, sent_at IS NOT NULL FROM outgoing_message "
                          "WHERE id = ANY(:ids)", ids=ids)
        assert all(status == "sent" and sent for status, _tries, sent in rows)
        # What the killed worker had leased (a lease holds up to 100, so maybe the whole batch)
        # was taken again after its lease: tried twice, and never more.
        tries = {tries for _s, tries, _sent in rows}
        assert 2 in tries and tries <= {1, 2}
        assert victim.returncode == -signal.SIGKILL and survivor.poll() is None
        assert took < DEADLINE
        print(f"\n{BATCH} emails, one worker killed mid-batch: all sent once in {took:.1f} s")
    finally:
        with mailer.app_context():
            database.engine.dispose()
        mailbox.stop()
