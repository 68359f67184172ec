"""The validation notice on the borrower's account page (issue 14), in a real browser: readable
without JavaScript, fits a phone, and has no serious axe violations."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_sign_in_browser import (
    assert_accessible,
    assert_fits_phone,
    axe_violations,
    new_context,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def signed_in(demo_signed_in):
    return demo_signed_in


def test_the_notice_reads_without_javascript_and_fits_a_phone(browser, live_server, signed_in):
    context = new_context(browser, storage_state=signed_in, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/accounts/NWB-1001")
        notice = page.locator("section.notice")
        expect(notice.get_by_role("heading", name="Your validation notice")).to_be_visible()
        expect(notice.get_by_role("heading", name="How can you dispute the debt?")).to_be_visible()
        expect(notice.locator("tr.notice__total")).to_contain_text("$2,480.19")
        notice.get_by_text("Read the notice").click()  # <details> closes without JavaScript
        expect(notice.get_by_role("heading", name="How can you dispute the debt?")).to_be_hidden()
        assert_fits_phone(page)
    finally:
        context.close()


def test_the_notice_has_no_serious_accessibility_violations(browser, live_server, signed_in):
    context = new_context(browser, storage_state=signed_in, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/accounts/NWB-1001")
        expect(page.locator("section.notice")).to_be_visible()
        assert_accessible({"account page with the validation notice": axe_violations(page)})
    finally:
        context.close()


def test_notices_by_email_agreed_and_withdrawn_without_javascript(browser, live_server,
                                                                   signed_in):
    """The E-SIGN disclosures, a deliberate tick, then withdrawn again (so the shared demo
    borrower is as before); axe on the offer and on the consent in force."""
    context = new_context(browser, storage_state=signed_in, java_script_enabled=False,
                          bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        page.goto(f"{live_server}/contact-preferences/")
        section = page.get_by_role("region", name="Notices by email")
        expect(section).to_contain_text("You can also ask us for a paper copy of any notice")
        expect(section).to_contain_text("notices then come by post only")
        found["preferences: the offer of notices by email"] = axe_violations(page)
        section.get_by_role("button", name="Agree to notices by email").click()
        expect(page.get_by_role("alert")).to_contain_text("Tick the box to agree")
        found["preferences: the tick missed"] = axe_violations(page)

        section = page.get_by_role("region", name="Notices by email")
        section.get_by_label("I have read this and agree to get notices by email at "
                             "a***@e***.com, as well as by post.").check()
        section.get_by_role("button", name="Agree to notices by email").click()
        expect(page.get_by_role("status")).to_contain_text("We will send notices by email")
        section = page.get_by_role("region", name="Notices by email")
        expect(section).to_contain_text("You get our notices by email at a***@e***.com")
        assert_fits_phone(page)
        found["preferences: notices by email in force"] = axe_violations(page)

        section.get_by_role("button", name="Stop sending me notices by email").click()
        expect(page.get_by_role("status")).to_contain_text("Notices come by post only")
        expect(page.get_by_role("region", name="Notices by email").get_by_role(
            "button", name="Agree to notices by email")).to_be_visible()
    finally:
        context.close()
    assert_accessible(found)
