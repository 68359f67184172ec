"""A borrower sets up a payment plan in a real browser, on a 360 px phone screen: the live
calculator (htmx) shows the schedule as they type, the proposal is approved at once, a card is
saved for autopay with localstripe's stand-in for Stripe.js, the plan starts with the consent kept;
then the clock moves to the first due date, the charging job charges the installment off-session,
localstripe's webhook reaches the live server, its job worker applies it, and the plan page shows
the installment paid. The calculator works without JavaScript too."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_payments_browser import (
    ACCOUNT,
    current_balance,
    facts,
    fill_card,
    watched_context,
)
from tests.browser.test_sign_in_browser import (
    assert_accessible,
    assert_fits_phone,
    axe_violations,
    new_context,
)

pytestmark = pytest.mark.browser

MONTHS = "12"
PLAN_URL = re.compile(r"/plans/(P-\d+)$")
#: LUM-1001's balance in the demo data. The payments module, which runs before this one in
#: the same live server, may have paid part of it: the plan is for whatever is owed now.
SEEDED_BALANCE = "$830.00"


@pytest.fixture(scope="module")
def signed_in(demo_signed_in):
    """DEMO-1001's signed-in browser state, shared with the other browser modules: the demo
    borrower may be sent only five codes an hour, and the sign-in tests ask for three."""
    return demo_signed_in


def dollars(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def owed_before_plan(page: Page, base_url: str, app) -> str:
    """LUM-1001's current balance: the seeded $830.00 less any card payment that succeeded on
    it earlier in this live server (the payments module's)."""
    from sqlalchemy import func, select

    from portal.accounts.models import Account
    from portal.extensions import db
    from portal.payments.models import Payment

    with app.app_context():
        paid = db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount_minor), 0)).join(
                Account, Account.id == Payment.account_id).where(
                Account.reference == ACCOUNT, Payment.status == "succeeded"))
        db.session.rollback()
    balance = current_balance(page, base_url)
    assert dollars(balance) == dollars(SEEDED_BALANCE) - Decimal(paid) / 100, balance
    return balance


def schedule_total(page: Page):
    """The calculator's schedule: its footer row ("Total of N payments", the amount)."""
    return page.locator("#plan-preview table tfoot tr")


