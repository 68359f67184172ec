"""An admin invites a colleague, who opens the link from /dev/messages without JavaScript, sets a
password, enrols TOTP from the secret shown and signs in; the administration pages pass axe."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.test_disputes_browser import staff_sign_in
from tests.browser.test_sign_in_browser import assert_accessible, axe_violations, new_context

pytestmark = pytest.mark.browser

PASSWORD = "a long enough passphrase"


def test_an_admin_invites_a_colleague_who_signs_in_with_totp(browser, live_server, live_app,
                                                              monkeypatch):
    # Links in emails point at PUBLIC_URL: here, this test's server.
    monkeypatch.setitem(live_app.app.config, "PUBLIC_URL", live_server)
    email = f"colleague-{uuid.uuid4().hex[:8]}@demo.test"
    found = {}
    admin = new_context(browser, bypass_csp=True)  # axe is injected inline
    try:
        page = admin.new_page()
        staff_sign_in(page, live_server, live_app.app, "admin@demo.test")
        nav = page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="Staff", exact=True).click()
        expect(page.locator("h1")).to_have_text("Staff")
        found["staff"] = axe_violations(page)
        page.get_by_label("Name").fill("Casey Colleague")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Supervisor").check()
        page.get_by_role("button", name="Send the invitation").click()
        expect(page.get_by_text(f"Invitation sent to {email}")).to_be_visible()
        page.get_by_role("link", name="Casey Colleague").click()
        expect(page.locator("h1")).to_have_text("Casey Colleague")
        found["colleague"] = axe_violations(page)

        page.goto(f"{live_server}/staff/admin/audit")
        expect(page.locator("tbody tr").first).to_contain_text("Invited")
        found["audit log"] = axe_violations(page)
        page.goto(f"{live_server}/staff/admin/plan-policy")
        expect(page.locator("h1")).to_have_text("Plan policy")
        found["plan policy"] = axe_violations(page)

        messages = admin.new_page()
        messages.goto(f"{live_server}/dev/messages")
        body = messages.locator(".message__body").first.inner_text()
        link = re.search(r"http://\S+/staff/welcome/[A-Za-z0-9_-]+", body).group(0)
    finally:
        admin.close()

    colleague = new_context(browser, java_script_enabled=False)
    try:
        page = colleague.new_page()
        page.goto(link)
        expect(page.locator("h1")).to_have_text("Set up your staff account")
        found["set up"] = axe_violations_without_js(page)
        secret = page.locator("#totp-secret").inner_text()
        assert page.locator("figure.qr svg").count() == 1
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("The same password again").fill(PASSWORD)
        page.get_by_label("The 6-digit code your authenticator shows").fill(
            pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Finish").click()
        expect(page.locator("h1")).to_have_text("Staff sign-in")
        expect(page.get_by_text("All set.")).to_be_visible()

        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("h1")).to_have_text("Two-step verification")
        # The enrolment's code is spent: the authenticator's next one signs in.
        later = datetime.now(UTC) + timedelta(seconds=30)
        page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).at(later))
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("h1")).to_have_text("Accounts")
        expect(page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Plan policy")).to_be_visible()  # a supervisor's page
    finally:
        colleague.close()
    assert_accessible(found)


def axe_violations_without_js(page) -> list[dict]:
    """axe needs JavaScript: check the same page in a context that has it."""
    context = page.context.browser.new_context(bypass_csp=True)
    try:
        checked = context.new_page()
        checked.goto(page.url)
        return axe_violations(checked)
    finally:
        context.close()
