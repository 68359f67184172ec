"""Browser tests: the real app served over HTTP on its own database, driven by Debian's chromium.

Never `playwright install`: these tests use the system browser at /usr/bin/chromium
(`apt-get install -y chromium`), which `.ci/run` installs when it is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from portal.jobs.queue import job_app
from portal.payments.tasks import EVENTS_QUEUE
from tests.conftest import ROOT, drop_database, fresh_database, make_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
#: Set to a folder to keep screenshots of the pages the tests visit (for a human to look at).
SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOTS")


class _ClientAddress:
    """Give the browser a client address of this run's own, as the test client does: the
    sign-in rate limits are per address and, with REDIS_URL set, outlive the test run."""

    def __init__(self, app, address: str):
        self.app = app
        self.address = address

    def __call__(self, environ, start_response):
        environ["REMOTE_ADDR"] = self.address
        return self.app(environ, start_response)


@dataclass(frozen=True)
class LiveApp:
    url: str
    app: Flask


@contextlib.contextmanager
def serve_demo(server_url: str, name: str, stripe_url: str):
    """The app on database `name`, migrated and seeded with the demo data, served over HTTP from
    a thread. Yields a LiveApp; the database is dropped afterwards, even when setting up failed."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from portal.demo.cli import seed
    from portal.extensions import db

    app = make_app(fresh_database(server_url, name), stripe_url)
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        with app.app_context():
            seed()
        address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        app.wsgi_app = _ClientAddress(app.wsgi_app, address)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        try:
            yield LiveApp(f"http://127.0.0.1:{server.server_port}", app)
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
    finally:
        with app.app_context():
            db.engine.dispose()
        drop_database(server_url, name)


@pytest.fixture(scope="session")
def live_app(server_url, worker, stripe_emulator):
    """The app on a database of its own, with this worker's localstripe as its Stripe."""
    with serve_demo(server_url, f"portal_browser_{worker}", stripe_emulator.url) as live:
        yield live


@pytest.fixture(scope="session")
def live_server(live_app):
    """The live app's base URL."""
    return live_app.url


class JobWorker:
    """procrastinate's own worker (as `flask --app portal worker` runs it) in a thread of this
    process, on the live app's database, for the queue that applies Stripe's events: the webhook
    endpoint only keeps them, and this is what applies them, woken by the job the endpoint defers
    (or by the periodic sweep)."""

    def __init__(self, app: Flask, queues: list[str]):
        self.app = app
        self.queues = queues
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task | None = None
        self.thread = threading.Thread(target=self._run, name="job-worker", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._work())
        except BaseException as error:  # reported by `stop`, in the test's thread
            self.error = error
        finally:
            self.ready.set()

    async def _work(self) -> None:
        jobs = job_app(self.app)
        async with jobs.open_async():
            self.loop = asyncio.get_running_loop()
            self.task = asyncio.create_task(jobs.run_worker_async(
                queues=self.queues, install_signal_handlers=False, shutdown_graceful_timeout=5))
            self.ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def start(self) -> None:
        self.thread.start()
        assert self.ready.wait(30), "the job worker did not start"
        if self.error:
            raise self.error

    def stop(self) -> None:
        if self.loop is not None and self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the job worker did not stop"
        if self.error:
            raise self.error


@pytest.fixture
def stripe_webhook(live_app, stripe_emulator):
    """localstripe's webhook pointed at the live server for this test, a job worker applying
    what it receives, and both stopped afterwards.

    Only for the test: this worker's localstripe is its own, but the worker also runs the other
    tests, whose real PaymentIntents make localstripe send events too. Sent to the live server
    while such a test holds the shared database session open, they would be handled, in the
    server's thread, on that test's connection (and so would the job worker's jobs, which is why
    it runs only for this test, too). localstripe keeps webhooks in memory and can not delete
    one, so muting re-registers the hook with an empty list of events."""
    from portal.payments.emulator import HOOK_ID, register_webhook

    url = f"{live_app.url}/payments/stripe/webhook"
    secret = live_app.app.config["STRIPE_WEBHOOK_SECRET"]
    worker = JobWorker(live_app.app, [EVENTS_QUEUE])
    worker.start()
    register_webhook(stripe_emulator.url, url, secret)
    try:
        yield url
    finally:
        worker.stop()
        mute = urllib.request.Request(
            f"{stripe_emulator.url}/_config/webhooks/{HOOK_ID}", method="POST",
            data=json.dumps({"url": url, "secret": secret, "events": []}).encode())
        with urllib.request.urlopen(mute, timeout=5):  # noqa: S310 loopback
            pass


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, shared by the session's tests (each test opens contexts)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y "
                    "chromium); never `playwright install`")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="session")
def demo_signed_in(browser, live_server):
    """DEMO-1001's signed-in browser state (Playwright's storage state), signed in once through
    the sign-in pages for every module that needs the demo borrower signed in: the borrower may
    be sent only five codes an hour, and the sign-in tests ask for three of them. A context made
    from it must never sign out (that would end the session every module shares)."""
    from tests.browser.test_sign_in_browser import new_context, sign_in

    context = new_context(browser)
    try:
        page = context.new_page()
        sign_in(page, live_server, "DEMO-1001", "1985-04-12", "alex@example.com")
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def screenshot():
    """`screenshot(page, name)`: a full-page PNG in $PORTAL_SCREENSHOTS, when that is set."""

    def take(page, name: str) -> None:
        if SCREENSHOTS:
            folder = Path(SCREENSHOTS)
            folder.mkdir(parents=True, exist_ok=True)
            safe = re.sub(r"[^\w.-]+", "-", name)
            # caret="initial": hiding the caret (the default) leaves an empty `style` on every
            # input, which htmx then copies in its next swap, and our CSP reports that.
            page.screenshot(path=str(folder / f"{safe}.png"), full_page=True, caret="initial")

    return take
