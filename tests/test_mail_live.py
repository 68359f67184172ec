"""Production-like: no demo mode, SMTP_URL set, job workers running (procrastinate's own, in
threads of this process) on a database of this module's own, committed rows. A borrower gets the
sign-in code by email within 2 seconds of the click and signs in with it; a receipt and a plan
reminder arrive; a bounce marks the contact point and staff see it; two workers at once send every
message exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time

import pyotp
import pytest
from sqlalchemy import select

from portal.accounts.models import Account, Borrower, ContactPoint
from portal.cases.service import Actor
from portal.contact.operations import give_consent, point_confirmed
from portal.identity.models import StaffUser
from portal.jobs.queue import job_app
from portal.messaging import messages
from portal.messaging.models import OutgoingMessage
from portal.messaging.notify import Status, notify
from portal.messaging.service import QUEUE
from portal.money import Money
from tests.conftest import make_app, own_database_app
from tests.fixtures.client import Person, dob
from tests.fixtures.smtp import SmtpServer

#: A borrower is waiting for the code: it must be in their mailbox this soon after the click.
CODE_WITHIN = 2.0


@pytest.fixture(scope="module")
def mailbox():
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live(server_url, worker, mailbox, stripe_emulator):
    """The app as an agency runs it (no demo mode, mail over SMTP) on a fresh seeded database."""
    with own_database_app(server_url, f"portal_mail_{worker}", stripe_emulator.url,
                          PORTAL_DEMO=False, SMTP_URL=mailbox.url(), SESSION_COOKIE_SECURE=False,
                          WTF_CSRF_SSL_STRICT=False) as app:
        yield app


class Worker:
    """procrastinate's worker for the messaging queue, as `flask --app portal worker` runs it."""

    def __init__(self, app):
        self.app = app
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.loop = self.task = None
        self.thread = threading.Thread(target=self._run, name="mail-worker", daemon=True)

    def _run(self):
        try:
            asyncio.run(self._work())
        except BaseException as error:  # reported by stop(), in the test's thread
            self.error = error
        finally:
            self.ready.set()

    async def _work(self):
        jobs = job_app(self.app)
        async with jobs.open_async():
            self.loop = asyncio.get_running_loop()
            self.task = asyncio.create_task(jobs.run_worker_async(
                queues=[QUEUE], install_signal_handlers=False, shutdown_graceful_timeout=5))
            self.ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(30), "the worker did not start"
        return self

    def __exit__(self, *exc):
        if self.loop is not None and self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the worker did not stop"
        if self.error:
            raise self.error


def _committed(app, fn):
    from portal.extensions import db

    with app.app_context():
        result = fn()
        db.session.commit()
        return result


def _tell(app, account_ref: str, message):
    from portal.extensions import db

    def run():
        account = db.session.scalar(select(Account).where(Account.reference == account_ref))
        # 19:00 UTC on a weekday: within every US borrower's convenient hours.
        at = datetime(2031, 1, 8, 19, tzinfo=UTC)
        return notify(account.borrower, message, account=account, at=at)

    return _committed(app, run)


def _agrees_to_email_at_night(app, reference: str) -> None:
    from portal.extensions import db

    def run():
        borrower_id = db.session.scalar(select(Borrower.id).where(Borrower.reference == reference))
        give_consent(borrower_id, "email", dt_time(21), dt_time(8), "every_day",
                     Actor("borrower", str(borrower_id)))

    _committed(app, run)


def _confirm_addresses() -> None:
    from portal.extensions import db

    for point in db.session.scalars(select(ContactPoint).where(
            ContactPoint.undeliverable_at.is_not(None))):
        point_confirmed(point.borrower, point.id, Actor("borrower", str(point.borrower_id)))


def _receipt(number: str):
    return messages.payment_receipt(number, lambda locale: [("Receipt number", number)])


