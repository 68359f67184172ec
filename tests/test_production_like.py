"""Issue 13's "Done when", as an agency runs the portal (README, "Deploying"): no demo mode; a
gunicorn web process behind what a TLS-terminating proxy sends (X-Forwarded-Proto: https, so
Secure cookies and strict CSRF referrer checks are on); a `flask --app portal worker` process;
an SMTP server (aiosmtpd) and the fake Twilio API (tests/fixtures/sms_providers.py); localstripe;
the agency's identity set with `flask --app portal agency set-identity`. A borrower gets the
sign-in code by email and by text and signs in; a payment's receipt and a plan reminder arrive;
/readyz and /metrics answer. Then texts: STOP through Twilio's signed webhook, a later text not
sent, a signed delivery report settling the contact attempt."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import time
from datetime import UTC, datetime
from datetime import time as dt_time

import pytest
import requests
from sqlalchemy import select, text
from twilio.request_validator import RequestValidator

from portal.accounts.models import Account
from portal.cases.service import Actor
from portal.contact.operations import give_consent
from portal.messaging import messages
from portal.messaging.notify import Status, notify
from portal.money import Money
from portal.operations import Refused
from portal.payments.emulator import wait_until_up
from portal.payments.models import Payment
from tests.conftest import ROOT, drop_database, fresh_database, make_app
from tests.fixtures.client import dob
from tests.fixtures.factories import seed_demo
from tests.fixtures.sms_providers import ACCOUNT_SID, AUTH_TOKEN, _serve
from tests.fixtures.smtp import SmtpServer
from tests.fixtures.stripe import LOCALSTRIPE, Emulator, free_port
from tests.test_many_processes import BIN, Browser, Stack, wait_until

#: The issue's promise: a sign-in code is in the borrower's mailbox or phone this soon after the
#: click, with a worker running. The send job is deferred in the click's transaction and reaches
#: the listening worker by PostgreSQL NOTIFY at its commit (no polling on that path; the 5-second
#: sweep is only the safety net, and would mostly miss this bound), so 2 s is already generous
#: next to what it takes (tenths of a second here); it is not widened for CI.
CODE_WITHIN = 2.0
PUBLIC = "https://portal.example"
METRICS_TOKEN = "production-like-metrics-token"
ALEX = "+12135550147"  # DEMO-1001's mobile (CONTRACT.md)
MARIA = "+16175550199"  # DEMO-1002's
SHORT_CODE = "89557"  # the agency's sender: a short code, as US debt collection needs
#: Fixed instant for messages the test writes itself: 19:00 UTC on a weekday is within every US
#: borrower's convenient hours (the hours rules stop collection messages at night).
AT = datetime(2031, 1, 8, 19, tzinfo=UTC)


class ProxiedBrowser(Browser):
    """A borrower's browser reaching the portal through the TLS-terminating proxy: the proxy's
    headers on every request and the page's https address as the Referer of a form (strict CSRF
    checks it). The Secure session cookie crosses the proxy's plain hop to gunicorn: see
    `secure_cookies_over_the_proxy_hop`."""

    def __init__(self, address: str):
        super().__init__()
        self.session.headers.update({"X-Forwarded-Proto": "https", "X-Forwarded-For": address,
                                     "X-Forwarded-Host": "portal.example"})
        self.session.hooks["response"].append(self._remember)

    def _remember(self, response, *args, **kwargs):
        path = requests.utils.urlparse(response.url).path
        self.session.headers["Referer"] = PUBLIC + path

    def h1(self, page) -> str:
        return page[1].find("h1").get_text(" ", strip=True)

    def ask_code(self, base: str, how: str):
        """Reference and date of birth, then the contact method whose label starts with `how`;
        the code page, and the moment of the click that sends the code."""
        page = self.submit(base, self.get(base, "/sign-in"),
                           {"reference": "DEMO-1001", **dob("1985-04-12")})
        label = next(x for x in page[1].select(".radio label")
                     if x.get_text().strip().lower().startswith(how))
        clicked = time.monotonic()
        page = self.submit(base, page, {"destination": page[1].find(id=label["for"])["value"]})
        assert self.h1(page) == "Enter your code", page[0].text[:300]
        # The code page the click was redirected to (303), and the moment of the click.
        return page, clicked


@pytest.fixture
def secure_cookies_over_the_proxy_hop(monkeypatch):
    """The browser holds the Secure cookie for https://portal.example; the proxy passes it on
    over plain http to gunicorn. requests' cookie jars (it makes new ones per request and
    redirect) keep Secure cookies off http: here they go, as they would through the proxy."""
    monkeypatch.setattr(http.cookiejar.DefaultCookiePolicy, "return_ok_secure",
                        lambda self, cookie, request: True)


def _code(words: str) -> str:
    return re.search(r"\b(\d{6})\b", words).group(1)


def _twilio_signed(base: str, path: str, params: dict) -> requests.Response:
    """POST as Twilio does: form fields, X-Twilio-Signature over the public URL and the fields."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + path, params)
    return requests.post(base + path, data=params, timeout=20,
                         headers={"X-Twilio-Signature": signature})


