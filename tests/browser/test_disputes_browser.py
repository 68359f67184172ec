"""A borrower inside the validation period disputes a debt in a real browser, on a 360 px phone
screen: collection stops (the dialer's contact-decision API says no) until a member of staff
records verification sent, after which the dialer may call again and the borrower can read the
verification from the dispute's page. The dispute form works without JavaScript too."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, datetime, time, timedelta
from time import sleep
from zoneinfo import ZoneInfo

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.test_sign_in_browser import (
    assert_accessible,
    assert_fits_phone,
    axe_violations,
    new_context,
)
from tests.fixtures.factories import sample_pdf

pytestmark = pytest.mark.browser

ACCOUNT = "NWB-1001"
ALEX_MOBILE = "+12135550147"  # a Los Angeles mobile; Alex lives in New York
DIALER_KEY = "demo-dialer-key"
AGENT = "agent@demo.test"
STAFF_PASSWORD = "demo-password-1"
DISPUTE_URL = re.compile(r"/disputes/(D-\d+)$")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def signed_in(demo_signed_in):
    """DEMO-1001's signed-in browser state, shared with the other browser modules: the demo
    borrower may be sent only five codes an hour, and the sign-in tests ask for three."""
    return demo_signed_in


@pytest.fixture(scope="module")
def evidence_pdf(tmp_path_factory):
    path = tmp_path_factory.mktemp("disputes") / "statement.pdf"
    path.write_bytes(sample_pdf())
    return path


def watched_context(browser: Browser, **options) -> tuple[BrowserContext, list[str]]:
    """A phone-sized context that records console errors (chromium reports CSP violations
    there) and page crashes."""
    context = new_context(browser, **options)
    problems: list[str] = []
    context.on("console", lambda m: m.type == "error" and problems.append(
        f"console: {m.text} ({m.location.get('url')})"))
    context.on("weberror", lambda e: problems.append(f"page error: {e.error}"))
    return context, problems


def convenient_instant() -> str:
    """Tomorrow 15:00 in New York, 12:00 in Los Angeles: a convenient hour at both the
    borrower's address and the mobile's area code, and after anything this test does today."""
    day = datetime.now(NEW_YORK).date() + timedelta(days=1)
    return datetime.combine(day, time(15, 0), NEW_YORK).isoformat()


def decide(base_url: str, at: str) -> dict:
    """The dialer's question for Alex's mobile, over HTTP, as the dialer asks it."""
    body = {"account_ref": ACCOUNT, "channel": "call", "destination": ALEX_MOBILE, "at": at}
    request = urllib.request.Request(
        f"{base_url}/api/v1/contact-decisions", method="POST", data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {DIALER_KEY}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 loopback
        assert response.status == 200
        return json.load(response)


def blocking_rules(answer: dict) -> list[str]:
    return [r["rule"] for r in answer["reasons"] if r["effect"] == "block"]


def open_account(page: Page, base_url: str) -> None:
    """From the accounts list to NWB-1001, which is inside its validation period: the right to
    dispute comes first, with its clock, and paying is the quieter option below it."""
    page.goto(f"{base_url}/accounts/")
    expect(page.locator("h1")).to_have_text("Your accounts")
    page.get_by_role("link", name=f"See the details of {ACCOUNT}").click()
    expect(page).to_have_url(f"{base_url}/accounts/{ACCOUNT}")
    expect(page.locator("h1")).to_contain_text("Northwind Bank")

    right = page.get_by_role("region", name="Your right to dispute")
    expect(right).to_be_visible()
    expect(right.locator(".clock")).to_have_text(
        re.compile(r"^\d+ days? left to dispute — until \w+"))
    dispute = right.get_by_role("link", name="Dispute this debt")
    expect(dispute).to_have_class("button")
    pay = page.get_by_role("link", name="Make a payment")
    expect(pay).to_be_visible()
    expect(pay).to_have_class(re.compile(r"\bbutton--secondary\b"))
    right_box, pay_box = right.bounding_box(), pay.bounding_box()
    assert right_box and pay_box and right_box["y"] < pay_box["y"], "paying comes first"
    assert_fits_phone(page)


def file_dispute(page: Page, base_url: str, pdf, screenshot, label: str) -> str:
    """"Dispute this debt", "This is not my debt", a PDF, send: up to the confirmation page.
    Returns the dispute number."""
    page.get_by_role("region", name="Your right to dispute").get_by_role(
        "link", name="Dispute this debt").click()
    expect(page).to_have_url(f"{base_url}/accounts/{ACCOUNT}/dispute")
    expect(page.locator("h1")).to_have_text("Dispute this debt")
    reasons = page.get_by_role("group", name="What is wrong?")
    reasons.get_by_label("This is not my debt").check()
    page.get_by_label("Proof (optional)").set_input_files(pdf)
    assert_fits_phone(page)
    screenshot(page, f"dispute-form-360-{label}")
    page.get_by_role("button", name="Send my dispute").click()

    expect(page).to_have_url(DISPUTE_URL)
    number = DISPUTE_URL.search(page.url).group(1)
    expect(page.locator("h1")).to_have_text(f"Your dispute {number}")
    expect(page.get_by_role("status")).to_contain_text(f"We received your dispute {number}.")
    facts = page.locator("main dl.facts")
    expect(facts).to_contain_text(number)
    expect(facts).to_contain_text("The whole debt")
    paused = page.get_by_role("region", name="What's paused and why")
    expect(paused).to_contain_text("All contact about collecting the debt")
    expect(paused).to_contain_text("We have paused collection until we send you proof")
    expect(page.get_by_role("heading", name="What happens next")).to_be_visible()
    expect(page.locator("main")).to_contain_text("send you verification (proof of the debt)")
    assert_fits_phone(page)
    screenshot(page, f"dispute-confirmation-360-{label}")
    return number


def staff_sign_in(page: Page, base_url: str, app, email: str, landing: str = "Disputes") -> None:
    """Password, then a code from the demo user's authenticator (its secret is the one the seed
    gave it, in the live app's database): the current step's, or the next one's when another
    test signed this user in within the step (each step signs in once)."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.identity.models import StaffUser

    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        totp = pyotp.TOTP(user.totp_secret)
        step = max(totp.timecode(datetime.now(UTC)), user.last_totp_step + 1)
        code = totp.generate_otp(step)
        db.session.rollback()
    # The server takes a step at most one ahead of its clock: when this user signed in three
    # times within a step, wait for the clock to reach the one this code is one ahead of (at
    # most one step, 30 s), as a person would wait for the next code.
    while totp.timecode(datetime.now(UTC)) + 1 < step:
        sleep(totp.interval - datetime.now(UTC).timestamp() % totp.interval + 0.05)
    page.goto(f"{base_url}/staff/sign-in")
    expect(page.locator("h1")).to_have_text("Staff sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("h1")).to_have_text("Two-step verification")
    page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=landing)).to_be_visible()