def test_an_agency_mails_for_real_codes_receipts_reminders_and_bounces(live, mailbox):
    person = Person(live.test_client())
    person.client.environ_base["REMOTE_ADDR"] = "10.77.0.1"
    with Worker(live):
        page = person.submit(person.get("/sign-in"), {"reference": "DEMO-1001",
                                                      **dob("1985-04-12")})
        choice = next(label for label in page.soup.select(".radio label")
                      if label.get_text().lower().startswith("email"))
        clicked = time.monotonic()
        page = person.submit(page, {"destination": page.soup.find(id=choice["for"])["value"]})
        assert page.h1 == "Enter your code", page.text[:300]
        (code_mail,) = mailbox.wait_for(1, timeout=CODE_WITHIN)
        assert time.monotonic() - clicked < CODE_WITHIN
        code = re.search(r"\b(\d{6})\b", code_mail.part("plain")).group(1)
        assert person.submit(page, {"code": code}).h1 == "Your accounts"

        # A receipt and a plan reminder (María reads Spanish); then a receipt that bounces.
        # The worker judges the reminder again at the real hour: María agreed to emails in the
        # evening and at night too, so it goes whenever this test runs.
        _agrees_to_email_at_night(live, "DEMO-1002")
        assert _tell(live, "NWB-1002", _receipt("R-LIVE-1")).status == Status.SENT
        assert _tell(live, "NWB-1002", messages.plan_reminder(
            "P-LIVE", Money(5000, "USD"), date(2031, 1, 15), autopay=True)).status == Status.SENT
        mailbox.bounce.add("alex@example.com")
        assert _tell(live, "NWB-1001", _receipt("R-LIVE-2")).status == Status.SENT
        arrived = mailbox.wait_for(3)
        assert [m.rcpt_tos for m in arrived[1:]] == [["maria@example.com"]] * 2
        assert "R-LIVE-1" in arrived[1].message["Subject"]
        assert "P-LIVE" in arrived[2].part("plain") and arrived[2].message["List-Unsubscribe"]

        def marked():
            from portal.extensions import db

            with live.app_context():
                points = [p.value for p in db.session.scalars(select(ContactPoint).where(
                    ContactPoint.undeliverable_at.is_not(None)))]
                db.session.rollback()
                return points

        deadline = time.monotonic() + 10
        while not marked():  # the worker's transaction commits after the server's 550
            assert time.monotonic() < deadline, "the bounce was not recorded"
            with mailbox.catcher.changed:
                mailbox.catcher.changed.wait(0.05)
    assert marked() == ["alex@example.com"]

    staff = Person(live.test_client())
    staff.client.environ_base["REMOTE_ADDR"] = "10.77.0.2"
    secret = _committed(live, lambda: live.extensions["sqlalchemy"].session.scalar(
        select(StaffUser.totp_secret).where(StaffUser.email == "compliance@demo.test")))
    page = staff.submit(staff.get("/staff/sign-in"), {"email": "compliance@demo.test",
                                                      "password": "demo-password-1"})
    staff.submit(page, {"code": pyotp.TOTP(secret).now()})
    case = staff.get("/staff/accounts/NWB-1001")
    assert "undeliverable: 550 5.1.1 <[address]>: Recipient address rejected" in case.text


def test_two_workers_send_every_message_exactly_once(live, mailbox, stripe_emulator):
    """Two workers as on two machines: two apps (each its own job queue connections)."""
    from portal.extensions import db

    other = make_app(live.config["SQLALCHEMY_DATABASE_URI"], stripe_emulator.url,
                     PORTAL_DEMO=False, SMTP_URL=mailbox.url())
    mailbox.bounce.clear()
    # Alex's address bounced in the test above: the borrower confirms it, or nothing goes.
    _committed(live, _confirm_addresses)
    before = len(mailbox.messages)
    count = 40
    with Worker(live), Worker(other):
        for n in range(count):
            _tell(live, "LUM-1001", _receipt(f"R-TWICE-{n}"))
        arrived = mailbox.wait_for(before + count, timeout=30)[before:]
    ids = [m.message["Message-ID"] for m in arrived]
    assert len(ids) == len(set(ids)) == count
    with live.app_context():
        statuses = db.session.scalars(select(OutgoingMessage.status).where(
            OutgoingMessage.kind == "payment_receipt",
            OutgoingMessage.created_at > datetime.now(UTC) - timedelta(minutes=5))).all()
        db.session.rollback()
    with other.app_context():
        db.engine.dispose()
    assert statuses.count("sent") >= count
