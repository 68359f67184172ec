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