def test_dispute_without_javascript_then_withdraw(browser, live_server, signed_in,
                                                   evidence_pdf, screenshot):
    """The form is a plain multipart POST: it works with JavaScript off. Withdrawn at the end,
    so the account is as it was for the test below."""
    context, problems = watched_context(browser, storage_state=signed_in,
                                        java_script_enabled=False)
    page = context.new_page()
    try:
        open_account(page, live_server)
        number = file_dispute(page, live_server, evidence_pdf, screenshot, "no-js")
        page.get_by_role("button", name="Withdraw this dispute").click()
        expect(page).to_have_url(f"{live_server}/disputes/{number}")
        expect(page.get_by_role("status")).to_contain_text("You withdrew your dispute.")
        expect(page.get_by_role("region", name="What's paused and why")).to_contain_text(
            "Nothing is paused.")
    finally:
        context.close()
    assert problems == [], "\n".join(problems)


def test_dispute_pauses_calls_until_staff_send_verification(browser, live_app, signed_in,
                                                            evidence_pdf, screenshot):
    base_url = live_app.url
    at = convenient_instant()
    before = decide(base_url, at)
    assert before["allowed"] is True, before  # a convenient hour: only a dispute stops it

    # 1. The borrower disputes the debt.
    borrower, problems = watched_context(browser, storage_state=signed_in)
    page = borrower.new_page()
    try:
        open_account(page, base_url)
        number = file_dispute(page, base_url, evidence_pdf, screenshot, "js")
    finally:
        borrower.close()

    # 2. The dialer may not call: collection has stopped until verification is sent.
    paused = decide(base_url, at)
    assert paused["allowed"] is False, paused
    assert "us.dispute-pending-verification" in blocking_rules(paused), paused

    # 3. Staff record verification sent, with the document, in the portal.
    staff, staff_problems = watched_context(browser)
    page = staff.new_page()
    try:
        staff_sign_in(page, base_url, live_app.app, AGENT)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Disputes").click()
        expect(page).to_have_url(f"{base_url}/staff/disputes")
        expect(page.locator("h1")).to_have_text("Disputes")
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=number))
        expect(row).to_contain_text(ACCOUNT)
        expect(row).to_contain_text("Received")
        expect(row).to_contain_text("Inside")
        screenshot(page, "staff-disputes-queue-360")
        row.get_by_role("link", name=number).click()

        expect(page).to_have_url(f"{base_url}/staff/disputes/{number}")
        expect(page.locator("h1")).to_contain_text(number)
        expect(page.locator("main dl.facts").first).to_contain_text("This is not my debt")
        screenshot(page, "staff-dispute-360")
        page.get_by_label("Verification document (PDF or image)").set_input_files(evidence_pdf)
        page.get_by_label("In the portal, with an email to the borrower").check()
        page.get_by_role("button", name="Record verification sent").click()
        expect(page.get_by_role("status")).to_contain_text("Saved.")
        expect(page).to_have_url(f"{base_url}/staff/disputes/{number}")
        expect(page.locator("main dl.facts").first).to_contain_text("Verification sent")
        screenshot(page, "staff-dispute-verified-360")
    finally:
        staff.close()

    allowed = decide(base_url, at)
    assert allowed["allowed"] is True, allowed
    assert "us.dispute-pending-verification" not in [r["rule"] for r in allowed["reasons"]]

    # 4. The borrower reads the verification on the dispute's page.
    borrower, later_problems = watched_context(browser, storage_state=signed_in)
    page = borrower.new_page()
    try:
        page.goto(f"{base_url}/disputes/{number}")
        step = page.locator("ol.steps > li").filter(has_text="Verification sent")
        expect(step).to_have_class("steps__done")
        link = step.get_by_role("link", name=re.compile(r"^Read the verification"))
        expect(link).to_be_visible()
        download = page.request.get(f"{base_url}{link.get_attribute('href')}")
        assert download.ok, download.status
        assert download.headers["content-type"] == "application/pdf"
        assert download.body().startswith(b"%PDF-")
        expect(page.locator("main")).to_contain_text("We sent you verification of the debt.")
        assert_fits_phone(page)
        screenshot(page, "dispute-verification-sent-360")
    finally:
        borrower.close()
    problems += staff_problems + later_problems
    assert problems == [], "\n".join(problems)