def first_installment(app, number: str):
    """The plan's first installment in the live app's database: (id, due date, amount)."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.plans.models import Installment

    with app.app_context():
        row = db.session.execute(select(Installment.id, Installment.due_on,
                                        Installment.amount_minor).where(
            Installment.plan_id == int(number[2:]), Installment.number == 1)).one()
        db.session.rollback()
    return row


def active_plan(app) -> str:
    """The number of an active plan on ACCOUNT in the live app's database: the one an earlier
    test left, else one proposed and accepted here (paid by hand), so a test that needs one
    does not depend on which tests ran before it on this worker."""
    from sqlalchemy import select

    from portal.accounts.models import Account
    from portal.cases.service import Actor
    from portal.extensions import db
    from portal.plans import service
    from portal.plans.models import PaymentPlan, PlanStatus

    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.reference == ACCOUNT))
        plan = db.session.scalar(select(PaymentPlan).where(
            PaymentPlan.account_id == account.id, PaymentPlan.status == PlanStatus.ACTIVE))
        if plan is None:
            actor = Actor("borrower", str(account.borrower_id), "127.0.0.1")
            proposed = service.propose(account.borrower_id, ACCOUNT,
                                       service.Ask(kind="installments", months=MONTHS), actor)
            plan = service.accept(account.borrower_id, proposed.number, False, None, actor)
        number = plan.number
        db.session.rollback()
    return number


def run_charging_job(app, today) -> dict[str, int]:
    """One run of the `plans.charge_due` job against the live server's database, as if today
    were `today` (as `flask plans charge-due --today` runs it)."""
    from portal.plans.charging import charge_due

    with app.app_context():
        return charge_due(today)


def reload_until(page: Page, locator, text, seconds: float = 20, between=None) -> None:
    """Reload the page until `locator` has `text` (each look an expect that waits a little);
    `between` runs before each reload (the job's next periodic run)."""
    deadline = time.monotonic() + seconds
    while True:
        if between:
            between()
        page.reload()
        try:
            expect(locator).to_contain_text(text, timeout=750)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_the_calculator_works_without_javascript(browser, live_app, live_server, signed_in,
                                                  screenshot):
    context = new_context(browser, storage_state=signed_in, java_script_enabled=False)
    page = context.new_page()
    try:
        owed = owed_before_plan(page, live_server, live_app.app)
        page.get_by_role("link", name="Set up a plan").click()
        expect(page).to_have_url(f"{live_server}/accounts/{ACCOUNT}/plan")
        expect(page.locator("h1")).to_have_text("Set up a plan")
        page.get_by_label("Or: number of months").fill(MONTHS)
        page.get_by_role("button", name="Show the schedule").click()
        expect(page).to_have_url(f"{live_server}/accounts/{ACCOUNT}/plan")
        expect(schedule_total(page)).to_contain_text(f"Total of {MONTHS} payments")
        expect(schedule_total(page)).to_contain_text(owed)
        expect(page.locator("#plan-preview tbody tr")).to_have_count(int(MONTHS))
        expect(page.locator("#plan-preview")).to_contain_text("This plan can be approved at once")
        expect(page.get_by_label("Or: number of months")).to_have_value(MONTHS)
        assert_fits_phone(page)
        screenshot(page, "plan-calculator-360-no-js")
    finally:
        context.close()


def test_propose_accept_and_autopay_pays_the_first_installment(
        browser, live_app, live_server, stripe_webhook, signed_in, screenshot):
    context, problems = watched_context(browser, signed_in)
    page = context.new_page()
    try:
        owed = owed_before_plan(page, live_server, live_app.app)

        # The calculator: the schedule as the borrower types, swapped in by htmx.
        page.get_by_role("link", name="Set up a plan").click()
        expect(page).to_have_url(f"{live_server}/accounts/{ACCOUNT}/plan")
        expect(page.locator("h1")).to_have_text("Set up a plan")
        expect(page.locator("main")).to_contain_text(f"You owe {owed}.")
        page.evaluate("window.stayed = true")  # a full page load would forget this
        swaps: list[str] = []
        page.on("request", lambda r: r.headers.get("hx-target") == "plan-preview"
                and swaps.append(r.url))
        expect(page.get_by_label("Pay in monthly installments")).to_be_checked()
        page.get_by_label("Or: number of months").press_sequentially(MONTHS, delay=50)
        expect(schedule_total(page)).to_contain_text(f"Total of {MONTHS} payments")
        expect(schedule_total(page)).to_contain_text(owed)
        expect(page.locator("#plan-preview tbody tr")).to_have_count(int(MONTHS))
        expect(page.locator("#plan-preview")).to_contain_text("This plan can be approved at once")
        assert swaps, "the schedule did not come from the calculator's htmx request"
        assert page.evaluate("window.stayed") is True, "typing reloaded the page"
        assert_fits_phone(page)
        screenshot(page, "plan-calculator-360")

        # The proposal, decided at once by the creditor's rules.
        page.get_by_role("button", name="Send my proposal").click()
        expect(page).to_have_url(PLAN_URL)
        number = PLAN_URL.search(page.url).group(1)
        expect(page.locator("h1")).to_have_text(f"Your plan {number}")
        decision = facts(page)
        assert decision["Status"] == "Approved", decision
        assert decision["Total"] == owed, decision
        expect(page.locator("main")).to_contain_text("within the creditor's rules")
        expect(page.get_by_role("button", name="Ask a person to review this decision")
               ).to_be_visible()
        assert_fits_phone(page)
        screenshot(page, "plan-decision-360")

        # Accepting: no card yet, so autopay can not be chosen.
        page.get_by_role("link", name="Accept this plan").click()
        expect(page).to_have_url(f"{live_server}/plans/{number}/accept")
        expect(page.locator("h1")).to_have_text("Accept your plan")
        expect(page.locator("main")).to_contain_text(f"{MONTHS} payments, {owed} in all")
        expect(page.get_by_label(re.compile("^Autopay from my saved card"))).to_be_disabled()
        assert_fits_phone(page)
        screenshot(page, "plan-accept-360")

        # The card, confirmed with a SetupIntent by (localstripe's) Stripe.js: nothing charged.
        page.get_by_role("link", name="Save a card for autopay").click()
        expect(page).to_have_url(f"{live_server}/plans/{number}/card")
        expect(page.locator("h1")).to_have_text("Save a card for autopay")
        save = page.get_by_role("button", name="Save this card")
        expect(save).to_be_enabled()  # Stripe.js loaded and mounted the card element
        fill_card(page, "4242424242424242")
        assert_fits_phone(page)
        screenshot(page, "plan-card-360")
        save.click()
        expect(page).to_have_url(f"{live_server}/plans/{number}/accept")
        expect(page.get_by_role("status").or_(page.locator(".alert--success"))).to_contain_text(
            "Your card is saved for autopay.")
        autopay = page.get_by_label("Autopay from my saved card")
        expect(autopay).to_be_enabled()
        expect(autopay).to_be_checked()
        consent = page.get_by_role("heading", name="Autopay authorization").locator("xpath=..")
        consent_text = consent.locator("p").first.inner_text()
        assert "I authorise Lumen Lending" in consent_text and f"{MONTHS} payments" in (
            consent_text), consent_text
        page.get_by_label("I agree to the recurring payments above").check()
        assert_fits_phone(page)
        screenshot(page, "plan-accept-card-saved-360")
        page.get_by_role("button", name="Start my plan").click()

        # The plan page: active, on autopay, with the consent the borrower agreed to.
        expect(page).to_have_url(f"{live_server}/plans/{number}")
        expect(page.locator("main")).to_contain_text(f"Your plan {number} has started.")
        plan = facts(page)
        assert plan["Status"] == "Active", plan
        assert plan["How you pay"] == "Autopay", plan
        expect(page.get_by_role("heading", name="Your autopay authorization")).to_be_visible()
        expect(page.locator("main")).to_contain_text(consent_text)
        expect(page.get_by_role("button", name="Cancel autopay")).to_be_visible()
        schedule = page.get_by_role("table", name="Schedule")
        expect(schedule.locator("tbody tr")).to_have_count(int(MONTHS))
        first_row = schedule.locator("tbody tr").first
        expect(first_row).to_contain_text("Due")
        assert_fits_phone(page)
        screenshot(page, "plan-active-360")

        # The clock moves to the first due date: the job charges the installment off-session.
        _id, due_on, amount = first_installment(live_app.app, number)
        counts = run_charging_job(live_app.app, due_on)
        assert counts.get("charged") == 1, counts
        page.reload()
        expect(first_row).to_contain_text(re.compile("Being paid|Paid"))

        # localstripe's webhook reaches the live server and its worker posts the payment; the
        # job's next periodic run marks the installment paid.
        reload_until(page, first_row.locator("td").last, "Paid",
                     between=lambda: run_charging_job(live_app.app, due_on))
        expect(first_row.locator("td").last).to_have_text("Paid")
        expect(schedule.locator("tbody tr").nth(1).locator("td").last).to_have_text("Due")
        assert_fits_phone(page)
        screenshot(page, "plan-first-paid-360")

        after = dollars(owed) - Decimal(amount) / 100
        assert current_balance(page, live_server) == f"${after:,.2f}"
        assert run_charging_job(live_app.app, due_on).get("charged") is None  # charged once
    finally:
        context.close()
    assert problems == [], "\n".join(problems)


def test_plan_pages_have_no_serious_accessibility_violations(browser, live_app, live_server,
                                                              signed_in):
    # Our CSP rightly refuses the injected axe script, so this context alone bypasses it.
    context = new_context(browser, storage_state=signed_in, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        page.goto(f"{live_server}/accounts/{ACCOUNT}/plan")
        expect(page.locator("h1")).to_have_text("Set up a plan")
        found["calculator"] = axe_violations(page)
        page.get_by_label("Or: number of months").press_sequentially(MONTHS)
        expect(schedule_total(page)).to_contain_text(f"Total of {MONTHS} payments")
        found["calculator, schedule"] = axe_violations(page)
        page.get_by_label("Or: number of months").fill("999")
        page.get_by_role("button", name="Show the schedule").click()
        expect(page.locator("#plan-preview [role=alert]")).to_contain_text("whole number")
        found["calculator, refused"] = axe_violations(page)

        number = active_plan(live_app.app)
        page.goto(f"{live_server}/accounts/{ACCOUNT}")
        plans = page.get_by_role("region", name="Payment plans")
        plans.get_by_role("link", name=number, exact=True).click()
        expect(page).to_have_url(PLAN_URL)
        expect(page.locator("main")).to_contain_text("Active")
        found["plan"] = axe_violations(page)
        page.goto(f"{page.url}/card")
        expect(page.locator("h1")).to_have_text("Save a card for autopay")
        found["card"] = axe_violations(page)
    finally:
        context.close()
    assert_accessible(found)