@pytest.fixture(scope="module")
def agency_runs(server_url, worker, tmp_path_factory):
    """One database with the demo borrowers, localstripe, an SMTP server, the fake Twilio, the
    agency's identity set by the CLI, one gunicorn web process and one worker process."""
    from flask_migrate import upgrade

    from portal.extensions import db

    tmp = tmp_path_factory.mktemp("production-like")
    mailbox = SmtpServer()
    twilio_server, twilio = _serve("twilio")
    stripe_port = free_port()
    localstripe = subprocess.Popen([str(LOCALSTRIPE), "--port", str(stripe_port),
                                    "--from-scratch"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
    stripe_url = f"http://127.0.0.1:{stripe_port}"
    name = f"portal_prod_{worker}"
    url = fresh_database(server_url, name)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "PROMETHEUS"))}
    env.pop("REDIS_URL", None)  # rate limits of these processes alone, not other test runs'
    env.update({
        "DATABASE_URL": url, "STRIPE_API_BASE": stripe_url, "PORTAL_DEMO": "0",
        "SMTP_URL": mailbox.url(), "MAIL_FROM": "Portal <no-reply@portal.example>",
        "PUBLIC_URL": PUBLIC, "PUBLIC_BASE_URL": PUBLIC, "TRUST_PROXY_HOPS": "1",
        "SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_API_BASE": twilio.url, "SMS_TIMEOUT": "5",
        "METRICS_TOKEN": METRICS_TOKEN, "LOG_FORMAT": "json", "WEB_CONCURRENCY": "1",
        "EVIDENCE_DIR": str(tmp / "evidence"), "CHAIN_EXPORT_DIR": str(tmp / "heads"),
    })
    # The app this test writes and reads with: the same configuration as the processes.
    app = make_app(url, stripe_url, PORTAL_DEMO=False, SMTP_URL=mailbox.url(),
                   MAIL_FROM=env["MAIL_FROM"], PUBLIC_URL=PUBLIC, PUBLIC_BASE_URL=PUBLIC,
                   SMS_PROVIDER="twilio", TWILIO_ACCOUNT_SID=ACCOUNT_SID,
                   TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_API_BASE=twilio.url)
    stack = Stack(tmp, env)
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        seed_demo(app)
        identity = subprocess.run(
            [str(BIN / "flask"), "--app", "portal", "agency", "set-identity", "--agency",
             "Demo Collections", "--email-from", "accounts@demo-collections.example",
             "--sms-sender", SHORT_CODE], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=60)
        assert identity.returncode == 0, identity.stderr
        assert f"texts from {SHORT_CODE}" in identity.stdout
        base = stack.web("web", free_port())
        stack.worker("worker")
        emulator = Emulator(stripe_url)
        wait_until_up(stripe_url, timeout=30)
        requests.post(f"{stripe_url}/_config/webhooks/production-like", timeout=10, data={
            "url": f"{base}/payments/stripe/webhook",
            "secret": os.environ["STRIPE_WEBHOOK_SECRET"]}).raise_for_status()
        wait_until(lambda: _ready(base), "the web process ready, with the worker's heartbeat")
        yield app, base, stack, mailbox, twilio, emulator
    finally:
        stack.stop()
        twilio.release.set()
        twilio_server.shutdown()
        twilio_server.server_close()
        mailbox.stop()
        localstripe.send_signal(signal.SIGTERM)
        localstripe.wait(timeout=10)
        with app.app_context():
            db.engine.dispose()
        drop_database(server_url, name)


def _ready(base: str) -> bool:
    try:
        return requests.get(base + "/readyz", timeout=20).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False


def _rows(app, sql: str, **params) -> list:
    from portal.extensions import db

    with app.app_context():
        try:
            return list(db.session.execute(text(sql), params).all())
        finally:
            db.session.rollback()


def _tell(app, account_ref: str, message, **how):
    """notify, committed, as a job of the portal would call it (the message as of AT)."""
    from portal.extensions import db

    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.reference == account_ref))
        # The worker judges the message again at the real hour (send-time rules): the borrower
        # agreed to hear at any hour, so a run of this test at any hour sends it too. Consent is
        # judged in the home zone (the address's) while the hours rule looks at every zone the
        # borrower may be in (Alex: New York by address, Los Angeles by phone), so one night
        # window is not enough: the two windows cover the whole home day (CI at 13:05 UTC found
        # 08:05 in New York outside the night window and 05:05 in Los Angeles inside night).
        for channel in ("email", "sms"):
            for start, end in ((dt_time(21), dt_time(8)), (dt_time(7), dt_time(22))):
                try:
                    give_consent(account.borrower_id, channel, start, end, "every_day",
                                 Actor("borrower", str(account.borrower_id)))
                except Refused:
                    pass  # already given
        outcome = notify(account.borrower, message, account=account, at=AT, **how)
        db.session.commit()
        return outcome