def test_dispute_pages_have_no_serious_accessibility_violations(browser, live_server, signed_in,
                                                                evidence_pdf):
    # As in the sign-in module: only this context bypasses our CSP, to inject axe.
    context = new_context(browser, storage_state=signed_in, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        page.goto(f"{live_server}/accounts/{ACCOUNT}/dispute")
        expect(page.locator("h1")).to_have_text("Dispute this debt")
        found["dispute form"] = axe_violations(page)
        page.get_by_role("button", name="Send my dispute").click()  # no reason ticked
        expect(page.get_by_role("alert")).to_contain_text("Choose at least one reason.")
        found["dispute form, no reason"] = axe_violations(page)
        page.get_by_label("This is not my debt").check()
        page.get_by_label("Proof (optional)").set_input_files(evidence_pdf)
        page.get_by_role("button", name="Send my dispute").click()
        expect(page).to_have_url(DISPUTE_URL)
        found["dispute confirmation"] = axe_violations(page)
        page.get_by_role("button", name="Withdraw this dispute").click()
        expect(page.get_by_role("status")).to_contain_text("You withdrew your dispute.")
    finally:
        context.close()
    assert_accessible(found)


@pytest.fixture
def fresh_limits():
    """The dispute limits counted from nothing, and left so for the tests after this one (the
    test apps' own counters only: conftest.make_app)."""
    from limits.storage import MemoryStorage

    from portal.extensions import limiter
    from tests.conftest import TEST_LIMITS

    def reset():
        storage = limiter.storage
        assert isinstance(storage, MemoryStorage) or storage.key_prefix.startswith(TEST_LIMITS)
        limiter.reset()

    reset()
    yield
    reset()


def test_the_wait_page_past_the_dispute_limit_is_accessible(browser, live_server, signed_in,
                                                             fresh_limits):
    """Ten posts of the dispute form (each refused: no reason ticked), then the eleventh gets the
    429 page: it says nothing was saved, fits a phone and has no serious axe violation."""
    from portal.disputes.views import DISPUTE_POST_LIMIT

    context = new_context(browser, storage_state=signed_in, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/accounts/{ACCOUNT}/dispute")
        for _ in range(int(DISPUTE_POST_LIMIT.split()[0])):
            page.get_by_role("button", name="Send my dispute").click()
            expect(page.get_by_role("alert")).to_contain_text("Choose at least one reason.")
        page.get_by_label("This is not my debt").check()
        page.get_by_role("button", name="Send my dispute").click()
        expect(page.locator("h1")).to_have_text("Please wait")
        expect(page.get_by_role("alert")).to_contain_text("we did not save this one")
        assert_fits_phone(page)
        found = {"dispute limit reached": axe_violations(page)}
    finally:
        context.close()
    assert_accessible(found)
