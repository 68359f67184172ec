"""Issue 15's case view in a real browser, checked with axe: an agent records phone conversations
on a case (the form, without JavaScript) and the dialer's contact API then answers that the phone
may not be called (Regulation F's 7-in-7 and 7-days-after-a-conversation rules); a supervisor
adjusts the balance with a reason."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_disputes_browser import staff_sign_in
from tests.browser.test_sign_in_browser import assert_accessible, axe_violations, new_context
from tests.fixtures.factories import paid_by_card

pytestmark = pytest.mark.browser

#: María López's account (Massachusetts): no other browser test touches it.
CASE = "NWB-1002"
PHONE = "+16175550199"


def test_an_agent_records_conversations_and_the_contact_api_answers_blocked(browser, live_app):
    base_url = live_app.url
    context = new_context(browser, bypass_csp=True, java_script_enabled=False)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        staff_sign_in(page, base_url, live_app.app, "agent@demo.test")
        page.goto(f"{base_url}/staff/accounts/{CASE}")
        expect(page.get_by_role("heading", name="Record a conversation")).to_be_visible()
        expect(page.locator("#history")).to_contain_text("History intact")
        for n in range(7):
            form = page.locator("form[action$='/conversations']")
            form.get_by_label("How").select_option("call")
            form.get_by_label("We contacted the borrower").check()
            form.get_by_label("Outcome").select_option("conversation")
            form.get_by_label("Phone number or email").select_option(index=0)
            form.get_by_label("What was said and agreed").fill(f"Call {n + 1}: will send a "
                                                               "budget.")
            form.get_by_role("button", name="Record the conversation").click()
            expect(page.get_by_role("status").first).to_contain_text("ecorded")
        expect(page.locator("#attempts tbody tr")).to_have_count(7)
        expect(page.locator("#history")).to_contain_text("We contacted the borrower")

        answer = context.request.post(
            f"{base_url}/api/v1/contact-decisions",
            data={"account_ref": CASE, "channel": "call", "destination": PHONE},
            headers={"Authorization": "Bearer demo-dialer-key"})
        assert answer.ok, answer.text()
        decision = answer.json()
        rules = [r["rule"] for r in decision["reasons"]]
        assert decision["allowed"] is False
        assert "us.call-frequency" in rules and "us.call-after-conversation" in rules, rules
        signed_in = context.storage_state()  # a second sign-in would replay the TOTP code
    finally:
        context.close()
    # The same page, with its history, flags and forms, checked by axe (which needs JavaScript).
    context = new_context(browser, bypass_csp=True, storage_state=signed_in)
    page = context.new_page()
    try:
        page.goto(f"{base_url}/staff/accounts/{CASE}")
        expect(page.locator("#attempts")).to_contain_text("Flagged:")
        found["case page after seven conversations"] = axe_violations(page)
        page.get_by_role("button", name="Reveal personal data (recorded)").click()
        expect(page.locator("#borrower")).to_contain_text(PHONE)
        found["personal data revealed"] = axe_violations(page)
    finally:
        context.close()
    assert_accessible(found)


def test_a_supervisor_adjusts_a_balance(browser, live_app):
    base_url = live_app.url
    context = new_context(browser, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        staff_sign_in(page, base_url, live_app.app, "supervisor@demo.test")
        page.goto(f"{base_url}/staff/accounts/{CASE}")
        expect(page.locator("#balance")).to_contain_text("$410.55")
        form = page.locator("form[action$='/adjustments']")
        form.get_by_role("button", name="Adjust the balance").click()  # nothing filled in
        expect(page.get_by_role("status").first).to_contain_text("Choose whether to reduce")
        found["adjustment refused"] = axe_violations(page)
        form = page.locator("form[action$='/adjustments']")
        form.get_by_label("Reduce the balance (a credit)").check()
        form.get_by_label("Amount").fill("10.55")
        form.get_by_label("Reason").fill("Late fee waived after the borrower's call.")
        form.get_by_role("button", name="Adjust the balance").click()
        expect(page.get_by_role("status").first).to_contain_text("Balance adjusted.")
        expect(page.locator("#balance")).to_contain_text("$400.00")
        expect(page.locator("#history")).to_contain_text("The balance was adjusted by")
        found["balance adjusted"] = axe_violations(page)
    finally:
        context.close()
    assert_accessible(found)


#: Jade River's loan (CNY): no other browser test reads its balance, which ends as it began.
REFUND_CASE = "JRF-2001"


def test_a_supervisor_refunds_a_card_payment(browser, live_app, stripe_emulator):
    base_url = live_app.url
    receipt = paid_by_card(live_app.app, stripe_emulator, REFUND_CASE, 10_000).receipt_number
    context = new_context(browser, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        staff_sign_in(page, base_url, live_app.app, "supervisor@demo.test")
        page.goto(f"{base_url}/staff/accounts/{REFUND_CASE}")
        payments = page.locator("#payments")
        payments.locator("summary", has_text="Refund").click()
        form = payments.locator("form[action$='/refund']")
        form.get_by_label("Amount to refund").fill("150.00")
        form.get_by_label("Reason").fill("Overpaid: the borrower paid this loan twice.")
        form.get_by_role("button", name="Refund").click()
        # Refused on its own page, the message by its field, nothing sent to Stripe.
        expect(page.get_by_role("heading", level=1)).to_contain_text(receipt)
        expect(page.locator(".field--error")).to_contain_text("can still be refunded")
        found["refund refused"] = axe_violations(page)
        form = page.locator("form[action$='/refund']")
        form.get_by_label("Amount to refund").fill("100.00")
        form.get_by_role("button", name="Refund").click()
        expect(page.get_by_role("status").first).to_contain_text(f"of payment {receipt}")
        expect(payments).to_contain_text("refunded by")
        expect(payments).to_contain_text("Overpaid: the borrower paid this loan twice.")
        expect(page.locator("#history")).to_contain_text("Staff refunded")
        found["payment refunded"] = axe_violations(page)
    finally:
        context.close()
    assert_accessible(found)
