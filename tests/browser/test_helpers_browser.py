"""A borrower gives a debt adviser access, the adviser signs in with the code emailed to them,
sees whom they help and disputes the debt for the borrower; the borrower reads the adviser's
action in the account's history, takes the access back, and the adviser is refused. axe checks
each page on the way, on a 360 px phone screen."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.test_sign_in_browser import (
    assert_accessible,
    assert_fits_phone,
    axe_violations,
    latest_code,
    new_context,
    sign_in,
)

pytestmark = pytest.mark.browser

#: Jordan Park's account (Harbor Recovery): no other browser test touches it.
BORROWER = ("DEMO-4001", "1988-11-05", "jordan@example.com")
ACCOUNT = "BRC-4001"


def test_a_helper_disputes_for_the_borrower_until_access_is_taken_back(browser, live_server,
                                                                       screenshot):
    base = live_server
    found: dict[str, list] = {}
    helper_email = f"sam-{uuid.uuid4().hex[:8]}@advice.example"
    # Our CSP rightly refuses the injected axe script, so these contexts bypass it.
    borrower_context = new_context(browser, bypass_csp=True)
    helper_context = new_context(browser, bypass_csp=True)
    try:
        borrower = borrower_context.new_page()
        sign_in(borrower, base, *BORROWER)
        borrower.get_by_role("link", name="Someone helping you").click()
        expect(borrower.locator("h1")).to_have_text("Someone helping you")
        found["helpers"] = axe_violations(borrower)
        borrower.get_by_role("button", name="Give access").click()  # empty: errors by fields
        expect(borrower.locator("#form-errors, .field--error").first).to_be_visible()
        found["helpers, in error"] = axe_violations(borrower)
        borrower.get_by_label("Their name").fill("Sam Adviser")
        borrower.get_by_label("Their email address").fill(helper_email)
        borrower.get_by_label("A debt adviser").check()
        borrower.get_by_label("See and act for me: pay, propose a plan, dispute").check()
        borrower.get_by_label("Which accounts").select_option(ACCOUNT)
        until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
        borrower.get_by_label("Until (the last day of their access)").fill(until)
        borrower.get_by_role("button", name="Give access").click()
        expect(borrower.get_by_text("Sam Adviser can now sign in to help you")).to_be_visible()
        screenshot(borrower, "helpers-granted")

        helper = helper_context.new_page()
        helper.goto(f"{base}/helper/sign-in")
        expect(helper.locator("h1")).to_have_text("Sign in to help someone")
        found["helper sign-in"] = axe_violations(helper)
        helper.get_by_label("Your email address").fill(helper_email)
        helper.get_by_role("button", name="Send me a code").click()
        expect(helper.locator("h1")).to_have_text("Enter your code")
        found["helper code"] = axe_violations(helper)
        helper.get_by_label("Six-digit code").fill(latest_code(helper_context, base, helper_email))
        helper.get_by_role("button", name="Sign in").click()
        expect(helper.locator("h1")).to_have_text("Whom you help")
        expect(helper.get_by_text("You are helping Jordan Park")).to_be_visible()
        found["whom you help"] = axe_violations(helper)
        assert_fits_phone(helper)

        helper.goto(f"{base}/accounts/{ACCOUNT}/dispute")
        found["dispute, as helper"] = axe_violations(helper)
        helper.get_by_label("I already paid it").check()
        helper.get_by_role("button", name="Send my dispute").click()
        expect(helper).to_have_url(re.compile(r"/disputes/D-\d+$"))
        number = helper.url.rsplit("/", 1)[1]

        borrower.goto(f"{base}/accounts/{ACCOUNT}")
        expect(borrower.get_by_text(
            f"Sam Adviser, helping you, disputed this debt (dispute {number})")).to_be_visible()
        found["account, with the helper's action"] = axe_violations(borrower)

        borrower.goto(f"{base}/helpers/")
        borrower.get_by_role("button", name="Take back Sam Adviser's access").click()
        expect(borrower.get_by_text("Their access has ended.")).to_be_visible()

        helper.goto(f"{base}/accounts/{ACCOUNT}")
        expect(helper.locator("h1")).not_to_have_text("Your accounts")
        assert "/accounts/" not in helper.url.split("?")[0], helper.url
    finally:
        borrower_context.close()
        helper_context.close()
    assert_accessible(found)
