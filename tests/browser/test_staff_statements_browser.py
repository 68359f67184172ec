"""The console's statements pages in a real browser: an admin opens them from the navigation,
adds commission terms to Thames Card Services (a form sent in error first), closes its statement
of last month and opens it as the lender sees it, with its CSV; then the same form works with
JavaScript off. axe finds no serious violation on any page, the forms in error included.
Thames Card Services is a creditor no other browser test closes a statement of."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.agency.models import Agency
from portal.extensions import db
from portal.lenders import remittance
from portal.reconcile.models import ReconciliationRun
from tests.browser.test_disputes_browser import staff_sign_in
from tests.browser.test_sign_in_browser import assert_accessible, axe_violations, new_context

pytestmark = pytest.mark.browser

CREDITOR = "Thames Card Services"


def _reconciled(app, period: str) -> None:
    """The month read from Stripe after it ended (the close gate's condition), unless a run of
    it is there already (another test's, which this leaves as it is)."""
    start, _ = remittance.period_bounds(period)
    with app.app_context():
        agency = db.session.scalar(select(Agency.id).where(Agency.name == "Demo Collections"))
        if db.session.scalar(select(ReconciliationRun.id).where(
                ReconciliationRun.agency_id == agency,
                ReconciliationRun.period == start.date())) is None:
            now = datetime.now(UTC)
            db.session.add(ReconciliationRun(agency_id=agency, period=start.date(),
                                             checked_at=now, changed_at=now))
            db.session.commit()
        db.session.rollback()


def test_an_admin_adds_terms_and_closes_a_statement(browser, live_app, screenshot):
    base_url = live_app.url
    period = remittance.previous_period(remittance.period_of(datetime.now(UTC)))
    _reconciled(live_app.app, period)
    context = new_context(browser, bypass_csp=True, accept_downloads=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        staff_sign_in(page, base_url, live_app.app, "admin@demo.test")
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Statements").click()
        expect(page.locator("h1")).to_have_text("Creditors' statements")
        main = page.locator("main")
        expect(main).to_contain_text("Northwind Bank")
        expect(main).not_to_contain_text("Birchwood")
        found["creditors"] = axe_violations(page)

        page.get_by_role("link", name=CREDITOR).click()
        expect(page.locator("h1")).to_have_text(f"Statements of {CREDITOR}")
        expect(main).to_contain_text(f"Next statement: {period}")
        expect(main).to_contain_text("22% on any account")
        found["creditor"] = axe_violations(page)

        terms = page.locator("form[action$='/terms']")
        terms.evaluate("f => f.noValidate = true")
        terms.get_by_label("Rates, one a line").fill("22 percent")
        terms.get_by_role("button", name="Add the terms").click()
        expect(page.locator("#rates-error")).to_contain_text("Line 1 is not a rate")
        expect(page.get_by_label("Rates, one a line")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#valid_from-error")).to_contain_text("Give the first day")
        found["terms in error"] = axe_violations(page)

        terms = page.locator("form[action$='/terms']")
        terms.get_by_label("In force from").fill("2026-02-01")
        terms.get_by_label("Gross: everything is remitted").check()
        terms.get_by_label("Rates, one a line").fill("2100\nCredit card:365:2650")
        terms.get_by_role("button", name="Add the terms").click()
        expect(page.locator(".alert--success")).to_contain_text(
            "The new terms apply from 2026-02-01")
        table = page.get_by_role("region", name="Commission terms")
        expect(table.locator("tbody tr")).to_have_count(2)
        expect(table.locator("tbody tr").first).to_contain_text("26.5% on Credit card")
        expect(table.locator("tbody tr").nth(1)).to_contain_text("Superseded")
        found["terms added"] = axe_violations(page)

        page.get_by_role("button", name=f"Close the statement of {period}").click()
        expect(page.locator(".alert--success")).to_contain_text(
            f"The statement of {period} is closed")
        closed = page.get_by_role("region", name="Closed statements")
        closed.get_by_role("link", name=period, exact=True).click()
        expect(page.locator("h1")).to_have_text(f"Statement {period}")
        expect(main).to_contain_text(CREDITOR)
        found["closed statement"] = axe_violations(page)
        screenshot(page, "staff-statement-closed")
        with page.expect_download() as csv_download:
            page.get_by_role("link", name="Download CSV").click()
        text = Path(csv_download.value.path()).read_text(encoding="utf-8")
        assert text.startswith("account_ref,currency,collected,")
        assert csv_download.value.suggested_filename == f"remittance-TCS-{period}.csv"
        # Northwind's next statement, drawn up with lines (the demo's payments).
        page.goto(f"{base_url}/staff/statements/NWB")
        expect(page.locator("h1")).to_have_text("Statements of Northwind Bank")
        screenshot(page, "staff-statements-northwind")
    finally:
        context.close()
    assert_accessible(found)


def test_the_terms_form_works_without_javascript(browser, live_app):
    context = new_context(browser, java_script_enabled=False)
    try:
        page = context.new_page()
        staff_sign_in(page, live_app.url, live_app.app, "admin@demo.test")
        page.goto(f"{live_app.url}/staff/statements/JRF")
        expect(page.locator("h1")).to_have_text("Statements of Jade River Consumer Finance")
        terms = page.locator("form[action$='/terms']")
        terms.get_by_label("In force from").fill("2024-06-01")
        terms.get_by_label("Net: the agency keeps").check()
        terms.get_by_label("Rates, one a line").fill("1800")
        terms.get_by_role("button", name="Add the terms").click()
        expect(page.locator("#valid_from-error")).to_contain_text(
            "Terms from 2025-01-01 are on record")
        expect(page.get_by_role("region", name="Commission terms").locator(
            "tbody tr")).to_have_count(1)
    finally:
        context.close()
