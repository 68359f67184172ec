"""The lender's journey in a real browser: sign in with password and TOTP, land on the portfolio
(Northwind's accounts only), open an account, open the statements, download a statement as CSV
and PDF, and see the direct payments form; axe finds no serious violation on any page. The
statement's money is on an account placed for this test, so the other modules' demo accounts
are as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.accounts.models import Borrower, Creditor
from portal.accounts.placement import Debt, place
from portal.cases.service import Actor
from portal.demo import stripe_month
from portal.demo.remittances import paid_by_card
from portal.extensions import db
from portal.lenders import remittance, statements
from portal.lenders.models import RemittanceStatement
from portal.money import Money
from tests.browser.test_disputes_browser import staff_sign_in
from tests.browser.test_sign_in_browser import assert_accessible, axe_violations, new_context

pytestmark = pytest.mark.browser

REFERENCE = "NWB-3902"


def _statement(app) -> str:
    """Northwind's statement of last month, holding a card payment of 120.00 on an account of
    Oliver Bennett's placed for this test; returns its period."""
    period = remittance.previous_period(remittance.period_of(datetime.now(UTC)))
    with app.app_context():
        creditor = db.session.scalar(select(Creditor).where(Creditor.code == "NWB"))
        if db.session.scalar(select(RemittanceStatement.id).where(
                RemittanceStatement.creditor_id == creditor.id,
                RemittanceStatement.period == period)) is None:
            oliver = db.session.scalar(select(Borrower).where(Borrower.reference == "DEMO-3001"))
            usd = Money.parse("500.00", "USD")
            place(creditor, oliver, Debt(REFERENCE, "Credit card", "NW-BROWSER-3902", usd,
                                         Money.zero("USD"), Money.zero("USD"), Money.zero("USD"),
                                         itemization_date=datetime.now(UTC).date()),
                  Actor.system("browser-test"))
            start, _ = remittance.period_bounds(period)
            paid_by_card(REFERENCE, 12_000, start + timedelta(days=3), "browser-3902")
            stripe_month.reconcile(creditor.agency_id, period, datetime.now(UTC))
            db.session.commit()
            statements.close_statement("NWB", period, "browser-test")
        db.session.rollback()
    return period


def test_the_lenders_journey(browser, live_app):
    base_url = live_app.url
    period = _statement(live_app.app)
    context = new_context(browser, bypass_csp=True, accept_downloads=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        staff_sign_in(page, base_url, live_app.app, "lender@northwind.test", landing="Portfolio")
        expect(page.locator("h1")).to_have_text("Portfolio")
        main = page.locator("main")
        expect(main).to_contain_text(REFERENCE)
        expect(main).to_contain_text("NWB-1001")
        expect(main).not_to_contain_text("LUM-1001")
        expect(main).not_to_contain_text("Harbor")
        found["portfolio"] = axe_violations(page)

        page.get_by_role("link", name=REFERENCE).click()
        expect(page.locator("h1")).to_have_text(f"Account {REFERENCE}")
        expect(main).to_contain_text("Oliver Bennett")
        expect(main).not_to_contain_text("oliver@example.com")
        found["account"] = axe_violations(page)

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Statements").click()
        expect(page.locator("h1")).to_have_text("Remittance statements")
        found["statements"] = axe_violations(page)
        page.get_by_role("link", name=period, exact=True).click()
        expect(page.locator("h1")).to_have_text(f"Statement {period}")
        expect(main).to_contain_text(REFERENCE)
        expect(main).to_contain_text("$120.00")
        found["statement"] = axe_violations(page)

        with page.expect_download() as csv_download:
            page.get_by_role("link", name="Download CSV").click()
        text = Path(csv_download.value.path()).read_text(encoding="utf-8")
        assert f"{REFERENCE},USD,120.00," in text
        assert csv_download.value.suggested_filename == f"remittance-NWB-{period}.csv"
        with page.expect_download() as pdf_download:
            page.get_by_role("link", name="Download PDF").click()
        assert Path(pdf_download.value.path()).read_bytes().startswith(b"%PDF")

        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Direct payments").click()
        expect(page.locator("h1")).to_have_text("Payments made to you directly")
        found["direct payments"] = axe_violations(page)
    finally:
        context.close()
    assert_accessible(found)
