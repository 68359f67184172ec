"""A supervisor explains a reconciliation's difference without JavaScript; the reconciliation and
trust accounting pages pass axe."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.accounts.models import Account, Creditor
from portal.extensions import db
from portal.reconcile import service
from portal.reconcile.matching import Stripe
from portal.reconcile.period import Period
from tests.browser.test_disputes_browser import staff_sign_in
from tests.browser.test_sign_in_browser import assert_accessible, axe_violations, new_context

pytestmark = pytest.mark.browser

NOVEMBER = Period(2026, 11)
NOV_5 = int(datetime(2026, 11, 5, 12, tzinfo=UTC).timestamp())


def _november_at_stripe(app) -> str:
    """A November for Demo Collections: a charge at Stripe that is no payment of ours."""
    charge = f"ch_browser_{uuid.uuid4().hex[:12]}"
    found = Stripe(balance_transactions=[{
        "id": f"txn_{charge}", "object": "balance_transaction", "amount": 4200, "fee": 152,
        "net": 4048, "currency": "usd", "created": NOV_5, "available_on": NOV_5,
        "status": "available", "type": "charge", "reporting_category": "charge",
        "source": charge}])
    with app.app_context():
        agency = db.session.scalar(select(Creditor.agency_id).join(Account).where(
            Account.reference == "NWB-1001"))
        db.session.rollback()
        service.store(agency, NOVEMBER, found, datetime.now(UTC))
    return charge


def test_a_supervisor_explains_a_difference_without_javascript(browser, live_server, live_app):
    charge = _november_at_stripe(live_app.app)
    context = new_context(browser, java_script_enabled=False)
    try:
        page = context.new_page()
        staff_sign_in(page, live_server, live_app.app, "supervisor@demo.test")
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Reconciliation").click()
        expect(page.locator("h1")).to_contain_text("Reconciliation with Stripe")
        page.goto(f"{live_server}/staff/reconciliation?period=2026-11")
        line = page.locator("li.card", has_text=charge)
        expect(line).to_contain_text("At Stripe, not ours")
        expect(line).to_contain_text("$42.00")
        line.get_by_role("button", name="Keep this explanation").click()
        expect(page.locator(".alert--error")).to_contain_text("Say why this line is right.")
        line = page.locator("li.card", has_text=charge)
        line.get_by_label("Why is this right?").fill(
            "A test charge made in Stripe's dashboard, refunded the same day.")
        line.get_by_role("button", name="Keep this explanation").click()
        expect(page.get_by_text("Your explanation is kept")).to_be_visible()
        expect(page.locator("li.card", has_text=charge)).to_contain_text(
            "Explained: A test charge made in Stripe's dashboard, refunded the same day.")
    finally:
        context.close()


def test_the_reconciliation_pages_pass_axe(browser, live_server, live_app):
    _november_at_stripe(live_app.app)
    context = new_context(browser, bypass_csp=True)  # axe is injected inline
    found = {}
    try:
        page = context.new_page()
        staff_sign_in(page, live_server, live_app.app, "admin@demo.test")
        page.goto(f"{live_server}/staff/reconciliation?period=2026-11")
        expect(page.locator("li.card").first).to_be_visible()
        found["reconciliation"] = axe_violations(page)
        page.locator("li.card").first.get_by_role("button",
                                                  name="Keep this explanation").click()
        expect(page.locator(".alert--error")).to_be_visible()
        found["reconciliation, refused"] = axe_violations(page)
        page.get_by_role("link", name="Trust accounting: money owed to creditors").click()
        expect(page.locator("h1")).to_have_text("Trust accounting")
        found["trust accounting"] = axe_violations(page)
    finally:
        context.close()
    assert_accessible(found)
