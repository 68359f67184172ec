"""Issue 12's new forms in a real browser: the borrower's consent to contact outside the usual
hours (given and withdrawn without JavaScript) and the staff case page's contact forms (a UK
hold recorded and lifted by a compliance officer), each checked with axe."""

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

COMPLIANCE = "compliance@demo.test"


@pytest.fixture(scope="module")
def signed_in(demo_signed_in):
    return demo_signed_in


def test_consent_is_given_and_withdrawn_without_javascript(browser, live_server, signed_in):
    context = new_context(browser, storage_state=signed_in, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/contact-preferences/")
        form = page.locator("form[action$='/contact-preferences/consent']")
        form.get_by_label("Phone calls").check()
        form.get_by_label("From (your local time)").fill("07:00")
        form.get_by_label("Until (your local time)").fill("08:00")
        form.get_by_label("Monday to Friday").check()
        form.get_by_role("button", name="I agree to contact at these times").click()
        expect(page.get_by_role("status")).to_contain_text("We may contact you at those times")
        expect(page.locator("ul.consents")).to_contain_text("Phone calls from 07:00 until 08:00")
        assert_fits_phone(page)
        page.get_by_role("button", name="Withdraw Phone calls from 07:00").click()
        expect(page.get_by_role("status")).to_contain_text("You withdrew your agreement.")
        expect(page.locator("ul.consents")).to_have_count(0)
    finally:
        context.close()


def test_consent_form_has_no_serious_accessibility_violations(browser, live_server, signed_in):
    context = new_context(browser, storage_state=signed_in, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        page.goto(f"{live_server}/contact-preferences/")
        found["contact preferences with the consent form"] = axe_violations(page)
        form = page.locator("form[action$='/contact-preferences/consent']")
        form.get_by_label("Text messages").check()
        form.get_by_label("From (your local time)").fill("21:00")
        form.get_by_label("Until (your local time)").fill("21:00")
        form.get_by_role("button", name="I agree to contact at these times").click()
        expect(page.get_by_role("alert")).to_contain_text("The start and end times must differ.")
        found["consent refused"] = axe_violations(page)
        form = page.locator("form[action$='/contact-preferences/consent']")
        form.get_by_label("Text messages").check()
        form.get_by_label("From (your local time)").fill("21:00")
        form.get_by_label("Until (your local time)").fill("22:00")
        form.get_by_role("button", name="I agree to contact at these times").click()
        expect(page.locator("ul.consents")).to_contain_text("Text messages from 21:00")
        found["a consent in force"] = axe_violations(page)
        page.get_by_role("button", name="Withdraw Text messages from 21:00").click()
        expect(page.get_by_role("status")).to_contain_text("You withdrew your agreement.")
    finally:
        context.close()
    assert_accessible(found)


def test_staff_contact_forms_record_and_lift_a_hold_accessibly(browser, live_app):
    base_url = live_app.url
    context = new_context(browser, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        staff_sign_in(page, base_url, live_app.app, COMPLIANCE)
        page.goto(f"{base_url}/staff/accounts/NWB-1001")
        expect(page.get_by_role("heading", name="Contact holds and consents")).to_be_visible()
        found["US case page"] = axe_violations(page)
        page.goto(f"{base_url}/staff/accounts/TCS-3001")
        found["UK case page"] = axe_violations(page)
        page.get_by_role("button", name="Record", exact=True).click()  # nothing chosen
        expect(page.get_by_role("status")).to_contain_text("Choose what to record.")
        found["nothing chosen"] = axe_violations(page)
        page.get_by_label("There is doubt about the borrower's mental capacity").check()
        page.get_by_role("button", name="Record", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Contact is paused")
        expect(page.locator("main")).to_contain_text("uk.mental-capacity")
        found["hold recorded"] = axe_violations(page)
        page.get_by_label("The borrower's mental capacity is established").check()
        page.get_by_role("button", name="Lift", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("The hold is lifted.")
    finally:
        context.close()
    assert_accessible(found)


def _mark_undeliverable(app, value: str) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from portal.accounts.models import ContactPoint
    from portal.extensions import db

    with app.app_context():
        point = next(p for p in db.session.scalars(select(ContactPoint)) if p.value == value)
        point.undeliverable_at = datetime.now(UTC)
        point.undeliverable_reason = "550 5.1.1 <[address]>: Recipient address rejected"
        db.session.commit()


def test_staff_clear_an_undeliverable_mark_accessibly(browser, live_app):
    """Issue 13: a bounced address's mark, cleared when the borrower confirms it (a plain form
    post: tests/test_send_time_rules.py posts it without JavaScript)."""
    base_url = live_app.url
    _mark_undeliverable(live_app.app, "maria@example.com")
    context = new_context(browser, bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        # Another user than the test above: one TOTP code signs in once.
        staff_sign_in(page, base_url, live_app.app, "admin@demo.test")
        page.goto(f"{base_url}/staff/accounts/NWB-1002")
        expect(page.locator("main")).to_contain_text("undeliverable: 550 5.1.1")
        found["case page with an undeliverable point"] = axe_violations(page)
        page.get_by_role("button", name="The borrower confirmed it").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Messages may go to this contact point again.")
        expect(page.locator("main")).not_to_contain_text("undeliverable: 550")
        expect(page.locator("main")).to_contain_text(
            "Staff recorded that the borrower confirmed a contact point.")
        found["mark cleared"] = axe_violations(page)
    finally:
        context.close()
    assert_accessible(found)
