"""A supervisor opens the dashboard: charts with their names, the numbers one click away, a
period chosen without JavaScript, a chart downloaded as CSV; axe finds nothing serious."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_disputes_browser import staff_sign_in
from tests.browser.test_sign_in_browser import (
    assert_accessible,
    assert_fits_phone,
    axe_violations,
    new_context,
)

pytestmark = pytest.mark.browser


def test_a_supervisor_reads_the_dashboard(browser, live_server, live_app):
    found = {}
    context = new_context(browser, bypass_csp=True)  # axe is injected inline
    try:
        page = context.new_page()
        staff_sign_in(page, live_server, live_app.app, "supervisor@demo.test")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
        expect(page.locator("h1")).to_have_text("Dashboard")
        expect(page.get_by_role("img", name="Plans kept and broken per day")).to_be_visible()
        expect(page.get_by_role("img", name="Contact attempts and violations by channel")
               ).to_be_visible()
        # The numbers, one click away.
        numbers = page.locator("#attempts details")
        expect(numbers.get_by_role("table")).to_be_hidden()
        numbers.locator("summary").click()
        expect(numbers.get_by_role("table")).to_be_visible()
        expect(numbers.get_by_role("columnheader", name="Violations")).to_be_visible()
        found["dashboard"] = axe_violations(page)
        assert_fits_phone(page)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download “Plans kept and broken” as CSV").click()
        with open(download.value.path(), encoding="utf-8") as downloaded:
            assert downloaded.readline().strip() == "period_start,kept,broken"
    finally:
        context.close()

    plain = new_context(browser, java_script_enabled=False)
    try:
        page = plain.new_page()
        staff_sign_in(page, live_server, live_app.app, "supervisor@demo.test")
        page.goto(f"{live_server}/staff/dashboard")
        page.get_by_label("From", exact=True).fill("2026-01-05")
        page.get_by_label("To", exact=True).fill("2026-02-01")
        page.get_by_label("Show", exact=True).select_option("week")
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_role("img", name="Plans kept and broken per week")).to_be_visible()
        expect(page.get_by_text("January 5, 2026")).to_be_visible()
        # Four weeks from Monday 5 January: four groups in the table.
        expect(page.locator("#plans tbody tr")).to_have_count(4)
    finally:
        plain.close()
    assert_accessible(found)
