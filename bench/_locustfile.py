"""The load generator's users for bench/web.py and bench/soak.py (run by locust, headless, in a
process of its own). Each simulated borrower signs in through the real pages with a code read
from the SMTP server's mail (bench/_codes.py), a different borrower every time, then browses,
pays and proposes plans as a person does, one request after another, with no think time.

Every request is recorded (name, start, milliseconds, status, error) and written as JSON lines to
BENCH_RECORD when locust stops; the benchmark computes its own rates and percentiles from them.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import gevent
import gevent.event
from locust import FastHttpUser, constant, events, task

CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
DESTINATION = re.compile(r'<input[^>]*name="destination"[^>]*value="(\d+)"')
CLIENT_SECRET = re.compile(r'data-client-secret="([^"]+)"')
PAYMENT = re.compile(r"/payments/([0-9a-f-]{36})")
CODE_WAIT = 30
PREFIX = os.environ.get("BENCH_PREFIX", "LOAD")
BORROWERS = int(os.environ.get("BENCH_BORROWERS", "0"))
#: Borrowers are handed out in order from BENCH_FIRST: no sign-in repeats within a run.
NEXT = itertools.count(int(os.environ.get("BENCH_FIRST", "0")))
CODES = Path(os.environ.get("BENCH_CODES", "/nonexistent"))
STRIPE = os.environ.get("STRIPE_API_BASE", "")
RECORDS: list[tuple] = []


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None,
            exception=None, start_time=None, **kwargs):
    status = getattr(response, "status_code", 0) if response is not None else 0
    RECORDS.append((name, start_time, response_time, status,
                    None if exception is None else repr(exception)[:200]))


@events.user_error.add_listener
def _user_error(user_instance, exception, tb, **kwargs):
    """A step that went wrong outside a request (no code, no card form): an error too."""
    RECORDS.append(("task error", time.time(), 0.0, 0, repr(exception)[:200]))


@events.quitting.add_listener
def _write(environment, **kwargs):
    with open(os.environ["BENCH_RECORD"], "w") as out:
        for record in RECORDS:
            out.write(json.dumps(record) + "\n")


def borrower(n: int) -> tuple[str, date, str, str]:
    """The n-th seeded borrower (bench/_database.place_accounts): reference, birth date,
    account reference, email."""
    born = date(1980, 1, 1) + timedelta(days=n % 7000)
    return f"{PREFIX}-{n:06d}", born, f"{PREFIX}W-{n:06d}", f"bench{n}@example.com"


class Borrower(FastHttpUser):
    """A borrower of the seeded ones: signs in, then browses; subclasses add what else."""

    abstract = True
    wait_time = constant(0)

    def on_start(self):
        self.sign_in()

    def page(self, path: str, name: str, data: dict | None = None, expect=(200,)) -> str:
        """GET (or POST `data` with this session's CSRF token) and follow redirects; anything
        but an expected status is a failure with its path."""
        if data is None:
            kwargs = {}
            method = self.client.get
        else:
            kwargs = {"data": {"csrf_token": self.csrf, **data}}
            method = self.client.post
        with method(path, name=name, catch_response=True, **kwargs) as response:
            if response.status_code not in expect:
                response.failure(f"{path}: {response.status_code}")
            text = response.text or ""
            found = CSRF.search(text)
            if found:
                self.csrf = found.group(1)
            self.url = response.url or ""
            return text

    def sign_in(self):
        n = next(NEXT)
        if BORROWERS and n >= BORROWERS:
            raise RuntimeError(f"out of borrowers: {n} >= {BORROWERS}; seed more")
        reference, born, self.account, email = borrower(n)
        self.client.cookiejar.clear()
        self.csrf = ""
        self.page("/sign-in", "sign-in")
        text = self.page("/sign-in", "sign-in: identity", {
            "reference": reference, "dob_day": str(born.day), "dob_month": str(born.month),
            "dob_year": str(born.year)})
        destination = DESTINATION.search(text)
        if destination is None:
            raise RuntimeError(f"{reference}: no destination offered ({self.url})")
        self.page("/sign-in/send-code", "sign-in: send code",
                  {"destination": destination.group(1)})
        mail = CODES / email
        until = time.monotonic() + CODE_WAIT
        while not mail.exists():
            if time.monotonic() > until:
                raise RuntimeError(f"{email}: no code within {CODE_WAIT} s")
            gevent.sleep(0.02)  # polling the mailbox, as a person waits for their mail
        began = time.time()
        code = mail.read_text()
        mail.unlink()
        self.page("/sign-in/code", "sign-in: code", {"code": code})
        if not self.url.endswith("/accounts/"):
            raise RuntimeError(f"{reference}: signed in to {self.url}, not /accounts/")
        self.signed_in_at = began
        self.proposed = False

    def browse(self):
        self.page("/accounts/", "account pages")
        self.page(f"/accounts/{self.account}", "account pages")

    def start_payment(self) -> str | None:
        """The checkout up to the card form (a PaymentIntent's SetupIntent at the emulator)."""
        self.page(f"/accounts/{self.account}/pay", "pay: form")
        text = self.page(f"/accounts/{self.account}/pay", "pay: start",
                         {"choice": "other", "amount": "10.00"})
        secret = CLIENT_SECRET.search(text)
        payment = PAYMENT.search(self.url)
        if secret is None or payment is None:
            raise RuntimeError(f"pay: no card form ({self.url})")
        return secret.group(1), payment.group(1)

    def pay(self):
        """The whole checkout: the card confirmed at the emulator as Stripe.js does, then
        submitted; the payment's page."""
        secret, payment = self.start_payment()
        intent = secret.split("_secret_")[0]
        body = json.dumps({"key": "pk_test_emulator", "use_stripe_sdk": True,
                           "client_secret": secret, "payment_method_data": {
                               "type": "card", "card": {"number": "4242424242424242",
                                                        "exp_month": "12", "exp_year": "2030",
                                                        "cvc": "123"}}}).encode()
        began = time.time()
        request = urllib.request.Request(f"{STRIPE}/v1/setup_intents/{intent}/confirm",
                                         data=body, method="POST")
        error = None
        try:
            with urllib.request.urlopen(request, timeout=20) as answer:  # noqa: S310 loopback
                status = json.load(answer).get("status")
            if status != "succeeded":
                error = f"card setup {status}"
        except OSError as exc:
            error = repr(exc)
        events.request.fire(request_type="POST", name="pay: card (emulator)",
                            response_time=(time.time() - began) * 1000, response_length=0,
                            exception=RuntimeError(error) if error else None,
                            start_time=began)
        if error:
            return
        self.page(f"/payments/{payment}/submit", "pay: submit", {})

    def propose_plan(self):
        if getattr(self, "proposed", False):  # one proposal a borrower: the next one's turn
            self.sign_out_and_in()
        self.page(f"/accounts/{self.account}/plan", "plan: calculator")
        self.page(f"/accounts/{self.account}/plan", "plan: propose", {
            "action": "propose", "kind": "installments", "months": "12"})
        if "/plans/" not in self.url:
            raise RuntimeError(f"plan: not proposed ({self.url})")
        self.proposed = True

    def dispute(self):
        """The whole account disputed (one dispute an account: then the next borrower)."""
        self.page(f"/accounts/{self.account}/dispute", "dispute: form")
        self.page(f"/accounts/{self.account}/dispute", "dispute: open",
                  {"reasons": "wrong_amount", "scope": "whole",
                   "details": "The interest looks wrong to me."})
        if "/disputes/" not in self.url:
            raise RuntimeError(f"dispute: not opened ({self.url})")
        self.sign_out_and_in()

    def sign_out_and_in(self):
        self.page("/sign-out", "sign-out", {})
        self.sign_in()


class HelloWorld(FastHttpUser):
    """The floor: the same gunicorn configuration answering a hello-world route."""

    wait_time = constant(0)

    @task
    def hello(self):
        self.client.get("/hello", name="hello")


#: AccountPages: set once every user has signed in; the timed window starts then.
ALL_SIGNED_IN = gevent.event.Event()
SIGNED_IN = itertools.count(1)


class AccountPages(Borrower):
    """Signed in once, then the account list and the account's page, over and over; timed
    from the moment every user has signed in, for BENCH_SECONDS, after which locust stops."""

    def on_start(self):
        self.sign_in()
        if next(SIGNED_IN) == self.environment.runner.target_user_count:
            RECORDS.append(("all signed in", time.time(), 0.0, 0, None))
            ALL_SIGNED_IN.set()
            gevent.spawn_later(float(os.environ.get("BENCH_SECONDS", "30")),
                               self.environment.runner.quit)
        ALL_SIGNED_IN.wait()

    @task
    def pages(self):
        self.browse()


class Mixed(Borrower):
    """Browsing mostly; now and then a payment, a plan proposal, a dispute, or the next
    borrower."""

    weight = 7

    @task(10)
    def pages(self):
        self.browse()

    @task(2)
    def pay_now(self):
        self.pay()

    @task(1)
    def plan(self):
        self.propose_plan()

    @task(1)
    def open_dispute(self):
        self.dispute()

    @task(2)
    def next_borrower(self):
        self.sign_out_and_in()


class Dialer(FastHttpUser):
    """A dialer's platform asking, through the API, whether it may email a seeded borrower now
    (the demo partner key of the agency the seeded accounts belong to)."""

    weight = 1
    wait_time = constant(0.5)
    counter = itertools.count()

    @task
    def decide(self):
        n = next(self.counter) % max(BORROWERS, 1)
        with self.client.post("/api/v1/contact-decisions", name="api: contact decision",
                              json={"account_ref": borrower(n)[2], "channel": "email",
                                    "destination": borrower(n)[3]},
                              headers={"Authorization": "Bearer demo-dialer-key"},
                              catch_response=True) as response:
            if response.status_code != 200 or "allowed" not in (response.text or ""):
                response.failure(f"decision: {response.status_code} {response.text[:200]}")
