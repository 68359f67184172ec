"""Issue 15's queues in a real browser, checked with axe: an agent opens the queues from the
staff navigation, sorts the disputes queue (htmx swaps the table and the address follows), and
filters the contact the rules would have blocked by who reported it; then the same filter and
paging work with JavaScript off (plain GET forms and links)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.test_disputes_browser import staff_sign_in
from tests.browser.test_sign_in_browser import assert_accessible, axe_violations, new_context

pytestmark = pytest.mark.browser

#: An account no other browser test writes contact attempts on.
CASE = "LUM-1001"


def test_an_agent_works_the_queues(browser, live_app):
    base_url = live_app.url
    context = new_context(browser, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        answer = context.request.post(
            f"{base_url}/api/v1/contact-attempts",
            data={"account_ref": CASE, "channel": "call", "outcome": "no_answer",
                  "destination": "+12135550147",
                  # 03:00 yesterday in New York: inconvenient hours, so it is flagged.
                  "at": (datetime.now(ZoneInfo("America/New_York")) - timedelta(days=1))
                  .replace(hour=3, minute=0, second=0, microsecond=0).isoformat()},
            headers={"Authorization": "Bearer demo-dialer-key"})
        assert answer.ok and answer.json()["violation"] is True, answer.text()

        staff_sign_in(page, base_url, live_app.app, "agent@demo.test")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Queues").click()
        expect(page.locator("h1")).to_have_text("Queues")
        index = page.get_by_role("table")
        for title in ("Plans to review", "Hardship requests", "Disputes",
                      "Contact the rules would have blocked", "Holds ending this week",
                      "Chargebacks", "Bounced messages", "Imports waiting"):
            expect(index.get_by_role("link", name=title, exact=True)).to_be_visible()
        found["queue index"] = axe_violations(page)

        index.get_by_role("link", name="Disputes", exact=True).click()
        expect(page).to_have_url(f"{base_url}/staff/disputes")
        expect(page.locator("#queue-table-heading")).to_contain_text("Page 1 of")
        page.locator("#queue-table thead").get_by_role("link", name="Status").click()
        expect(page).to_have_url(f"{base_url}/staff/disputes?sort=status")
        expect(page.locator('#queue-table th[aria-sort="ascending"]')).to_contain_text("Status")
        found["disputes queue, sorted by status"] = axe_violations(page)

        page.goto(f"{base_url}/staff/queues/contact-violations")
        expect(page.locator("h1")).to_have_text("Contact the rules would have blocked")
        page.get_by_label("Reported by", exact=True).select_option("partner")
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(r"who=partner"))  # htmx pushed the filter
        row = page.locator("#queue-table tbody tr").filter(has=page.get_by_role("link",
                                                                                  name=CASE))
        expect(row.first).to_contain_text("Demo dialer")
        expect(row.first).to_contain_text("us.inconvenient-hours")
        found["blocked contact, partners only"] = axe_violations(page)
        row.first.get_by_role("link", name=CASE).click()
        expect(page).to_have_url(f"{base_url}/staff/accounts/{CASE}")
        signed_in = context.storage_state()
    finally:
        context.close()
    assert_accessible(found)

    # Without JavaScript: the filter is a plain GET form, the sort a plain link.
    context = new_context(browser, bypass_csp=True, java_script_enabled=False,
                          storage_state=signed_in)
    page = context.new_page()
    try:
        page.goto(f"{base_url}/staff/queues/contact-violations")
        page.get_by_label("Reported by", exact=True).select_option("agent")
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(r"who=agent"))
        expect(page.locator("#queue-table tbody")).not_to_contain_text("Demo dialer")
        page.locator("#queue-table thead").get_by_role("link", name="When").click()
        expect(page).to_have_url(re.compile(r"sort=at&.*who=agent|who=agent.*sort=at&|who=agent.*sort=at$"))
    finally:
        context.close()
