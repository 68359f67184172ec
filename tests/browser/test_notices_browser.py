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
    sign_in,
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


AGREE_LABEL = ("I have read this and agree to get notices by email at a***@e***.com, as well "
               "as by post.")


def _notices_section(page):
    return page.get_by_role("region", name="Notices by email")


def _agree_then_withdraw(page, base_url: str, check=lambda name: None) -> None:
    """The offer, a missed tick, the tick, the consent in force, then withdrawn again (so the
    shared demo borrower is as before); `check(name)` runs at each state."""
    page.goto(f"{base_url}/contact-preferences/")
    section = _notices_section(page)
    expect(section).to_contain_text("You can also ask us for a paper copy of any notice")
    expect(section).to_contain_text("notices then come by post only")
    check("preferences: the offer of notices by email")
    section.get_by_role("button", name="Agree to notices by email").click()
    expect(_notices_section(page).locator(".error")).to_contain_text("Tick the box to agree")
    check("preferences: the tick missed")

    section = _notices_section(page)
    section.get_by_label(AGREE_LABEL).check()
    section.get_by_role("button", name="Agree to notices by email").click()
    expect(page.get_by_role("status")).to_contain_text("We will send notices by email")
    section = _notices_section(page)
    expect(section).to_contain_text("You get our notices by email at a***@e***.com")
    assert_fits_phone(page)
    check("preferences: notices by email in force")

    section.get_by_role("button", name="Stop sending me notices by email").click()
    expect(page.get_by_role("status")).to_contain_text("Notices come by post only")
    expect(_notices_section(page).get_by_role("button", name="Agree to notices by email")) \
        .to_be_visible()


def test_notices_by_email_agreed_and_withdrawn_without_javascript(browser, live_server,
                                                                   signed_in):
    context = new_context(browser, storage_state=signed_in, java_script_enabled=False)
    try:
        _agree_then_withdraw(context.new_page(), live_server)
    finally:
        context.close()


def test_notices_by_email_have_no_serious_accessibility_violations(browser, live_server,
                                                                    signed_in):
    context = new_context(browser, storage_state=signed_in, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        _agree_then_withdraw(page, live_server,
                             lambda name: found.__setitem__(name, axe_violations(page)))
    finally:
        context.close()
    assert_accessible(found)


def test_the_uk_first_letter_on_the_account_page_reads_and_passes_axe(browser, live_server):
    """Oliver Bennett (London) reads the first letter the seed records as sent to him."""
    context = new_context(browser, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, live_server, "DEMO-3001", "1978-01-23", "oliver@example.com")
        page.goto(f"{live_server}/accounts/TCS-3001")
        notice = page.locator("section.notice")
        expect(notice.get_by_role("heading", name="Our first letter to you")).to_be_visible()
        expect(notice.get_by_role("heading", name="Free debt advice")).to_be_visible()
        expect(notice.locator("tr.notice__total")).to_contain_text("£1,150.00")
        assert_fits_phone(page)
        assert_accessible({"UK account page with its first letter": axe_violations(page)})
    finally:
        context.close()