def _jobs(stack: Stack, task: str, request_id: str | None) -> list[dict]:
    """The worker's log lines of `task` jobs queued by the request `request_id`, succeeded."""
    lines = [json.loads(line) for line in stack.log("worker").splitlines()
             if line.startswith("{") and '"event":"job"' in line]
    return [j for j in lines if j["task"] == task and j.get("request_id") == request_id
            and j["outcome"] == "succeeded"]


def _texts_to(twilio, number: str) -> list[dict]:
    return [r for r in twilio.requests if r.get("To") == number]


@pytest.mark.usefixtures("secure_cookies_over_the_proxy_hop")
def test_a_borrower_signs_in_by_email_and_by_text_and_gets_receipts_and_reminders(agency_runs):
    app, base, stack, mailbox, twilio, emulator = agency_runs
    browser = ProxiedBrowser("203.0.113.10")

    # 1. The code by email, in the mailbox within CODE_WITHIN of the click; signed in with it.
    before = len(mailbox.messages)
    page, clicked = browser.ask_code(base, "email")
    clicked_id = page[0].history[0].headers["X-Request-ID"]  # the POST, before its 303
    (mail,) = mailbox.wait_for(before + 1, timeout=CODE_WITHIN)[before:]
    email_delay = time.monotonic() - clicked
    assert email_delay < CODE_WITHIN
    assert mail.rcpt_tos == ["alex@example.com"]
    assert mail.message["From"] == "Demo Collections <accounts@demo-collections.example>"
    page = browser.submit(base, page, {"code": _code(mail.part("plain"))})
    assert browser.h1(page) == "Your accounts"
    # It went by the job the click's request deferred (woken at its commit), not by a sweep:
    # the worker's line for that job carries the request's id.
    wait_until(lambda: _jobs(stack, "messaging.send", clicked_id), "the click's send job logged")

    # 2. The code by text, at Twilio within CODE_WITHIN, from the agency's short code.
    texting = ProxiedBrowser("203.0.113.11")
    page, clicked = texting.ask_code(base, "text")
    asked = wait_until(lambda: _texts_to(twilio, ALEX), "the code at Twilio", CODE_WITHIN)
    text_delay = time.monotonic() - clicked
    assert text_delay < CODE_WITHIN
    assert asked[0]["From"] == SHORT_CODE
    assert asked[0]["StatusCallback"] == f"{PUBLIC}/hooks/sms/twilio/status"
    page = texting.submit(base, page, {"code": _code(asked[0]["Body"])})
    assert texting.h1(page) == "Your accounts"

    # 3. A payment through the checkout: Stripe's event reaches the web process, the worker
    # applies it and emails the receipt.
    payment = browser.pay(base, "LUM-1001", "12.34", emulator)
    receipt = _rows(app, "SELECT id FROM payment WHERE public_id::text = :p", p=payment)[0][0]
    with app.app_context():
        number = app.extensions["sqlalchemy"].session.get(Payment, receipt).receipt_number
    arrived = wait_until(lambda: [m for m in mailbox.to("alex@example.com")
                                  if number in (m.message["Subject"] or "")],
                         "the receipt in the mailbox")
    assert len(arrived) == 1 and "12.34" in arrived[0].part("plain")

    # 4. A plan reminder, written as the plans job writes it; the worker mails it.
    assert _tell(app, "LUM-1001", messages.plan_reminder(
        "P-PROD", Money(5000, "USD"), AT.date(), autopay=False)).status == Status.SENT
    reminder = wait_until(lambda: [m for m in mailbox.to("alex@example.com")
                                   if "P-PROD" in m.part("plain")], "the plan reminder")
    assert reminder[0].message["List-Unsubscribe"]
    assert "unsubscribe" in reminder[0].part("plain").lower()

    # 5. Readiness with the worker's heartbeat; metrics (with the token) count the messages.
    ready = requests.get(base + "/readyz", timeout=20)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["checks"]["worker"]["ok"] is True
    assert requests.get(base + "/metrics", timeout=20).status_code in (401, 403)
    scraped = requests.get(base + "/metrics", timeout=20,
                           headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200
    counted = dict(_rows(app, "SELECT status, count(*) FROM outgoing_message GROUP BY 1"))
    assert counted.get("sent", 0) >= 4  # two codes, the receipt, the reminder
    for status, count in counted.items():
        assert f'portal_messages{{outcome="{status}"}} {float(count)}' in scraped.text
    assert 'portal_payments{status="succeeded"} 1.0' in scraped.text

    # Nothing personal in any process's log.
    for name in ("web", "worker"):
        log = stack.log(name)
        for secret in ("alex@example.com", "2135550147", "Alex", "1985-04-12"):
            assert secret not in log, (name, secret)
    print(f"\nsign-in code by email {email_delay:.2f} s after the click, "
          f"by text {text_delay:.2f} s")


def test_stop_by_text_opts_out_and_a_signed_report_settles_the_attempt(agency_runs):
    app, base, _stack, _mailbox, twilio, _emulator = agency_runs
    status_path, inbound_path = "/hooks/sms/twilio/status", "/hooks/sms/twilio/inbound"

    # A plan reminder by text goes out through the worker; Twilio's signed report settles it.
    assert _tell(app, "LUM-1001", messages.plan_reminder(
        "P-TEXT", Money(2500, "USD"), AT.date(), autopay=False), channel="sms",
        destination=ALEX).status == Status.SENT
    sent = wait_until(lambda: [r for r in _texts_to(twilio, ALEX) if "P-TEXT" in r["Body"]],
                      "the reminder at Twilio")
    [(sid, attempt)] = wait_until(lambda: _rows(
        app, "SELECT provider_ref, attempt_id FROM outgoing_message WHERE status = 'sent' "
             "AND channel = 'sms' AND kind = 'plan_reminder' AND provider_ref IS NOT NULL"),
        "the reminder marked sent")
    assert len(sent) == 1 and sent[0]["From"] == SHORT_CODE
    outcome = "SELECT outcome FROM contact_attempt WHERE id = :a"
    assert _rows(app, outcome, a=attempt) == [("sent",)]
    forged = requests.post(base + status_path, timeout=20, data={
        "MessageSid": sid, "MessageStatus": "delivered"}, headers={"X-Twilio-Signature": "x"})
    assert forged.status_code == 403 and _rows(app, outcome, a=attempt) == [("sent",)]
    report = _twilio_signed(base, status_path, {"MessageSid": sid, "MessageStatus": "delivered",
                                                "AccountSid": ACCOUNT_SID})
    assert (report.status_code, report.json()) == (200, {"settled": True})
    assert _rows(app, outcome, a=attempt) == [("delivered",)]

    # STOP, signed by Twilio: opted out as a case event; one confirmation, in the TwiML answer
    # (Twilio sends it; nothing is queued for the worker); STOP again: no second one.
    events = "SELECT count(*) FROM case_event WHERE kind = 'preferences.changed'"
    before_events = _rows(app, events)[0][0]
    queued_before = _rows(app, "SELECT count(*) FROM outgoing_message")[0][0]
    texts_before = len(_texts_to(twilio, ALEX))
    stop = {"From": ALEX, "To": SHORT_CODE, "Body": "STOP", "AccountSid": ACCOUNT_SID}
    first = _twilio_signed(base, inbound_path, stop)
    assert first.status_code == 200 and first.text.count("<Message>") == 1
    assert "no more texts from Demo Collections" in first.text
    again = _twilio_signed(base, inbound_path, {**stop, "Body": "stop"})
    assert again.status_code == 200 and "<Message>" not in again.text
    assert _rows(app, events)[0][0] == before_events + 1
    unsigned = requests.post(base + inbound_path, data=stop, timeout=20)
    assert unsigned.status_code == 403

    # A later text to that number is not sent: blocked by the opt-out, nothing queued.
    later = _tell(app, "LUM-1001", messages.plan_reminder(
        "P-LATER", Money(2500, "USD"), AT.date(), autopay=False), channel="sms",
        destination=ALEX)
    assert (later.status, later.rule) == (Status.BLOCKED, "us.channel-opt-out")
    assert _rows(app, "SELECT count(*) FROM outgoing_message")[0][0] == queued_before
    # The worker's queue has moved past that moment (another borrower's text, queued after,
    # has reached Twilio), and nothing more went to the opted-out number.
    assert _tell(app, "NWB-1002", messages.plan_reminder(
        "P-MARIA", Money(2500, "USD"), AT.date(), autopay=False), channel="sms",
        destination=MARIA).status == Status.SENT
    wait_until(lambda: _texts_to(twilio, MARIA), "the later text to another number")
    assert len(_texts_to(twilio, ALEX)) == texts_before
    assert _rows(app, "SELECT count(*) FROM outgoing_message WHERE status = 'queued'")[0][0] == 0

    # START opts back in (so the module's other test finds the number as it was).
    back = _twilio_signed(base, inbound_path, {**stop, "Body": "START"})
    assert back.status_code == 200 and back.text.count("<Message>") == 1
