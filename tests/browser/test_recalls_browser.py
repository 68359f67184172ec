"""A supervisor recalls an account in the console in a real browser (upload, preview, confirm),
then its borrower sees it returned to the creditor, with whom to contact; axe finds no serious
violation on any of those pages. The account is one placed for this test, so the other browser
modules' demo accounts are as they were."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.accounts.models import Account, Borrower, Creditor
from portal.accounts.placement import Debt, place
from portal.cases.service import Actor
from portal.extensions import db
from portal.money import Money
from tests.browser.test_disputes_browser import staff_sign_in
from tests.browser.test_sign_in_browser import (
    assert_accessible,
    assert_fits_phone,
    axe_violations,
    new_context,
    sign_in,
)

pytestmark = pytest.mark.browser

REFERENCE = "TCS-3901"
CREDITORS_ID = "TCS-RECALL-3901"


def _place(app) -> None:
    """An account of Oliver Bennett's with Thames Card Services, for this test alone."""
    with app.app_context():
        if db.session.scalar(select(Account.id).where(Account.reference == REFERENCE)):
            return
        creditor = db.session.scalar(select(Creditor).where(Creditor.code == "TCS"))
        oliver = db.session.scalar(select(Borrower).where(Borrower.reference == "DEMO-3001"))
        gbp = Money.parse("240.00", "GBP")
        place(creditor, oliver, Debt(REFERENCE, "Store card", CREDITORS_ID, gbp,
                                     Money.zero("GBP"), Money.zero("GBP"), Money.zero("GBP"),
                                     itemization_date=datetime.now(UTC).date()),
              Actor.system("browser-test"))
        db.session.commit()


def test_a_console_recall_and_the_borrowers_view_of_it(browser, live_app, tmp_path, screenshot):
    base_url = live_app.url
    _place(live_app.app)
    recall_file = tmp_path / "recall.csv"
    recall_file.write_text(f"creditor_account_id\n{CREDITORS_ID}\n")
    # Our CSP rightly refuses the injected axe script: this context alone bypasses it.
    context = new_context(browser, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        staff_sign_in(page, base_url, live_app.app, "supervisor@demo.test")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Recalls").click()
        expect(page.locator("h1")).to_have_text("Recalls")
        found["recalls page"] = axe_violations(page)

        page.get_by_label("Creditor").select_option("TCS")
        page.get_by_label("Recall file (CSV)").set_input_files(str(recall_file))
        page.get_by_role("button", name="Check the file").click()
        expect(page.locator("h1")).to_have_text("Check the recall file")
        expect(page.locator("main")).to_contain_text("1 account will be recalled")
        expect(page.locator("main")).to_contain_text(REFERENCE)
        expect(page.locator("main")).not_to_contain_text(CREDITORS_ID)  # masked: ••••3901
        found["preview"] = axe_violations(page)
        screenshot(page, "recall-preview")

        page.get_by_role("button", name="Recall 1 account").click()
        expect(page.locator("h1")).to_have_text("Recalls")
        expect(page.locator("main")).to_contain_text("1 account(s) recalled for Thames Card")
        found["after the recall"] = axe_violations(page)
        with live_app.app.app_context():
            assert db.session.scalar(select(Account.status).where(
                Account.reference == REFERENCE)) == "recalled"

        borrower = new_context(browser, bypass_csp=True)
        mine = borrower.new_page()
        try:
            sign_in(mine, base_url, "DEMO-3001", "1978-01-23", "oliver@example.com")
            card = mine.locator(".card").filter(has_text=REFERENCE)
            expect(card).to_contain_text("Returned to Thames Card Services")
            found["borrower's accounts"] = axe_violations(mine)
            mine.goto(f"{base_url}/accounts/{REFERENCE}")
            main = mine.locator("main")
            expect(main).to_contain_text("This account has been returned to Thames Card Services.")
            expect(main).to_contain_text("+44 20 7946 0123")
            for button in ("Make a payment", "Set up a plan", "Dispute this debt"):
                expect(mine.get_by_role("link", name=button)).to_have_count(0)
            assert_fits_phone(mine)
            found["borrower's recalled account"] = axe_violations(mine)
            screenshot(mine, "recalled-account-360")
            # Their other account is still theirs to pay.
            mine.goto(f"{base_url}/accounts/TCS-3001")
            expect(mine.get_by_role("link", name="Make a payment")).to_be_visible()
        finally:
            borrower.close()
    finally:
        context.close()
    assert_accessible(found)
