"""The console's placement import in a real browser: a supervisor uploads a file with one bad
row (the page names its row and field), fixes it, imports it, and watches the real job worker
finish it through the htmx-polled progress; axe checks every page on the way."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.placements.tasks import QUEUE
from tests.browser.conftest import JobWorker
from tests.browser.test_disputes_browser import staff_sign_in
from tests.browser.test_sign_in_browser import assert_accessible, axe_violations, new_context
from tests.test_console_imports import BAD, GOOD, HEADER, SECOND

pytestmark = pytest.mark.browser

SUPERVISOR = "supervisor@demo.test"


def _file(*rows: str) -> dict:
    body = ("\n".join((HEADER, *rows)) + "\n").encode()
    return {"name": "northwind-placements.csv", "mimeType": "text/csv", "buffer": body}


def _preview(page, base_url: str, rows: tuple[str, ...]) -> None:
    page.goto(f"{base_url}/staff/imports")
    page.get_by_label("Creditor").select_option(label="Northwind Bank")
    page.get_by_label("Placement file (CSV)").set_input_files(_file(*rows))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("h1")).to_have_text("Preview of northwind-placements.csv")


def test_a_supervisor_fixes_a_bad_row_and_imports_the_file(browser, live_app, screenshot):
    base_url = live_app.url
    # Our CSP rightly refuses the injected axe script, so this context alone bypasses it.
    context = new_context(browser, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    worker = JobWorker(live_app.app, [QUEUE])
    worker.start()
    try:
        staff_sign_in(page, base_url, live_app.app, SUPERVISOR)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
        expect(page.get_by_role("heading", name="Import a placement file")).to_be_visible()
        found["imports"] = axe_violations(page)

        _preview(page, base_url, (GOOD, BAD))
        problems = page.get_by_role("alert")
        expect(problems).to_contain_text("Row 3, date_of_birth: not a calendar date")
        expect(problems).to_contain_text("Nothing was imported.")
        expect(page.get_by_role("button", name="Confirm and import")).to_have_count(0)
        screenshot(page, "imports-preview-bad-row")
        found["preview with a bad row"] = axe_violations(page)

        _preview(page, base_url, (GOOD, SECOND))
        expect(page.get_by_role("status").filter(has_text="Every row can be read")).to_be_visible()
        expect(page.locator("table.preview")).to_contain_text("Okafor")
        expect(page.locator("table.preview")).not_to_contain_text("1983-10-21")
        found["preview, every row good"] = axe_violations(page)
        page.get_by_role("button", name="Confirm and import 2 rows").click()

        expect(page.locator("h1")).to_have_text("Import 1")
        # The worker places it; htmx polls the progress fragment until it says so.
        expect(page.locator("#import-progress h2")).to_have_text("State: Done", timeout=30_000)
        expect(page.locator("#import-progress")).to_contain_text("2 of 2 rows placed")
        expect(page.locator("#import-progress")).not_to_have_attribute("hx-trigger", "every 1s")
        expect(page.locator("ul.references li")).to_have_count(2)
        expect(page.get_by_role("link", name="Download the report (CSV)")).to_be_visible()
        expect(page.get_by_role("button", name="Undo this import")).to_be_visible()
        screenshot(page, "imports-done")
        found["import done"] = axe_violations(page)

        page.get_by_role("link", name="All imports").click()
        expect(page.locator("table")).to_contain_text("northwind-placements.csv")
        found["imports with one done"] = axe_violations(page)
    finally:
        context.close()
        worker.stop()
    assert_accessible(found)
